"""DDS backend of the graph layer: rclpy's API on Cyclone DDS, ROS 2 wire compatible.

See ``wire`` for the topic/type/payload mapping, ``context`` for discovery scope and
``node`` for the executor design. Imports cyclonedds (lazily, inside functions) and messages.
"""
from __future__ import annotations

from imitation_ros.graph.dds.context import (
    Context,
    get_default_context,
    init,
    ok,
    shutdown,
    try_shutdown,
)
from imitation_ros.graph.dds.node import (
    Client,
    Future,
    Node,
    Publisher,
    Service,
    SingleThreadedExecutor,
    Subscription,
    Timer,
    TopicEndpointInfo,
    spin,
    spin_once,
    spin_until_future_complete,
)

__all__ = [
    'Client', 'Context', 'Future', 'Node', 'Publisher', 'Service', 'SingleThreadedExecutor',
    'Subscription', 'Timer', 'TopicEndpointInfo', 'get_default_context', 'init', 'ok',
    'shutdown', 'spin', 'spin_once', 'spin_until_future_complete', 'try_shutdown',
]
