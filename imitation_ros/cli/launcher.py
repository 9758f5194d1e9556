"""Run the package's launch files without ROS 2: ``imitation-ros launch record.launch.py``.

With ROS 2 sourced, use ``ros2 launch imitation_ros <file>``. Without it, this module
executes the same launch file against a small stand-in of the ``launch`` / ``launch_ros``
API (the subset our launch files use: ``LaunchDescription``, ``DeclareLaunchArgument``,
``LaunchConfiguration``, ``PathJoinSubstitution``, ``FindPackageShare``, ``IfCondition``,
``UnlessCondition``, ``Shutdown``, ``launch_ros.actions.Node``) and starts each node as a
process of this Python, with the same ``--ros-args`` that ``ros2 launch`` would pass. It is
a process supervisor, not a middleware: the nodes still talk over DDS.

Launch files therefore stay declarative (arguments, nodes, conditions; no other logic), so
that both runners read them the same way.
"""
from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imitation_ros.errors import ConfigError
from imitation_ros.resources import share_dir

# ----------------------------------------------------------------- the stand-in launch API


class _Sub:
    """Base of the substitutions; ``perform(ctx)`` returns a string."""

    def perform(self, ctx: dict[str, str]) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def _resolve(value: Any, ctx: dict[str, str]) -> str:
    if isinstance(value, _Sub):
        return value.perform(ctx)
    if isinstance(value, (list, tuple)):
        return ''.join(_resolve(v, ctx) for v in value)
    return str(value)


class LaunchConfiguration(_Sub):
    def __init__(self, variable_name: str, default: Any = None) -> None:
        self.name = variable_name
        self.default = default

    def perform(self, ctx: dict[str, str]) -> str:
        if self.name in ctx:
            return ctx[self.name]
        if self.default is not None:
            return _resolve(self.default, ctx)
        msg = f'launch argument {self.name!r} has no value and no default'
        raise ConfigError(msg)


class PathJoinSubstitution(_Sub):
    def __init__(self, substitutions: list[Any]) -> None:
        self.parts = substitutions

    def perform(self, ctx: dict[str, str]) -> str:
        return os.path.join(*[_resolve(p, ctx) for p in self.parts])


class FindPackageShare(_Sub):
    def __init__(self, package: str) -> None:
        self.package = package

    def perform(self, ctx: dict[str, str]) -> str:
        if self.package != 'imitation_ros':
            msg = f'FindPackageShare({self.package!r}): only imitation_ros is known without ROS'
            raise ConfigError(msg)
        return str(share_dir())


class TextSubstitution(_Sub):
    def __init__(self, text: str = '') -> None:
        self.text = text

    def perform(self, ctx: dict[str, str]) -> str:
        return self.text


@dataclass
class DeclareLaunchArgument:
    name: str
    default_value: Any = None
    description: str = ''
    choices: list[str] | None = None


@dataclass
class Shutdown:
    reason: str = ''


class _Condition:
    def __init__(self, predicate: Any, *, negate: bool) -> None:
        self.predicate = predicate
        self.negate = negate

    def evaluate(self, ctx: dict[str, str]) -> bool:
        text = _resolve(self.predicate, ctx).strip().lower()
        if text not in ('true', 'false', '1', '0'):
            msg = f'condition expects true/false, got {text!r}'
            raise ConfigError(msg)
        return (text in ('true', '1')) != self.negate


def IfCondition(predicate: Any) -> _Condition:  # noqa: N802 - launch's spelling
    return _Condition(predicate, negate=False)


def UnlessCondition(predicate: Any) -> _Condition:  # noqa: N802 - launch's spelling
    return _Condition(predicate, negate=True)


@dataclass
class LaunchNode:
    """``launch_ros.actions.Node``."""

    package: str = 'imitation_ros'
    executable: str = ''
    name: Any = None
    namespace: Any = None
    parameters: list[Any] = field(default_factory=list)
    remappings: list[tuple[Any, Any]] = field(default_factory=list)
    arguments: list[Any] = field(default_factory=list)
    output: str = 'screen'
    emulate_tty: bool = False
    respawn: bool = False
    on_exit: Any = None
    condition: Any = None


