"""Keep simulated time locked to the wall clock and publish at fixed rates in sim time.

``sim_node`` calls :meth:`Pacer.goal` from a timer; the sim is stepped to that time through
the events :class:`RateSchedule` yields (one joint state every 1/joint_state_hz of sim time,
one image every 1/camera_hz ...). Because every message belongs to an instant of sim time,
the published rates equal the configured rates exactly as long as the sim keeps real time,
whatever the jitter of the timer that drives it.
"""
from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Pacer:
    """Maps wall time to the sim time to reach, at ``real_time_factor``.

    If the sim falls more than ``max_catch_up_s`` behind, the anchor moves (the sim runs
    slower than asked instead of bursting), ``lag_events`` counts it and ``given_up_s`` adds
    the sim time that was given up (wall-clock stamps skip it, see ``sim_node``).
    """

    real_time_factor: float = 1.0
    max_catch_up_s: float = 0.25
    _wall0_s: float | None = None
    _sim0_s: float = 0.0
    lag_events: int = 0
    given_up_s: float = 0.0

    def goal(self, wall_s: float, sim_s: float) -> float:
        """Sim time to reach now, given the wall time and the sim's current time."""
        if self._wall0_s is None:
            self._wall0_s, self._sim0_s = wall_s, sim_s
        target = self._sim0_s + (wall_s - self._wall0_s) * self.real_time_factor
        if target - sim_s > self.max_catch_up_s:
            self.lag_events += 1
            self.given_up_s += (target - sim_s - self.max_catch_up_s) / self.real_time_factor
            self._wall0_s, self._sim0_s = wall_s, sim_s + self.max_catch_up_s
            target = self._sim0_s
        return target


@dataclass(slots=True)
class RateSchedule:
    """Events named by stream, each at a fixed rate in sim time (first one at t = 0)."""

    rates_hz: dict[str, float]
    _heap: list[tuple[float, int, str]] = field(default_factory=list)
    _count: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, hz in self.rates_hz.items():
            if hz <= 0:
                msg = f'rate of {name!r} must be > 0 Hz, got {hz}'
                raise ValueError(msg)
            self._count[name] = 0
            heapq.heappush(self._heap, (0.0, 0, name))

    def pop_due(self, until_s: float) -> list[tuple[float, list[str]]]:
        """Remove and return events at or before ``until_s``, grouped by time, in order."""
        out: list[tuple[float, list[str]]] = []
        while self._heap and self._heap[0][0] <= until_s + 1e-12:
            t, _, name = heapq.heappop(self._heap)
            if out and abs(out[-1][0] - t) < 1e-9:
                out[-1][1].append(name)
            else:
                out.append((t, [name]))
            k = self._count[name] + 1
            self._count[name] = k
            heapq.heappush(self._heap, (k / self.rates_hz[name], 0, name))
        return out
