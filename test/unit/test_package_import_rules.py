"""The import rules of the rooms (see imitation_ros/__init__.py).

Regressions pinned:
- no ROS-free core imports rclpy, cyclonedds, imitation_ros.graph or imitation_ros.nodes,
  at module level or inside functions;
- the command line imports graph only lazily (inside functions), never at module level;
- torch is imported at module level only inside learn/.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / 'imitation_ros'
CORES = ['profile', 'messages', 'frames', 'record', 'data', 'learn', 'sim', 'deploy', 'dagger',
         'review']
FORBIDDEN = ('rclpy', 'cyclonedds', 'imitation_ros.graph', 'imitation_ros.nodes')


def _imports(path: Path, *, top_level_only: bool) -> list[str]:
    tree = ast.parse(path.read_text(encoding='utf-8'))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def _files(room: str) -> list[Path]:
    return sorted((PKG / room).rglob('*.py')) if (PKG / room).is_dir() else []


@pytest.mark.parametrize('room', CORES)
def test_cores_never_import_ros(room: str) -> None:
    bad = [
        f'{path.relative_to(PKG)}: {mod}'
        for path in _files(room)
        for mod in _imports(path, top_level_only=False)
        if mod.startswith(FORBIDDEN)
    ]
    assert not bad, f'core room {room!r} imports ROS / graph code: {bad}'


def test_leaf_modules_import_nothing_of_ros() -> None:
    for name in ('errors.py', 'resources.py', 'stats.py'):
        mods = _imports(PKG / name, top_level_only=False)
        assert not [m for m in mods if m.startswith(FORBIDDEN)], name


def test_cli_imports_graph_lazily_only() -> None:
    bad = [
        f'{path.name}: {mod}'
        for path in _files('cli')
        for mod in _imports(path, top_level_only=True)
        if mod.startswith(FORBIDDEN)
    ]
    assert not bad, f'cli imports graph/ROS at module level: {bad}'


def test_torch_only_in_learn_at_module_level() -> None:
    bad = [
        f'{path.relative_to(PKG)}'
        for room in [r for r in CORES if r != 'learn'] + ['cli', 'nodes', 'graph']
        for path in _files(room)
        if any(m == 'torch' or m.startswith(('torch.', 'lerobot'))
               for m in _imports(path, top_level_only=True))
    ]
    assert not bad, f'torch/lerobot imported at module level outside learn/: {bad}'