class LaunchDescription:
    def __init__(self, entities: list[Any] | None = None) -> None:
        self.entities = list(entities or [])

    def add_action(self, action: Any) -> None:
        self.entities.append(action)


def _stand_in_modules() -> dict[str, types.ModuleType]:
    mods = {name: types.ModuleType(name) for name in (
        'launch', 'launch.actions', 'launch.substitutions', 'launch.conditions',
        'launch_ros', 'launch_ros.actions', 'launch_ros.substitutions')}
    mods['launch'].LaunchDescription = LaunchDescription
    mods['launch'].actions = mods['launch.actions']
    mods['launch'].substitutions = mods['launch.substitutions']
    mods['launch'].conditions = mods['launch.conditions']
    mods['launch.actions'].DeclareLaunchArgument = DeclareLaunchArgument
    mods['launch.actions'].Shutdown = Shutdown
    for cls in (LaunchConfiguration, PathJoinSubstitution, TextSubstitution):
        setattr(mods['launch.substitutions'], cls.__name__, cls)
    mods['launch.conditions'].IfCondition = IfCondition
    mods['launch.conditions'].UnlessCondition = UnlessCondition
    mods['launch_ros'].actions = mods['launch_ros.actions']
    mods['launch_ros'].substitutions = mods['launch_ros.substitutions']
    mods['launch_ros.actions'].Node = LaunchNode
    mods['launch_ros.substitutions'].FindPackageShare = FindPackageShare
    return mods


# ------------------------------------------------------------------- planning and running


@dataclass(frozen=True)
class PlannedProcess:
    """One node process: its command line and whether its exit ends the launch."""

    label: str
    argv: tuple[str, ...]
    shutdown_on_exit: bool


def find_launch_file(name: str) -> Path:
    """Return a launch file by path or by name under the package's ``launch/``."""
    path = Path(name)
    if path.is_file():
        return path
    for cand in (share_dir() / 'launch' / name, share_dir() / 'launch' / f'{name}.launch.py'):
        if cand.is_file():
            return cand
    msg = f'{name}: no such launch file (looked in {share_dir() / "launch"})'
    raise ConfigError(msg)


def load_description(path: Path) -> LaunchDescription:
    """Execute a launch file against the stand-in API and return its description."""
    saved = {k: sys.modules.get(k) for k in _stand_in_modules()}
    sys.modules.update(_stand_in_modules())
    try:
        ns = runpy.run_path(str(path))
    finally:
        for key, mod in saved.items():
            if mod is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = mod
    if 'generate_launch_description' not in ns:
        msg = f'{path}: defines no generate_launch_description()'
        raise ConfigError(msg)
    return ns['generate_launch_description']()


def plan(desc: LaunchDescription, launch_args: dict[str, str],
         python: str = sys.executable) -> list[PlannedProcess]:
    """Resolve arguments and substitutions into the processes ``ros2 launch`` would start.

    Raises:
        ConfigError: An unknown launch argument, a missing value, or a value not in choices.
    """
    declared = {e.name: e for e in desc.entities if isinstance(e, DeclareLaunchArgument)}
    unknown = sorted(set(launch_args) - set(declared))
    if unknown:
        msg = f'unknown launch argument(s) {unknown}; declared: {sorted(declared)}'
        raise ConfigError(msg)
    ctx: dict[str, str] = {}
    for name, arg in declared.items():
        if name in launch_args:
            ctx[name] = launch_args[name]
        elif arg.default_value is not None:
            ctx[name] = _resolve(arg.default_value, ctx)
        else:
            msg = (f'launch argument {name!r} is required (it has no default): '
                   f'{arg.description or name}; give {name}:=...')
            raise ConfigError(msg)
        if arg.choices and name in ctx and ctx[name] not in arg.choices:
            msg = f'launch argument {name}:={ctx[name]!r} not in {arg.choices}'
            raise ConfigError(msg)
    out = []
    for ent in desc.entities:
        if not isinstance(ent, LaunchNode):
            continue
        if ent.condition is not None and not ent.condition.evaluate(ctx):
            continue
        if ent.package != 'imitation_ros':
            msg = f'node {ent.executable!r} of package {ent.package!r} needs ROS 2 (ros2 launch)'
            raise ConfigError(msg)
        argv = [python, '-m', f'imitation_ros.nodes.{ent.executable}']
        argv += [_resolve(a, ctx) for a in ent.arguments]
        argv.append('--ros-args')
        if ent.name is not None:
            argv += ['-r', f'__node:={_resolve(ent.name, ctx)}']
        if ent.namespace is not None:
            argv += ['-r', f'__ns:={_resolve(ent.namespace, ctx)}']
        for param in ent.parameters:
            if isinstance(param, dict):
                for key, value in param.items():
                    text = _resolve(value, ctx)
                    argv += ['-p', f'{key}:={text}']
            else:
                argv += ['--params-file', _resolve(param, ctx)]
        for src, dst in ent.remappings:
            argv += ['-r', f'{_resolve(src, ctx)}:={_resolve(dst, ctx)}']
        label = _resolve(ent.name, ctx) if ent.name is not None else ent.executable
        out.append(PlannedProcess(label, tuple(argv), isinstance(ent.on_exit, Shutdown)))
    return out


