"""Scripted expert of the cube-lift task: what a person on a leader arm would stream.

:class:`ScriptedExpert` maps (privileged task state, measured joints, time) to a joint target,
like a leader arm's joint state. It is a *feedback* script: the phase and the target are
functions of the current state (arm pose, gripper opening, cube pose), and the command leads
the measured joints by at most ``lead_rad`` towards the phase's goal (on a straight line in
joint space; the lift goes straight up from where it started). That makes the demos
Markovian in the robot's state, so a policy that sees only joint states (plus images for the
cube) can imitate them, and the script recovers from noise and pushes by itself::

    gripper open,  grasp point off the cube's xy      -> approach: go above the cube
    gripper not yet fully open, above the cube         -> wait there, opening
    gripper open,  over the cube, above grasp height   -> descend onto the cube
    gripper open,  at grasp height                     -> close
    gripper part-closed (holding the cube)             -> lift
    gripper fully closed (missed the cube)             -> open again (then approach)
    gripper part-closed, cube not at the grasp point   -> open again (lost or never held it)

The last rule is what lets the expert recover from states a policy drove into (closing
half-way in the air, dropping the cube): "part-closed" alone no longer means "holding".
:class:`TakeoverMonitor` plays the person of HG-DAgger: it watches the policy's commands
next to the expert's, takes over when they disagree, and hands back once they agree again.

For DAgger-style data it can add Gaussian noise to every command (``noise_std_rad``) and,
with probability ``perturb_prob`` per episode, push the arm off course for
``perturb_duration_s`` at a random time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.errors import ConfigError, SimError
from imitation_ros.sim.kinematics import grasp_ik, grasp_point

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from imitation_ros.sim.model import ArmGeometry

ARM5 = ('shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll')


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpertConfig:
    """Gains, thresholds and noise of the scripted expert."""

    lead_rad: float = 0.1             # command leads the measured arm joints by at most, rad
    descend_step_m: float = 0.03      # descend goal: this far below the grasp point, m
    hover_m: float = 0.07             # approach height of the grasp point above the cube, m
    lift_m: float = 0.11              # lift the grasp point this far above the grasp, m
    grasp_depth_m: float = 0.005      # grasp point below the cube centre, m
    align_m: float = 0.012            # over the cube when the grasp point is this close in xy, m
    align_low_m: float = 0.025        # same, once below the hover height (wide gripper), m
    at_grasp_m: float = 0.008         # close when the grasp point is this close to grasp height, m
    open_rad: float = 1.0             # gripper command when open, rad
    closed_rad: float = 0.0           # gripper command when closing, rad
    open_ready_rad: float = 0.9       # descend only once the gripper is open this far, rad
    holding_rad: float = 0.45         # measured gripper below this: closed on something, rad
    missed_rad: float = 0.15          # measured gripper below this: closed on nothing, rad
    lost_m: float = 0.055             # part-closed with the cube this far from the grasp point:
    #                                   not holding it (reopen), m
    episode_s: float = 5.0            # length of an in-process episode, s
    hold_s: float = 0.5               # a node ends the episode after success held this long, s
    noise_std_rad: float = 0.0        # Gaussian noise added to every command, rad
    perturb_prob: float = 0.0         # chance per episode of one perturbation, [0, 1]
    perturb_rad: float = 0.25         # perturbation size (uniform +- per arm joint), rad
    perturb_duration_s: float = 0.4   # how long a perturbation lasts, s

    def __post_init__(self) -> None:
        for name in ('lead_rad', 'descend_step_m', 'hover_m', 'lift_m', 'align_m',
                     'align_low_m', 'at_grasp_m', 'episode_s', 'lost_m'):
            if getattr(self, name) <= 0:
                msg = f'expert {name} must be > 0, got {getattr(self, name)}'
                raise ConfigError(msg)
        for name in ('hold_s', 'noise_std_rad', 'perturb_rad', 'perturb_duration_s'):
            if getattr(self, name) < 0:
                msg = f'expert {name} must be >= 0, got {getattr(self, name)}'
                raise ConfigError(msg)
        if not 0.0 <= self.perturb_prob <= 1.0:
            msg = f'expert perturb_prob must be in [0, 1], got {self.perturb_prob}'
            raise ConfigError(msg)
        if not self.missed_rad < self.holding_rad < self.open_ready_rad <= self.open_rad:
            msg = (f'expert needs missed_rad < holding_rad < open_ready_rad <= open_rad, got '
                   f'{self.missed_rad}, {self.holding_rad}, {self.open_ready_rad}, '
                   f'{self.open_rad}')
            raise ConfigError(msg)

    @property
    def duration_s(self) -> float:
        """Length of an in-process evaluation episode, s."""
        return self.episode_s


class ScriptedExpert:
    """State-feedback pick-and-lift script over the arm's joints (see module docstring)."""

    def __init__(self, geometry: ArmGeometry, joint_names: Sequence[str],
                 config: ExpertConfig | None = None, *, seed: int | None = None) -> None:
        """Create the expert.

        Args:
            geometry: Arm lengths (for kinematics).
            joint_names: Output joint order (the profile's); must contain the arm joints and
                ``gripper``.
            config: Gains, thresholds and noise.
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
        self.phase = 'approach'
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode (draws its perturbation); optionally reseed the noise."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.phase = 'approach'
        self._lift_xy: NDArray[np.float64] | None = None
        self._perturb_at_s = -1.0
        self._perturb = np.zeros(len(ARM5))
        cfg = self.config
        if cfg.perturb_prob > 0 and self._rng.random() < cfg.perturb_prob:
            self._perturb_at_s = float(self._rng.uniform(0.3, max(0.4, cfg.episode_s - 2.0)))
            self._perturb = self._rng.uniform(-cfg.perturb_rad, cfg.perturb_rad, len(ARM5))

    def _goal(self, cube: NDArray[np.float64], yaw: float, rest_z: float,
              q: NDArray[np.float64]) -> tuple[str, NDArray[np.float64] | None, float]:
        """(phase, arm goal or None to hold, gripper command) for the current state."""
        c, g = self.config, self.geometry
        grasp = np.array([cube[0], cube[1], rest_z - c.grasp_depth_m])
        hover_z = grasp[2] + c.hover_m
        tip = grasp_point(g, q[self._arm])
        grip = float(q[self._grip])
        if grip < c.missed_rad:                                 # closed on nothing: reopen
            return 'reopen', None, c.open_rad
        cube_at = np.array([cube[0], cube[1], cube[2] - c.grasp_depth_m])
        if grip < c.holding_rad and float(np.linalg.norm(tip - cube_at)) > c.lost_m:
            return 'reopen', None, c.open_rad                   # part-closed on nothing
        if grip < c.holding_rad:     # holding the cube: straight up to a fixed height
            if self.phase != 'lift' or self._lift_xy is None:
                self._lift_xy = tip[:2].copy()          # where the lift started
            up = np.array([self._lift_xy[0], self._lift_xy[1], grasp[2] + c.lift_m])
            return 'lift', grasp_ik(g, up, yaw), c.closed_rad
        xy_err = float(np.hypot(*(tip[:2] - grasp[:2])))
        align = c.align_m if tip[2] > hover_z - 0.01 else c.align_low_m
        if xy_err > align or (grip < c.open_ready_rad and tip[2] > hover_z - 0.01):
            # go above the cube (and stay there until the gripper is fully open, so that a
            # half-open gripper low over the cube only ever means "closing")
            return 'approach', grasp_ik(g, np.array([grasp[0], grasp[1], hover_z]), yaw), \
                c.open_rad
        if tip[2] > grasp[2] + c.at_grasp_m:                    # descend onto it
            z = max(grasp[2], tip[2] - c.descend_step_m)
            return 'descend', grasp_ik(g, np.array([grasp[0], grasp[1], z]), yaw), c.open_rad
        return 'close', grasp_ik(g, grasp, yaw), c.closed_rad

    def act(self, task_state: NDArray[np.floating], joint_positions: NDArray[np.floating],
            t_s: float) -> NDArray[np.float64]:
        """Return the leader-arm joint target for the current state.

        Args:
            task_state: The sim's task state (``cube_x, cube_y, cube_z, cube_yaw,
                cube_rest_z, ...``); grasp and lift heights are taken from the rest height.
            joint_positions: Measured joints in ``joint_names`` order, rad.
            t_s: Time since the episode started, s (times the perturbation only).

        Returns:
            Joint targets in ``joint_names`` order, rad (unclamped: the sim clamps).
        """
        c = self.config
        q = np.asarray(joint_positions, dtype=np.float64)
        cube = np.asarray(task_state[:3], dtype=np.float64)
        self.phase, goal, grip = self._goal(cube, float(task_state[3]), float(task_state[4]), q)
        out = q.copy()
        if goal is not None:         # lead towards the goal along a straight joint-space line
            delta = goal - q[self._arm]
            out[self._arm] = q[self._arm] + delta * min(1.0, c.lead_rad / max(
                float(np.abs(delta).max()), 1e-9))
        out[self._grip] = grip
        if self._perturb_at_s >= 0 and 0 <= t_s - self._perturb_at_s < c.perturb_duration_s:
            out[self._arm] += self._perturb
        if c.noise_std_rad > 0:
            out += self._rng.normal(0.0, c.noise_std_rad, out.shape)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeoverConfig:
    """When the scripted person takes over from a policy and hands back (rad, s)."""

    takeover_rad: float = 0.15      # arm commands disagree by more than this: take over
    gripper_rad: float = 0.5        # gripper commands disagree by more than this: take over
    takeover_s: float = 0.1         # ... for this long
    handback_rad: float = 0.08      # arm and gripper agree within this (gripper: x3) ...
    agree_s: float = 0.3            # ... for this long: hand back
    min_drive_s: float = 0.5        # drive at least this long once taken over

    def __post_init__(self) -> None:
        if not 0 < self.handback_rad < self.takeover_rad:
            msg = (f'takeover needs 0 < handback_rad < takeover_rad, got {self.handback_rad}, '
                   f'{self.takeover_rad}')
            raise ConfigError(msg)
        for name in ('gripper_rad', 'takeover_s', 'agree_s', 'min_drive_s'):
            if getattr(self, name) < 0:
                msg = f'takeover {name} must be >= 0, got {getattr(self, name)}'
                raise ConfigError(msg)


class TakeoverMonitor:
    """The scripted person of HG-DAgger: takes over when the policy strays, hands back.

    Each control period :meth:`update` gets the policy's proposed command and the expert's
    (same joint order); the person takes over once the arm joints disagree by more than
    ``takeover_rad`` (or the gripper by ``gripper_rad``) for ``takeover_s``, drives at least
    ``min_drive_s``, and hands back once the policy's proposal agrees with the expert's within
    ``handback_rad`` for ``agree_s`` (back on track).
    """

    def __init__(self, arm: Sequence[int], grip: int, config: TakeoverConfig | None = None
                 ) -> None:
        """Create the monitor for joints ``arm`` (indices) and gripper index ``grip``."""
        self.config = config or TakeoverConfig()
        self._arm = list(arm)
        self._grip = int(grip)
        self.reset()

    @classmethod
    def for_expert(cls, expert: ScriptedExpert, config: TakeoverConfig | None = None
                   ) -> TakeoverMonitor:
        """A monitor over the expert's joint order."""
        return cls(expert._arm.tolist(), expert._grip, config)  # noqa: SLF001

    def reset(self) -> None:
        """New episode: the policy drives."""
        self.in_control = False
        self._since: float | None = None
        self._took_s = 0.0

    def update(self, policy_cmd: NDArray[np.floating] | None,
               expert_cmd: NDArray[np.floating], t_s: float) -> bool:
        """Return whether the person wants control after this period."""
        c = self.config
        if policy_cmd is None:                    # the policy said nothing: take over
            self.in_control, self._took_s, self._since = True, t_s, None
            return True
        p = np.asarray(policy_cmd, np.float64)
        e = np.asarray(expert_cmd, np.float64)
        arm = float(np.abs(p[self._arm] - e[self._arm]).max())
        grip = abs(float(p[self._grip] - e[self._grip]))
        if not self.in_control:
            off = arm > c.takeover_rad or grip > c.gripper_rad
            self._since = (self._since if self._since is not None else t_s) if off else None
            if self._since is not None and t_s - self._since >= c.takeover_s:
                self.in_control, self._took_s, self._since = True, t_s, None
        else:
            ok = arm < c.handback_rad and grip < 3 * c.handback_rad
            self._since = (self._since if self._since is not None else t_s) if ok else None
            if (self._since is not None and t_s - self._since >= c.agree_s
                    and t_s - self._took_s >= c.min_drive_s):
                self.in_control, self._since = False, None
        return self.in_control
