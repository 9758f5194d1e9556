"""rclpy backend: thin re-exports of rclpy's documented API (used when ROS 2 is sourced).

``msg_type('sensor_msgs/msg/JointState')`` imports ``sensor_msgs.msg`` and returns
``JointState``; ``srv_type`` does the same for ``pkg.srv``. The package's own types
(``imitation_ros/msg/EpisodeEvent``) are the rosidl-generated classes of a ``colcon build``;
without them ``msg_type`` raises ``GraphError`` saying so. Nothing here runs without rclpy.
"""
from __future__ import annotations

import importlib
import os
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


#: This package's own interfaces (``msg/``): rosidl generates ``imitation_ros.msg`` only in a
#: ``colcon build`` (ament_cmake, CMakeLists.txt), never in a pip install or a source checkout.
OWN_PACKAGE = 'imitation_ros'


def _import(pkg: str, kind: str, name: str) -> Any:
    try:
        module = importlib.import_module(f'{pkg}.{kind}')
        return getattr(module, name)
    except (ImportError, AttributeError) as err:
        if pkg == OWN_PACKAGE:
            import imitation_ros

            where = os.path.dirname(imitation_ros.__file__)
            msg = (f'type {pkg}/{kind}/{name} has no generated rclpy class: the imitation_ros '
                   f'imported from {where} was not built by colcon with its messages (a '
                   f'source checkout on PYTHONPATH or a pip install); build the package in a '
                   f'ROS 2 workspace (colcon build) and source install/setup.bash ({err})')
        else:
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
    return os.environ.get('ROS_DISTRO', 'unknown distro')


__all__ = [
    'DurabilityPolicy', 'ExternalShutdownException', 'HistoryPolicy', 'Node', 'QoSProfile',
    'ReliabilityPolicy', 'SingleThreadedExecutor', 'init', 'msg_type', 'ok', 'spin',
    'spin_once', 'spin_until_future_complete', 'srv_type', 'try_shutdown', 'version',
]