def parse_launch_args(items: list[str]) -> dict[str, str]:
    """Parse ``name:=value`` items as ``ros2 launch`` does."""
    out = {}
    for item in items:
        if ':=' not in item:
            msg = f'launch argument {item!r} must be name:=value'
            raise ConfigError(msg)
        key, value = item.split(':=', 1)
        out[key] = value
    return out


def run_processes(procs: list[PlannedProcess], *, grace_s: float = 10.0) -> int:
    """Start the processes, forward SIGINT/SIGTERM, and stop all when one marked so exits.

    Stopping escalates like ``ros2 launch``: SIGINT, then SIGTERM to the processes still
    running ``grace_s / 2`` later, then SIGKILL after ``grace_s`` (a node closing its bag
    ignores the repeated signals; see ``graph.run``).

    Returns:
        0 when every process exited cleanly, else the first non-zero exit code.
    """
    children: list[tuple[PlannedProcess, subprocess.Popen[bytes]]] = []
    stopping = False
    stop_since: list[float] = []

    def _stop(signum: int = signal.SIGINT) -> None:
        nonlocal stopping
        stopping = True
        if not stop_since:
            stop_since.append(time.monotonic())
        for _, child in children:
            if child.poll() is None:
                child.send_signal(signum)

    def _escalate() -> None:
        waited = time.monotonic() - stop_since[0]
        if waited > grace_s:
            for _, child in children:
                if child.poll() is None:
                    child.kill()
        elif waited > grace_s / 2 and len(stop_since) == 1:
            stop_since.append(time.monotonic())
            _stop(signal.SIGTERM)

    old = {s: signal.signal(s, lambda n, f: _stop(n)) for s in (signal.SIGINT, signal.SIGTERM)}
    rc = 0
    try:
        for proc in procs:
            print(f'[launch] starting {proc.label}: {" ".join(proc.argv[2:])}', file=sys.stderr)
            children.append((proc, subprocess.Popen(proc.argv)))  # noqa: S603
        while any(c.poll() is None for _, c in children):
            for proc, child in children:
                code = child.poll()
                if code is not None and not getattr(child, '_reported', False):
                    child._reported = True  # type: ignore[attr-defined]
                    print(f'[launch] {proc.label} exited with {code}', file=sys.stderr)
                    if code not in (0, -signal.SIGINT, -signal.SIGTERM) and rc == 0:
                        rc = code
                    if proc.shutdown_on_exit and not stopping:
                        _stop()
            if stop_since:
                _escalate()
            time.sleep(0.1)
        deadline = time.monotonic() + grace_s
        for _, child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    finally:
        if any(c.poll() is None for _, c in children):
            _stop(signal.SIGTERM)
            for _, child in children:
                try:
                    child.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:
                    child.kill()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    for _, child in children:
        code = child.returncode
        if code not in (0, -signal.SIGINT, -signal.SIGTERM, None) and rc == 0:
            rc = code
    return rc
