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

    __slots__ = ('history', 'depth', 'reliability', 'durability')

    def __init__(self, *, history: HistoryPolicy | None = None, depth: int | None = None,
                 reliability: ReliabilityPolicy = ReliabilityPolicy.RELIABLE,
                 durability: DurabilityPolicy = DurabilityPolicy.VOLATILE,
                 **_ignored: Any) -> None:
        if history is None and depth is None:
            msg = 'QoSProfile needs history or depth'
            raise GraphError(msg)
        self.history = HistoryPolicy(history if history is not None else HistoryPolicy.KEEP_LAST)
        self.depth = int(depth) if depth is not None else 0
        self.reliability = ReliabilityPolicy(reliability)
        self.durability = DurabilityPolicy(durability)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QoSProfile) and all(
            getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self) -> str:
        return (f'QoSProfile(history={self.history.name}, depth={self.depth}, '
                f'reliability={self.reliability.name}, durability={self.durability.name})')


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
qos_profile_system_default = QoSProfile(
    history=HistoryPolicy.SYSTEM_DEFAULT, depth=0, reliability=ReliabilityPolicy.SYSTEM_DEFAULT,
    durability=DurabilityPolicy.SYSTEM_DEFAULT)
