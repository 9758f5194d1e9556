"""SimRunner: the ROS-free loop behind ``sim_node`` (pacing, command interfaces, episodes).

It owns a :class:`~imitation_ros.sim.base.SimRobot`, the JointTrajectoryController emulation
and the real-time pacing; the node only converts messages and publishes what
:meth:`SimRunner.run_until` emits. Node time (``time_s``) is monotonic across resets: it is
what ``/clock`` and every header stamp carry.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.sim.clamp import ClampReport
from imitation_ros.sim.controllers import TrajectoryFollower, forward_command
from imitation_ros.sim.pacing import Pacer, RateSchedule

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import NDArray

    from imitation_ros.sim.base import SimRobot

logger = logging.getLogger(__name__)


class SimRunner:
    """Steps a sim in real time and says when to publish what (see module docstring)."""

    def __init__(self, sim: SimRobot, rates_hz: dict[str, float], *, seed: int = 0,
                 real_time_factor: float = 1.0, max_catch_up_s: float = 1.0,
                 max_step_per_call_s: float = 0.05) -> None:
        """Create the runner and reset the sim to episode 0 (seed ``seed``).

        Args:
            sim: The simulated robot.
            rates_hz: Event name -> rate in sim time (``joint_states``, ``camera`` ...).
            seed: Seed of episode 0; episode k uses ``seed + k``.
            real_time_factor: Sim seconds per wall second.
            max_catch_up_s: Largest lag behind real time before the pacer gives up time.
            max_step_per_call_s: Most sim time one :meth:`run_until` call advances: after a
                stall the sim catches up over several calls, so commands that arrive in
                between still act at the right time instead of after a long burst.
        """
        self.sim = sim
        self.base_seed = seed
        self.episode = 0
        self._base_s = 0.0
        self._req_s = 0.0          # sim time requested since the last reset
        self.follower = TrajectoryFollower(sim.joint_names)
        self.pacer = Pacer(real_time_factor=real_time_factor, max_catch_up_s=max_catch_up_s)
        self.schedule = RateSchedule(dict(rates_hz))
        self.max_step_per_call_s = max_step_per_call_s
        self.clamp_count = 0
        self.last_clamp = ClampReport()
        self.last_clamp_source = ''
        sim.reset(seed)

    @property
    def time_s(self) -> float:
        """Node time: sim time since start, monotonic across resets, s."""
        return self._base_s + self.sim.time_s

    @property
    def episode_time_s(self) -> float:
        """Sim time since the last reset, s."""
        return self.sim.time_s

    @property
    def seed(self) -> int:
        """Seed of the current episode."""
        return self.base_seed + self.episode

    def reset(self) -> tuple[int, int]:
        """Start the next episode; return (episode index, seed)."""
        self._base_s = self.time_s
        self._req_s = 0.0
        self.episode += 1
        self.follower.clear()
        self.sim.reset(self.seed)
        return self.episode, self.seed

    @property
    def task_state_names(self) -> tuple[str, ...]:
        """Labels of :meth:`task_state_vector`."""
        return ('episode', 'episode_time_s', *self.sim.task_state_names)

    def task_state_vector(self) -> list[float]:
        """Episode index, time since the reset (s), then the sim's task state."""
        return [float(self.episode), self.episode_time_s, *self.sim.task_state().tolist()]

    def diagnostics(self) -> tuple[bool, str, dict[str, str]]:
        """(all well, message, key values) about commands and pacing."""
        ok = not self.clamp_count
        message = 'ok' if ok else (f'{self.clamp_count} command(s) clamped; last on '
                                   f'{self.last_clamp_source}: {self.last_clamp.describe()}')
        return ok, message, {'clamped_commands': str(self.clamp_count),
                             'episode': str(self.episode),
                             'lag_events': str(self.pacer.lag_events)}

    def _note(self, report: ClampReport, source: str) -> ClampReport:
        if report.changed:
            self.clamp_count += 1
            self.last_clamp = report
            self.last_clamp_source = source
        return report

    def command(self, values: Sequence[float] | NDArray[np.floating], *,
                source: str = '?') -> ClampReport:
        """Forward position command (cancels a running trajectory); clamped and counted.

        Raises:
            SimError: Wrong number of values (message names ``source``).
        """
        q = forward_command(values, self.sim.joint_names, topic=source)
        self.follower.clear()
        return self._note(self.sim.set_command(q), source)

    def trajectory(self, joint_names: Sequence[str], times_s: Sequence[float],
                   positions: Sequence[Sequence[float]],
                   velocities: Sequence[Sequence[float]] | None, *, start_s: float | None,
                   source: str = '?') -> ClampReport:
        """Load a JointTrajectory (start ``None``: now); report points outside limits.

        Raises:
            SimError: Invalid trajectory (message names ``source``).
        """
        hold = self.sim.target
        self.follower.set_trajectory(joint_names, times_s, positions, velocities,
                                     start_s=self.time_s if start_s is None else start_s,
                                     hold=hold, topic=source, now_s=self.time_s)
        idx = [list(self.sim.joint_names).index(n) for n in joint_names]
        lo, hi = self.sim.lower_rad[idx], self.sim.upper_rad[idx]
        pts = np.asarray(positions, dtype=np.float64).reshape(len(times_s), len(idx))
        outside = (pts < lo) | (pts > hi)
        report = ClampReport(clamped=tuple(joint_names[i] for i in np.flatnonzero(
            outside.any(axis=0))))
        self._apply_trajectory()
        return self._note(report, source)

    def _apply_trajectory(self) -> None:
        q = self.follower.sample(self.time_s)
        if q is not None:
            self.sim.set_command(q)

    def run_until(self, wall_s: float, emit: Callable[[float, list[str]], None]) -> float:
        """Advance to the sim time that ``wall_s`` maps to, calling ``emit`` at each event.

        Args:
            wall_s: Monotonic wall time, s.
            emit: Called with (event time s, event names) after stepping to each event. The
                event time is exact; the sim's own clock is within half a physics step of it
                (or holds the last environment step of a coarser gymnasium env).

        Returns:
            The node time reached, s.
        """
        goal = min(self.pacer.goal(wall_s, self.time_s),
                   self.time_s + self.max_step_per_call_s)
        for t_s, names in self.schedule.pop_due(goal):
            self._step_to(t_s)
            emit(t_s, names)
        self._step_to(goal)
        return self.time_s

    def _step_to(self, t_s: float) -> None:
        dt = t_s - (self._base_s + self._req_s)
        if dt > 0:
            self._apply_trajectory()
            self._req_s += dt
            self.sim.advance(dt)
