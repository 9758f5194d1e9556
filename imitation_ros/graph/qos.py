"""QoS of the DDS backend, shaped like ``rclpy.qos`` (policies are IntEnums with rclpy's values).

Mapping to DDS (as rmw_cyclonedds_cpp does it): RELIABLE -> DDS reliable (max blocking time
infinite), BEST_EFFORT -> best effort; VOLATILE / TRANSIENT_LOCAL -> same DDS durability (the
durability service keeps the same history as the writer); KEEP_LAST(depth) / KEEP_ALL -> same
DDS history. SYSTEM_DEFAULT maps to reliable / volatile / keep last 1... as rmw leaves them to
Cyclone (reliable writers, best-effort readers are Cyclone's own defaults; we pick reliable).
"""
from __future__ import annotations

import enum
from typing import Any

from imitation_ros.errors import GraphError


class ReliabilityPolicy(enum.IntEnum):
    """rmw_qos_reliability_policy_t."""

    SYSTEM_DEFAULT = 0
    RELIABLE = 1
    BEST_EFFORT = 2
    UNKNOWN = 3


class DurabilityPolicy(enum.IntEnum):
    """rmw_qos_durability_policy_t."""

    SYSTEM_DEFAULT = 0
    TRANSIENT_LOCAL = 1
    VOLATILE = 2
    UNKNOWN = 3


class HistoryPolicy(enum.IntEnum):
    """rmw_qos_history_policy_t."""

    SYSTEM_DEFAULT = 0
    KEEP_LAST = 1
    KEEP_ALL = 2
    UNKNOWN = 3


class QoSProfile:
    """History, depth, reliability and durability of an endpoint (keyword construction)."""

    __slots__ = ('history', 'depth', 'reliability', 'durability', 'lifespan_ns')

    def __init__(self, *, history: HistoryPolicy | None = None, depth: int | None = None,
                 reliability: ReliabilityPolicy = ReliabilityPolicy.RELIABLE,
                 durability: DurabilityPolicy = DurabilityPolicy.VOLATILE,
                 lifespan: Any = None, **_ignored: Any) -> None:
        if history is None and depth is None:
            msg = 'QoSProfile needs history or depth'
            raise GraphError(msg)
        self.history = HistoryPolicy(history if history is not None else HistoryPolicy.KEEP_LAST)
        self.depth = int(depth) if depth is not None else 0
        self.reliability = ReliabilityPolicy(reliability)
        self.durability = DurabilityPolicy(durability)
        #: Sample lifespan in ns (0: infinite); ``lifespan`` is a Duration or seconds.
        self.lifespan_ns = _duration_ns(lifespan)

    @property
    def lifespan(self) -> Any:
        """The lifespan as a Duration (rclpy's attribute; 0 ns = infinite)."""
        from imitation_ros.graph.clock import Duration

        return Duration(nanoseconds=self.lifespan_ns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QoSProfile) and all(
            getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self) -> str:
        life = f', lifespan={self.lifespan_ns / 1e9:g}s' if self.lifespan_ns else ''
        return (f'QoSProfile(history={self.history.name}, depth={self.depth}, '
                f'reliability={self.reliability.name}, durability={self.durability.name}{life})')


def _duration_ns(value: Any) -> int:
    """Return nanoseconds of a Duration-like (``.nanoseconds``), seconds, or None (0).

    Raises:
        GraphError: A negative or non-numeric value.
    """
    if value is None:
        return 0
    ns = getattr(value, 'nanoseconds', None)
    if ns is None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            msg = f'QoS lifespan must be a Duration or seconds, got {value!r}'
            raise GraphError(msg)
        ns = round(value * 1e9)
    if ns < 0:
        msg = f'QoS lifespan must be >= 0, got {value!r}'
        raise GraphError(msg)
    return int(ns)


def as_profile(qos: QoSProfile | int) -> QoSProfile:
    """Return ``qos`` as a profile (an int is a KEEP_LAST depth, reliable, volatile).

    Raises:
        GraphError: ``qos`` is neither.
    """
    if isinstance(qos, QoSProfile):
        return qos
    if isinstance(qos, int) and not isinstance(qos, bool):
        if qos < 0:
            msg = f'QoS depth must be >= 0, got {qos}'
            raise GraphError(msg)
        return QoSProfile(depth=qos)
    msg = f'QoS must be a QoSProfile or a history depth (int), got {qos!r}'
    raise GraphError(msg)


qos_profile_sensor_data = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=5, reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE)
qos_profile_services_default = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE)
#: rcl's ``rcl_qos_profile_rosout_default`` (rcl/logging_rosout.h): reliable, transient local,
#: keep last 1000, lifespan 10 s.
qos_profile_rosout_default = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1000, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL, lifespan=10.0)
qos_profile_system_default = QoSProfile(
    history=HistoryPolicy.SYSTEM_DEFAULT, depth=0, reliability=ReliabilityPolicy.SYSTEM_DEFAULT,
    durability=DurabilityPolicy.SYSTEM_DEFAULT)
