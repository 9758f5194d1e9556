"""Scripted expert of the cube-lift task: what a person on a leader arm would stream.

:class:`ScriptedExpert` maps (privileged task state, measured joints, time since the episode
start) to a joint target, like a leader arm's joint state. It is time-indexed and smooth
(minimum-jerk between waypoints), so its commands are easy to imitate::

    t [s]  0 ........ approach_s ... +descend_s ... +close_s ... +lift_s ... +hold_s
           start pose -> above cube -> around cube -> close     -> lift     -> hold

The grasp target follows the cube until the gripper starts closing. For DAgger-style data it
can add Gaussian noise to every command (``noise_std_rad``) and, with probability
``perturb_prob`` per episode, push the arm off course for ``perturb_duration_s`` at a random
time; the script then recovers on its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.errors import ConfigError, SimError
from imitation_ros.sim.kinematics import grasp_ik

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from imitation_ros.sim.model import ArmGeometry

ARM5 = ('shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll')


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpertConfig:
    """Timing and noise of the scripted expert."""

    approach_s: float = 1.2         # start pose -> above the cube, s
    descend_s: float = 0.7          # above the cube -> fingers around it, s
    close_s: float = 0.5            # close the gripper, s
    lift_s: float = 0.9             # lift, s
    hold_s: float = 0.5             # hold the cube up before the episode may end, s
    hover_m: float = 0.07           # approach height of the grasp point above the cube, m
    lift_m: float = 0.11            # how high to lift the grasp point, m
    grasp_depth_m: float = 0.005    # grasp point below the cube centre, m
    open_rad: float = 1.0           # gripper command when open, rad
    closed_rad: float = 0.0         # gripper command when closing on the cube, rad
    noise_std_rad: float = 0.0      # Gaussian noise added to every command, rad
    perturb_prob: float = 0.0       # chance per episode of one perturbation, [0, 1]
    perturb_rad: float = 0.25       # perturbation size (uniform +- per arm joint), rad
    perturb_duration_s: float = 0.4  # how long a perturbation lasts, s

    def __post_init__(self) -> None:
        for name in ('approach_s', 'descend_s', 'close_s', 'lift_s'):
            if getattr(self, name) <= 0:
                msg = f'expert {name} must be > 0 s, got {getattr(self, name)}'
                raise ConfigError(msg)
        for name in ('hold_s', 'noise_std_rad', 'perturb_rad', 'perturb_duration_s'):
            if getattr(self, name) < 0:
                msg = f'expert {name} must be >= 0, got {getattr(self, name)}'
                raise ConfigError(msg)
        if not 0.0 <= self.perturb_prob <= 1.0:
            msg = f'expert perturb_prob must be in [0, 1], got {self.perturb_prob}'
            raise ConfigError(msg)

    @property
    def duration_s(self) -> float:
        """Length of the whole script (the episode may end after it), s."""
        return self.approach_s + self.descend_s + self.close_s + self.lift_s + self.hold_s


def min_jerk(s: float) -> float:
    """Minimum-jerk profile: 0 at s <= 0, 1 at s >= 1, zero velocity at both ends."""
    s = min(max(s, 0.0), 1.0)
    return s * s * s * (10.0 - 15.0 * s + 6.0 * s * s)


class ScriptedExpert:
    """Time-indexed pick-and-lift script over the arm's joints (see module docstring)."""

    def __init__(self, geometry: ArmGeometry, joint_names: Sequence[str],
                 config: ExpertConfig | None = None, *, seed: int | None = None) -> None:
        """Create the expert.

        Args:
            geometry: Arm lengths (for inverse kinematics).
            joint_names: Output joint order (the profile's); must contain the arm joints and
                ``gripper``.
            config: Timing and noise.
            seed: Seed of the noise and perturbation draws.

        Raises:
            SimError: A joint of the arm is missing from ``joint_names``.
        """
        names = list(joint_names)
        missing = [n for n in (*ARM5, 'gripper') if n not in names]
        if missing:
            msg = f'scripted expert needs joints {missing}, profile has {names}'
            raise SimError(msg)
        self.geometry = geometry
        self.joint_names = tuple(names)
        self.config = config or ExpertConfig()
        self._arm = np.array([names.index(n) for n in ARM5])
        self._grip = names.index('gripper')
        self._rng = np.random.default_rng(seed)
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """Forget the last episode (start pose, frozen grasp); optionally reseed the noise."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._start: NDArray[np.float64] | None = None
        self._grasp: NDArray[np.float64] | None = None
        self._grasp_yaw = 0.0
        self._perturb_at_s = -1.0
        self._perturb = np.zeros(len(ARM5))
        cfg = self.config
        if cfg.perturb_prob > 0 and self._rng.random() < cfg.perturb_prob:
            self._perturb_at_s = float(self._rng.uniform(0.3, cfg.duration_s - cfg.hold_s))
            self._perturb = self._rng.uniform(-cfg.perturb_rad, cfg.perturb_rad, len(ARM5))

    def done(self, t_s: float) -> bool:
        """True once the script (including the hold) is over."""
        return t_s >= self.config.duration_s

    def phase(self, t_s: float) -> str:
        """Name of the script phase at ``t_s`` (for logs)."""
        c = self.config
        for name, end in (('approach', c.approach_s), ('descend', c.approach_s + c.descend_s),
                          ('close', c.approach_s + c.descend_s + c.close_s),
                          ('lift', c.duration_s - c.hold_s), ('hold', c.duration_s)):
            if t_s < end:
                return name
        return 'done'

    def act(self, task_state: NDArray[np.floating], joint_positions: NDArray[np.floating],
            t_s: float) -> NDArray[np.float64]:
        """Return the leader-arm joint target at time ``t_s`` of the episode.

        Args:
            task_state: The sim's task state (``cube_x, cube_y, cube_z, cube_yaw, ...``).
            joint_positions: Measured joints in ``joint_names`` order; the first call of an
                episode takes them as the start pose.
            t_s: Time since the episode started, s.

        Returns:
            Joint targets in ``joint_names`` order, rad (unclamped: the sim clamps).
        """
        c, g = self.config, self.geometry
        q_meas = np.asarray(joint_positions, dtype=np.float64)
        if self._start is None:
            self._start = q_meas.copy()
        cube = np.asarray(task_state[:3], dtype=np.float64)
        yaw = float(task_state[3])
        t1 = c.approach_s
        t2 = t1 + c.descend_s
        t3 = t2 + c.close_s
        if t_s < t2 or self._grasp is None:
            self._grasp = cube + np.array([0.0, 0.0, -c.grasp_depth_m])
            self._grasp_yaw = yaw
        grasp = self._grasp
        above = grasp + np.array([0.0, 0.0, c.hover_m])
        out = np.empty(len(self.joint_names))
        grip = c.open_rad
        if t_s < t1:
            s = min_jerk(t_s / t1)
            q_above = grasp_ik(g, above, self._grasp_yaw)
            start = self._start[self._arm]
            out[self._arm] = start + s * (q_above - start)
            out[self._grip] = self._start[self._grip] + s * (c.open_rad - self._start[self._grip])
        else:
            if t_s < t2:
                p = above + min_jerk((t_s - t1) / c.descend_s) * (grasp - above)
            elif t_s < t3:
                p = grasp
                grip = c.open_rad + min_jerk((t_s - t2) / c.close_s) * (c.closed_rad - c.open_rad)
            else:
                p = grasp + np.array([0.0, 0.0, c.lift_m * min_jerk((t_s - t3) / c.lift_s)])
                grip = c.closed_rad
            out[self._arm] = grasp_ik(g, p, self._grasp_yaw)
            out[self._grip] = grip
        if self._perturb_at_s >= 0 and 0 <= t_s - self._perturb_at_s < c.perturb_duration_s:
            out[self._arm] += self._perturb
        if c.noise_std_rad > 0:
            out += self._rng.normal(0.0, c.noise_std_rad, out.shape)
        return out
