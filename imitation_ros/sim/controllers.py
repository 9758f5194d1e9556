"""The two ros2_control command interfaces the sim accepts, as ROS-free cores.

* :class:`TrajectoryFollower` behaves like JointTrajectoryController (docs/jtc.md): a
  trajectory's points are reached at ``start + time_from_start``; before the first point it
  interpolates from the target held when the trajectory arrived, from its arrival time (a
  trajectory arriving after its first point's time starts in its segment); between points it interpolates linearly, or with a
  cubic Hermite spline when both points carry velocities; after the last point it holds it.
  Joints the trajectory does not name keep their target (partial goals). A new trajectory
  replaces the old one.
* :func:`forward_command` checks a forward_position_controller command (one value per joint,
  in the profile's order).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.errors import SimError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray


def forward_command(values: Sequence[float] | NDArray[np.floating], joint_names: Sequence[str],
                    *, topic: str = '?') -> NDArray[np.float64]:
    """Return a forward position command as an array, checking its length.

    Raises:
        SimError: Wrong number of values; the message names the topic and the joints.
    """
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size != len(joint_names):
        msg = (f'topic {topic!r}: {arr.size} values, expected {len(joint_names)} in the order '
               f'{list(joint_names)}')
        raise SimError(msg)
    return arr


class TrajectoryFollower:
    """Interpolates JointTrajectory points over time (see module docstring)."""

    def __init__(self, joint_names: Sequence[str]) -> None:
        self.joint_names = tuple(joint_names)
        self._index = {n: i for i, n in enumerate(self.joint_names)}
        self._times: NDArray[np.float64] | None = None
        self._pos: NDArray[np.float64] | None = None
        self._vel: NDArray[np.float64] | None = None

    @property
    def active(self) -> bool:
        """True while a trajectory is loaded (it stays loaded, holding its last point)."""
        return self._times is not None

    def clear(self) -> None:
        """Drop the trajectory (after a reset)."""
        self._times = self._pos = self._vel = None

    def set_trajectory(
        self,
        joint_names: Sequence[str],
        times_from_start_s: Sequence[float],
        positions: Sequence[Sequence[float]],
        velocities: Sequence[Sequence[float]] | None,
        *,
        start_s: float,
        hold: NDArray[np.float64],
        topic: str = '?',
        now_s: float | None = None,
    ) -> None:
        """Load a trajectory.

        Args:
            joint_names: Joints of the trajectory (a subset of the sim's, any order).
            times_from_start_s: ``time_from_start`` of each point, s, strictly increasing.
            positions: One row of positions per point, in ``joint_names`` order.
            velocities: Optional rows of velocities (empty rows mean none).
            start_s: Time the trajectory starts (header stamp, or now when it is zero), s.
            hold: Current target of every sim joint; the start of the first segment and the
                value of joints the trajectory omits.
            topic: For error messages.
            now_s: Arrival time: the first segment starts there (JTC's point before the
                trajectory); None: at ``start_s``.

        Raises:
            SimError: Unknown joints, ragged points, times not increasing, or no points.
        """
        names = list(joint_names)
        unknown = [n for n in names if n not in self._index]
        if unknown or len(set(names)) != len(names):
            msg = (f'topic {topic!r}: joint_names {names} must be distinct joints of '
                   f'{list(self.joint_names)} (unknown: {unknown})')
            raise SimError(msg)
        if not len(times_from_start_s):
            msg = f'topic {topic!r}: trajectory has no points'
            raise SimError(msg)
        times = np.asarray(times_from_start_s, dtype=np.float64)
        if np.any(np.diff(times) <= 0) or times[0] < 0:
            msg = f'topic {topic!r}: time_from_start must be >= 0 and increasing, got {times}'
            raise SimError(msg)
        cols = [self._index[n] for n in names]
        n_pts = len(times)
        pos = np.tile(np.asarray(hold, dtype=np.float64), (n_pts + 1, 1))
        vel_rows = velocities if velocities is not None else [()] * n_pts
        have_vel = all(len(v) == len(names) for v in vel_rows)
        vel = np.zeros_like(pos)
        for k in range(n_pts):
            row = np.asarray(positions[k], dtype=np.float64).reshape(-1)
            if row.size != len(names):
                msg = (f'topic {topic!r}: point {k} has {row.size} positions for '
                       f'{len(names)} joints')
                raise SimError(msg)
            pos[k + 1, cols] = row
            if have_vel:
                vel[k + 1, cols] = np.asarray(vel_rows[k], dtype=np.float64)
        # first segment starts at the held target when the trajectory arrives (or starts)
        self._times = np.concatenate([[start_s if now_s is None else now_s], start_s + times])
        late = times[0] == 0.0 if now_s is None else now_s >= start_s + times[0]
        if late:                       # the first point's time has come: no implicit point
            self._times, pos, vel = self._times[1:], pos[1:], vel[1:]
        self._pos = pos
        self._vel = vel if have_vel else None

    def sample(self, now_s: float) -> NDArray[np.float64] | None:
        """Target at ``now_s`` (None without a trajectory; before the start, the start)."""
        if self._times is None or self._pos is None:
            return None
        t, p = self._times, self._pos
        if now_s <= t[0]:
            return p[0].copy()
        if now_s >= t[-1]:
            return p[-1].copy()
        k = int(np.searchsorted(t, now_s, side='right')) - 1
        dt = t[k + 1] - t[k]
        s = (now_s - t[k]) / dt
        if self._vel is None:
            return p[k] + s * (p[k + 1] - p[k])
        v = self._vel
        h00 = 2 * s**3 - 3 * s**2 + 1
        h10 = s**3 - 2 * s**2 + s
        h01 = -2 * s**3 + 3 * s**2
        h11 = s**3 - s**2
        return h00 * p[k] + h10 * dt * v[k] + h01 * p[k + 1] + h11 * dt * v[k + 1]
