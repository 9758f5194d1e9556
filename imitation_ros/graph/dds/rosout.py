"""``/rosout`` of a DDS-backend node: its log lines as rcl_interfaces/msg/Log.

As rcl does (``rcl/logging_rosout.c``): one publisher per node with
``rcl_qos_profile_rosout_default`` (reliable, transient local, keep last 1000, lifespan 10 s),
fed by the node's logger and its children, only for records that pass the logger's threshold.
Disabled by ``Node(enable_rosout=False)`` or ``--ros-args --disable-rosout-logs``.

The DDS publisher is created with the process's participant (``start``); records logged before
are kept (at most ``depth``, at most ``lifespan`` old) and published then, so a transient-local
late joiner sees the node's start-up lines as with rclpy. Publishing is best effort: an error is
swallowed and never logged through the same logger (no recursion).
"""
from __future__ import annotations

import collections
import time
from typing import TYPE_CHECKING, Any

from imitation_ros.graph import logs
from imitation_ros.graph.qos import qos_profile_rosout_default
from imitation_ros.messages import runtime

if TYPE_CHECKING:
    from imitation_ros.graph.dds.node import Node

ROSOUT_TOPIC = '/rosout'
LOG_TYPE = 'rcl_interfaces/msg/Log'


class RosoutPublisher:
    """Publishes the records of one node's logger on ``/rosout`` until closed."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._name = node.get_logger().name
        self._cls = runtime.msg_class(LOG_TYPE)
        self._time = runtime.msg_class('builtin_interfaces/msg/Time')
        self._pub: Any = None
        self._closed = False
        self._pending: collections.deque[logs.LogRecord] = collections.deque(
            maxlen=qos_profile_rosout_default.depth)
        logs.add_sink(self._name, self._on_record)

    def start(self) -> None:
        """Create the DDS publisher and publish the records kept until now."""
        if self._closed or self._pub is not None:
            return
        self._pub = self._node.create_publisher(self._cls, ROSOUT_TOPIC,
                                                qos_profile_rosout_default)
        oldest = time.time_ns() - qos_profile_rosout_default.lifespan_ns
        pending, self._pending = list(self._pending), collections.deque()
        for rec in pending:
            if rec.stamp_ns >= oldest:
                self._on_record(rec)

    def _on_record(self, rec: logs.LogRecord) -> None:
        if self._closed:
            return
        if self._pub is None:
            self._pending.append(rec)
            return
        sec, nsec = divmod(rec.stamp_ns, 1_000_000_000)
        self._pub.publish(self._cls(
            stamp=self._time(sec=sec, nanosec=nsec), level=rec.level, name=rec.name, msg=rec.msg,
            file=rec.file, function=rec.function, line=rec.line))

    def close(self) -> None:
        """Stop publishing (the publisher itself goes with the node)."""
        self._closed = True
        logs.remove_sink(self._name, self._on_record)
        self._pub = None
        self._pending.clear()
