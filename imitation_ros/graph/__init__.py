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

    Returns None on both backends (Jazzy's ``rclpy.init`` returns None too).
    """
    if _BACKEND == 'rclpy':
        _b.init(args=args, **kwargs)
    else:
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


def _install_sigterm(node_holder: list[Any]) -> Any:
    """On the DDS backend, SIGTERM stops spinning (a second one raises KeyboardInterrupt).

    rclpy installs its own SIGINT/SIGTERM handlers at init (they shut the context down and
    spin raises ExternalShutdownException), so nothing is installed there.
    """
    if _BACKEND == 'rclpy':
        return None
    hits = [0]

    def on_term(signum: int, frame: Any) -> None:
        hits[0] += 1
        ctx = _ctx.get_default_context()
        if hits[0] > 1 or ctx is None:
            raise KeyboardInterrupt
        ctx.request_stop()

    try:
        return signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread
        return None


def run(node_cls: type[Any], args: list[str] | None = None, **node_kwargs: Any) -> None:
    """Init, build ``node_cls(**node_kwargs)``, spin; on exit always ``destroy_node()``.

    SIGINT and SIGTERM end spinning; ``destroy_node`` then runs (a recorder closes its bag
    there) and the backend is shut down. Exceptions from the node propagate after cleanup.
    """
    init(args=sys.argv if args is None else args)
    holder: list[Any] = []
    old = _install_sigterm(holder)
    node = None
    try:
        node = node_cls(**node_kwargs)
        holder.append(node)
        spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        try_shutdown()
        if old is not None:
            signal.signal(signal.SIGTERM, old)


__all__ = [
    'DurabilityPolicy', 'ExternalShutdownException', 'HistoryPolicy', 'Node', 'Parameter',
    'ParameterDescriptor', 'QoSProfile', 'ReliabilityPolicy', 'SetParametersResult',
    'SingleThreadedExecutor', 'backend_name', 'declare_config', 'init', 'msg_type', 'ok',
    'qos_profile', 'run', 'spin', 'spin_once', 'spin_until_future_complete', 'srv_type',
    'try_shutdown',
]
