"""Time, Duration and Clock of the DDS backend, shaped like ``rclpy.time``/``rclpy.clock``.

The node clock is ROS time: system time, or the last ``/clock`` message while the node's
``use_sim_time`` parameter is true (0 until the first one arrives, as in rclpy).
"""
from __future__ import annotations

import enum
import time
from typing import Any

from imitation_ros.messages.runtime import msg_class


class ClockType(enum.IntEnum):
    """rcl clock types."""

    UNINITIALIZED = 0
    ROS_TIME = 1
    SYSTEM_TIME = 2
    STEADY_TIME = 3


class Duration:
    """A span of time in integer nanoseconds."""

    __slots__ = ('nanoseconds',)

    def __init__(self, *, seconds: float = 0, nanoseconds: int = 0) -> None:
        self.nanoseconds = int(seconds * 1_000_000_000) + int(nanoseconds)

    def to_msg(self) -> Any:
        """Return a builtin_interfaces/msg/Duration."""
        sec, nsec = divmod(self.nanoseconds, 1_000_000_000)
        return msg_class('builtin_interfaces/msg/Duration')(sec=sec, nanosec=nsec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duration) and other.nanoseconds == self.nanoseconds

    def __lt__(self, other: Duration) -> bool:
        return self.nanoseconds < other.nanoseconds

    def __le__(self, other: Duration) -> bool:
        return self.nanoseconds <= other.nanoseconds

    def __gt__(self, other: Duration) -> bool:
        return self.nanoseconds > other.nanoseconds

    def __ge__(self, other: Duration) -> bool:
        return self.nanoseconds >= other.nanoseconds

    def __hash__(self) -> int:
        return hash(self.nanoseconds)

    def __repr__(self) -> str:
        return f'Duration(nanoseconds={self.nanoseconds})'


class Time:
    """A point in time of a clock, in integer nanoseconds."""

    __slots__ = ('nanoseconds', 'clock_type')

    def __init__(self, *, seconds: float = 0, nanoseconds: int = 0,
                 clock_type: ClockType = ClockType.SYSTEM_TIME) -> None:
        self.nanoseconds = int(seconds * 1_000_000_000) + int(nanoseconds)
        self.clock_type = clock_type

    def seconds_nanoseconds(self) -> tuple[int, int]:
        """Return (seconds, nanoseconds) parts."""
        sec, nsec = divmod(self.nanoseconds, 1_000_000_000)
        return sec, nsec

    def to_msg(self) -> Any:
        """Return a builtin_interfaces/msg/Time."""
        sec, nsec = self.seconds_nanoseconds()
        return msg_class('builtin_interfaces/msg/Time')(sec=sec, nanosec=nsec)

    @classmethod
    def from_msg(cls, msg: Any, clock_type: ClockType = ClockType.ROS_TIME) -> Time:
        """Return the Time of a builtin_interfaces/msg/Time."""
        return cls(nanoseconds=int(msg.sec) * 1_000_000_000 + int(msg.nanosec),
                   clock_type=clock_type)

    def __sub__(self, other: Time | Duration) -> Any:
        if isinstance(other, Time):
            return Duration(nanoseconds=self.nanoseconds - other.nanoseconds)
        return Time(nanoseconds=self.nanoseconds - other.nanoseconds, clock_type=self.clock_type)

    def __add__(self, other: Duration) -> Time:
        return Time(nanoseconds=self.nanoseconds + other.nanoseconds, clock_type=self.clock_type)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Time) and other.nanoseconds == self.nanoseconds

    def __lt__(self, other: Time) -> bool:
        return self.nanoseconds < other.nanoseconds

    def __le__(self, other: Time) -> bool:
        return self.nanoseconds <= other.nanoseconds

    def __gt__(self, other: Time) -> bool:
        return self.nanoseconds > other.nanoseconds

    def __ge__(self, other: Time) -> bool:
        return self.nanoseconds >= other.nanoseconds

    def __hash__(self) -> int:
        return hash(self.nanoseconds)

    def __repr__(self) -> str:
        return f'Time(nanoseconds={self.nanoseconds}, clock_type={self.clock_type.name})'


class Clock:
    """A clock; ROS_TIME clocks follow ``/clock`` when sim time is active."""

    def __init__(self, *, clock_type: ClockType = ClockType.SYSTEM_TIME) -> None:
        self.clock_type = clock_type
        self._sim_ns: int | None = None

    def now(self) -> Time:
        """Return the current time of this clock."""
        if self.clock_type == ClockType.STEADY_TIME:
            return Time(nanoseconds=time.monotonic_ns(), clock_type=self.clock_type)
        if self._sim_ns is not None:
            return Time(nanoseconds=self._sim_ns, clock_type=self.clock_type)
        return Time(nanoseconds=time.time_ns(), clock_type=self.clock_type)

    @property
    def ros_time_is_active(self) -> bool:
        """Whether sim time (``/clock``) drives this clock."""
        return self._sim_ns is not None

    def _set_ros_time_override(self, ns: int | None) -> None:
        self._sim_ns = ns


class ROSClock(Clock):
    """The node clock (ROS time)."""

    def __init__(self) -> None:
        super().__init__(clock_type=ClockType.ROS_TIME)
