"""The ROS graph layer: one rclpy-shaped API, two backends.

Backend selection (at first import): ``$IMITATION_ROS_BACKEND`` = ``rclpy`` or ``dds`` forces
one; otherwise rclpy when it imports (ROS 2 sourced), else the DDS backend
(``imitation_ros.graph.dds``: Cyclone DDS via pip ``cyclonedds``, speaking the
rmw_cyclonedds_cpp wire format, see ``graph/dds/wire.py``). ``init()`` logs the choice, e.g.
``imitation_ros graph backend: dds (cyclonedds 11.0.1)``.

Node code imports only from here::

    from imitation_ros.graph import Node, run, msg_type, srv_type, qos_profile, declare_config

This is the only package that imports rclpy or cyclonedds; it imports ``messages``.
"""
from __future__ import annotations

import os
import signal
import sys
from typing import Any

from imitation_ros.errors import GraphError
from imitation_ros.graph.config import declare_config
from imitation_ros.graph.logs import RcutilsLogger


def _pick_backend() -> str:
    forced = os.environ.get('IMITATION_ROS_BACKEND', '').strip().lower()
    if forced in ('rclpy', 'dds'):
        return forced
    if forced:
        msg = f'IMITATION_ROS_BACKEND={forced!r}: expected rclpy or dds'
        raise GraphError(msg)
    try:
        import rclpy  # noqa: F401
    except ImportError:
        return 'dds'
    return 'rclpy'


_BACKEND = _pick_backend()

if _BACKEND == 'rclpy':
    from rcl_interfaces.msg import (  # type: ignore[import-not-found]
        ParameterDescriptor,
        SetParametersResult,
    )
    from rclpy.parameter import Parameter  # type: ignore[import-not-found]

    from imitation_ros.graph import rclpy_backend as _b
    from imitation_ros.graph.rclpy_backend import (
        DurabilityPolicy,
        ExternalShutdownException,
        HistoryPolicy,
        Node,
        QoSProfile,
        ReliabilityPolicy,
        SingleThreadedExecutor,
        msg_type,
        spin,
        spin_once,
        spin_until_future_complete,
        srv_type,
    )
else:
    from imitation_ros.graph.dds import context as _ctx
    from imitation_ros.graph.dds.node import (
        Node,
        SingleThreadedExecutor,
        spin,
        spin_once,
        spin_until_future_complete,
    )
    from imitation_ros.graph.params import (
        Parameter,
        ParameterDescriptor,
        SetParametersResult,
    )
    from imitation_ros.graph.qos import (
        DurabilityPolicy,
        HistoryPolicy,
        QoSProfile,
        ReliabilityPolicy,
    )
    from imitation_ros.messages.runtime import msg_class as msg_type
    from imitation_ros.messages.runtime import srv_class as srv_type

    class ExternalShutdownException(Exception):  # noqa: N818 - rclpy's name
        """Raised by spin when the context was shut down from outside (rclpy parity)."""


def backend_name() -> str:
    """Return ``'rclpy'`` or ``'dds'``."""
    return _BACKEND


def _backend_version() -> str:
    if _BACKEND == 'rclpy':
        return _b.version()
    try:
        from importlib.metadata import version

        return f'cyclonedds {version("cyclonedds")}'
    except Exception:  # noqa: BLE001
        return 'cyclonedds'


_logged = [False]


def init(args: list[str] | None = None, **kwargs: Any) -> None:
    """Initialise the backend with ``args`` (``sys.argv`` style; only ``--ros-args`` is used).

    ``own_signals=True`` (used by ``run``) keeps rclpy from installing its SIGINT/SIGTERM
    handlers; the DDS backend installs none anyway.

    Returns None on both backends (Jazzy's ``rclpy.init`` returns None too).
    """
    if _BACKEND == 'rclpy':
        _b.init(args=args, **kwargs)
    else:
        kwargs.pop('own_signals', None)
        _ctx.init(args)
    if not _logged[0]:
        _logged[0] = True
        RcutilsLogger('imitation_ros.graph').info(
            f'imitation_ros graph backend: {_BACKEND} ({_backend_version()})')


def try_shutdown() -> None:
    """Shut the backend down if it is up."""
    if _BACKEND == 'rclpy':
        _b.try_shutdown()
    else:
        _ctx.try_shutdown()


def ok() -> bool:
    """Whether the backend is initialised and not shut down."""
    return _b.ok() if _BACKEND == 'rclpy' else _ctx.ok()


