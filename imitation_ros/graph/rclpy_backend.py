"""rclpy backend: thin re-exports of rclpy's documented API (used when ROS 2 is sourced).

``msg_type('sensor_msgs/msg/JointState')`` imports ``sensor_msgs.msg`` and returns
``JointState``; ``srv_type`` does the same for ``pkg.srv``. Nothing here runs without rclpy.
"""
from __future__ import annotations

import importlib
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)

from imitation_ros.errors import GraphError
from imitation_ros.messages.typestore import normalize_type

try_shutdown = rclpy.try_shutdown
spin = rclpy.spin
spin_once = rclpy.spin_once
spin_until_future_complete = rclpy.spin_until_future_complete
ok = rclpy.ok


def init(args: list[str] | None = None, *, own_signals: bool = False, **kwargs: Any) -> None:
    """``rclpy.init``; with ``own_signals`` rclpy installs no SIGINT/SIGTERM handlers.

    ``graph.run`` handles the signals itself, so that the node is destroyed while the context
    is still valid (rclpy's handlers shut the context down first, and a node that logs or
    publishes in ``destroy_node`` then fails).
    """
    if own_signals:
        kwargs.setdefault('signal_handler_options', SignalHandlerOptions.NO)
    rclpy.init(args=args, **kwargs)


def _import(pkg: str, kind: str, name: str) -> Any:
    try:
        module = importlib.import_module(f'{pkg}.{kind}')
        return getattr(module, name)
    except (ImportError, AttributeError) as err:
        msg = f'type {pkg}/{kind}/{name} is not available in this ROS 2 install: {err}'
        raise GraphError(msg) from err


def msg_type(name: str) -> Any:
    """Return the rclpy message class of ``pkg/msg/Name`` (or ``pkg/Name``)."""
    pkg, kind, cls = normalize_type(name).split('/')
    return _import(pkg, kind, cls)


def srv_type(name: str) -> Any:
    """Return the rclpy service class of ``pkg/srv/Name``."""
    parts = name.split('/')
    if len(parts) == 2:
        parts = [parts[0], 'srv', parts[1]]
    if len(parts) != 3 or parts[1] != 'srv':
        msg = f'service type {name!r} is not of the form package/srv/Name'
        raise GraphError(msg)
    return _import(*parts)


def version() -> str:
    """Return a description of the backend for the init log line."""
    import os

    return os.environ.get('ROS_DISTRO', 'unknown distro')


__all__ = [
    'DurabilityPolicy', 'ExternalShutdownException', 'HistoryPolicy', 'Node', 'QoSProfile',
    'ReliabilityPolicy', 'SingleThreadedExecutor', 'init', 'msg_type', 'ok', 'spin',
    'spin_once', 'spin_until_future_complete', 'srv_type', 'try_shutdown', 'version',
]
