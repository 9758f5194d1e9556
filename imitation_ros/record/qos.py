"""Which QoS the recorder subscribes with, per topic.

Rules, in order:

1. A profile that names ``qos: sensor_data`` or ``qos: reliable`` for a topic wins.
2. ``auto`` adapts to the publishers found at start (``offered``, their reliabilities):
   all reliable -> ``reliable``; any best effort -> ``sensor_data`` (a best-effort
   subscription is compatible with both, a reliable one would get nothing from a best-effort
   publisher). ``ros2 bag record`` applies the same rule.
3. No publisher yet: cameras ``sensor_data``, everything else (joint states, the teleop
   command, extras) ``reliable``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

Kind = Literal['sensor_data', 'reliable']
Role = Literal['camera', 'state', 'action', 'extra', 'joy']


def choose_qos(role: Role, declared: str, offered: Sequence[str] | None = None) -> Kind:
    """Return the subscription QoS of a topic.

    Args:
        role: What the topic is in the profile.
        declared: The profile's ``qos`` (``auto``, ``sensor_data`` or ``reliable``).
        offered: Reliability of each publisher found (``reliable`` / ``best_effort``), or
            None / empty when none was found or the graph cannot tell.
    """
    if declared in ('sensor_data', 'reliable'):
        return declared  # type: ignore[return-value]
    if offered:
        if all(str(r).lower().endswith('reliable') for r in offered):
            return 'reliable'
        return 'sensor_data'
    return 'sensor_data' if role == 'camera' else 'reliable'