def qos_profile(kind: str, depth: int | None = None) -> Any:
    """Return a QoSProfile of the active backend.

    Args:
        kind: ``'sensor_data'`` (best effort, volatile, keep last 5), ``'reliable'``
            (reliable, volatile, keep last 10) or ``'latched'`` (reliable, transient local,
            keep last 1).
        depth: Override the history depth.

    Raises:
        GraphError: Unknown kind.
    """
    presets = {
        'sensor_data': (ReliabilityPolicy.BEST_EFFORT, DurabilityPolicy.VOLATILE, 5),
        'reliable': (ReliabilityPolicy.RELIABLE, DurabilityPolicy.VOLATILE, 10),
        'latched': (ReliabilityPolicy.RELIABLE, DurabilityPolicy.TRANSIENT_LOCAL, 1),
    }
    if kind not in presets:
        msg = f'QoS kind {kind!r} unknown; expected one of {sorted(presets)}'
        raise GraphError(msg)
    rel, dur, default_depth = presets[kind]
    return QoSProfile(history=HistoryPolicy.KEEP_LAST,
                      depth=default_depth if depth is None else depth,
                      reliability=rel, durability=dur)


class _Stopper:
    """SIGINT/SIGTERM handlers of ``run()``: the first signal asks spinning to stop, later ones
    are only counted, so nothing interrupts ``destroy_node`` (a recorder closing its bag).

    A Python handler runs between bytecodes of the main thread and returns, so neither the
    spin loop nor ``destroy_node`` sees a KeyboardInterrupt. An inherited ``SIG_IGN`` for
    SIGINT (background job of a non-interactive shell) is kept, as Python itself does.
    """

    def __init__(self) -> None:
        self.signals: list[int] = []

    @property
    def stop(self) -> bool:
        return bool(self.signals)

    def _on_signal(self, signum: int, frame: Any) -> None:
        del frame
        self.signals.append(signum)
        if _BACKEND == 'dds' and len(self.signals) == 1:
            ctx = _ctx.get_default_context()
            if ctx is not None:
                ctx.request_stop()        # wakes the executor's wait at once

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                current = signal.getsignal(sig)
                if sig == signal.SIGINT and current == signal.SIG_IGN:
                    continue
                signal.signal(sig, self._on_signal)
            except ValueError:            # not the main thread: leave signals alone
                return


SPIN_POLL_S = 0.1


def run(node_cls: type[Any], args: list[str] | None = None, **node_kwargs: Any) -> None:
    """Init, build ``node_cls(**node_kwargs)``, spin; on exit always ``destroy_node()`` once.

    The same on both backends: SIGINT or SIGTERM ends spinning (also while the node is still
    being built); ``destroy_node`` then runs (a recorder closes its bag there) with further
    signals only counted, so ``ros2 launch``'s escalation (SIGINT, then SIGTERM after 5 s)
    cannot interrupt it; then the backend is shut down. On rclpy, ``rclpy.init`` installs no
    signal handlers of its own (``SignalHandlerOptions.NO``), so the context stays valid until
    the node is destroyed. A normal stop prints no traceback; exceptions from the node
    (including ``SystemExit`` from a callback) propagate after the cleanup. Meant as a
    process's entry point: the handlers stay installed when it returns.
    """
    stopper = _Stopper()
    stopper.install()
    node = None
    try:
        init(args=sys.argv if args is None else args, own_signals=True)
        if not stopper.stop:
            node = node_cls(**node_kwargs)
        if not stopper.stop:
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            while not stopper.stop and ok():
                executor.spin_once(timeout_sec=SPIN_POLL_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        try:
            if node is not None:
                node.destroy_node()
        finally:
            try_shutdown()
        # The counting handlers stay installed: run() is a process's entry point, and a signal
        # arriving as it returns (ros2 launch's SIGTERM) must not turn into a traceback or a
        # -15 exit code now.


__all__ = [
    'DurabilityPolicy', 'ExternalShutdownException', 'HistoryPolicy', 'Node', 'Parameter',
    'ParameterDescriptor', 'QoSProfile', 'ReliabilityPolicy', 'SetParametersResult',
    'SingleThreadedExecutor', 'backend_name', 'declare_config', 'init', 'msg_type', 'ok',
    'qos_profile', 'run', 'spin', 'spin_once', 'spin_until_future_complete', 'srv_type',
    'try_shutdown',
]
