"""The simulated arm's cube lift as a gymnasium environment (for RL and GAIL).

:class:`ArmLiftEnv` wraps :class:`imitation_ros.sim.ArmSim` without cameras:

* observation: the measured joint positions (profile order, rad) followed, when
  ``privileged``, by the cube pose the simulator knows (:data:`ENV_STATE_NAMES`: x, y, z in
  m, yaw in rad; what ``sim_node`` publishes on ``~/task_state``, which a real robot lacks);
* action: in ``[-1, 1]`` per joint, a step from the *measured* joints:
  ``target = q + action_scale * action`` (default 0.1 rad for the arm joints, the expert's
  largest lead and the deploy safety cap, and 1 rad for the gripper, which the expert closes
  in one command); the sim then clamps and rate-limits the target as always;
* reward: a dense task reward (``-|grasp site - cube|``, plus ``10 * lift`` and 1 on success
  for ``lift``), for measuring returns only (GAIL replaces it by its discriminator's);
* episodes: fixed length ``horizon`` (truncation, never termination), as GAIL needs;
  ``info['is_success']``: for ``lift`` the sim's own success check, for ``reach`` the grasp
  site within :data:`REACH_TOL_M` of the cube.

Tasks: ``lift`` (the CI task ``lift_cube``, 3 s by default) and ``reach`` (the same scene cut
to its first ``horizon`` periods: only the approach to the cube, small enough for CI);
``lift_wide`` and ``reach_wide`` are the same on the ``lift_cube_wide`` scene (the cube anywhere
in a 12 x 12 cm square: :data:`imitation_ros.sim.arm.TASK_VARIANTS`).

Imports gymnasium (and MuJoCo through ArmSim) at module level; ``imitation_ros.sim`` does not
import this module.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from imitation_ros.errors import SimError

if TYPE_CHECKING:
    from imitation_ros.profile import RobotProfile
    from imitation_ros.sim.arm import ArmSimConfig

#: Privileged object pose appended to the joint state (indices into ``ArmSim.task_state``).
ENV_STATE_NAMES = ('cube_x', 'cube_y', 'cube_z', 'cube_yaw')

#: Tasks of :class:`ArmLiftEnv` and their default horizons (control periods at 30 Hz).
TASK_HORIZONS = {'lift': 90, 'reach': 20, 'lift_wide': 90, 'reach_wide': 20}

#: The cube-lift scene (``sim.arm.TASK_VARIANTS``) of each task.
TASK_SCENES = {'lift': 'lift_cube', 'reach': 'lift_cube', 'lift_wide': 'lift_cube_wide',
               'reach_wide': 'lift_cube_wide'}

#: ``reach`` counts as a success when the grasp site is this close to the cube centre, m.
REACH_TOL_M = 0.05

#: Default step scale per joint (arm joints, then the gripper), rad per unit action.
DEFAULT_ACTION_SCALE = (0.1, 0.1, 0.1, 0.1, 0.1, 1.0)


def action_from_target(target: np.ndarray, state: np.ndarray,
                       scale: np.ndarray) -> np.ndarray:
    """Joint target(s) -> normalized action(s) in [-1, 1] (inverse of the env's mapping)."""
    return np.clip((np.asarray(target) - np.asarray(state)) / scale, -1.0, 1.0)


def target_from_action(action: np.ndarray, state: np.ndarray,
                       scale: np.ndarray) -> np.ndarray:
    """Normalized action(s) -> joint target(s): ``state + scale * clip(action, -1, 1)``."""
    return np.asarray(state) + scale * np.clip(np.asarray(action), -1.0, 1.0)


class ArmLiftEnv(gym.Env):
    """The cube lift (or its approach) as a fixed-horizon gymnasium environment."""

    metadata = {'render_modes': [], 'render_fps': 30}

    def __init__(self, *, task: str = 'lift', horizon: int | None = None,
                 privileged: bool = True, profile: str | RobotProfile = 'sim_arm.yaml',
                 sim_config: ArmSimConfig | None = None,
                 action_scale: tuple[float, ...] = DEFAULT_ACTION_SCALE) -> None:
        """Build the sim (no cameras).

        Args:
            task: ``lift``, ``reach``, ``lift_wide`` or ``reach_wide`` (:data:`TASK_SCENES`).
            horizon: Control periods per episode (default :data:`TASK_HORIZONS`).
            privileged: Append the cube pose to the observation.
            profile: Robot profile (config file name, path, or loaded profile).
            sim_config: Randomization of the arm and cube (default: the task's scene,
                ``task_sim_config(TASK_SCENES[task])``).
            action_scale: Step per unit action per joint, rad.

        Raises:
            SimError: Unknown task, bad horizon, or an action scale of the wrong length.
        """
        from imitation_ros.sim import load_profile_for_sim
        from imitation_ros.sim.arm import ArmSim, task_sim_config

        if task not in TASK_HORIZONS:
            msg = f'ArmLiftEnv: task must be one of {sorted(TASK_HORIZONS)}, got {task!r}'
            raise SimError(msg)
        self.task = task
        #: ``lift`` or ``reach``: what succeeds and what the task reward measures.
        self.kind = 'reach' if task.startswith('reach') else 'lift'
        self.scene = TASK_SCENES[task]
        self.horizon = int(horizon or TASK_HORIZONS[task])
        if self.horizon < 2:
            msg = f'ArmLiftEnv: horizon must be >= 2 control periods, got {self.horizon}'
            raise SimError(msg)
        prof = load_profile_for_sim(profile) if isinstance(profile, str) else profile
        prof = dataclasses.replace(prof, cameras=())
        self.sim = ArmSim(prof, sim_config or task_sim_config(self.scene))
        self.privileged = privileged
        n = len(self.sim.joint_names)
        self.action_scale = np.asarray(action_scale, dtype=np.float64)
        if self.action_scale.shape != (n,) or not np.all(self.action_scale > 0):
            msg = (f'ArmLiftEnv: action_scale needs {n} positive values (one per joint '
                   f'{list(self.sim.joint_names)}), got {list(action_scale)}')
            raise SimError(msg)
        names = self.sim.task_state_names
        self._env_idx = [names.index(k) for k in ENV_STATE_NAMES]
        self._lift_i = names.index('lift_m')
        self._grasp_site = self.sim.model.site('grasp').id
        dim = n + (len(ENV_STATE_NAMES) if privileged else 0)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n,), np.float32)
        self.metadata = {**self.metadata, 'render_fps': self.sim.profile.fps}
        self._t = 0

    @property
    def joint_names(self) -> tuple[str, ...]:
        """Joint names of the state and action vectors."""
        return self.sim.joint_names

    def observe(self) -> np.ndarray:
        """Current observation vector (float32)."""
        q = self.sim.joint_positions()
        if self.privileged:
            q = np.concatenate([q, self.sim.task_state()[self._env_idx]])
        return q.astype(np.float32)

    def grasp_distance_m(self) -> float:
        """Distance from the gripper's grasp site to the cube centre, m."""
        grasp = self.sim.data.site_xpos[self._grasp_site]
        return float(np.linalg.norm(grasp - self.sim.task_state()[:3]))

    def success(self) -> bool:
        """``lift``: the sim's check (cube held 5 cm up); ``reach``: grasp site near the cube."""
        if self.kind == 'reach':
            return self.grasp_distance_m() < REACH_TOL_M
        return bool(self.sim.success())

    def task_reward(self) -> float:
        """Dense task reward of the current state (see module docstring)."""
        ts = self.sim.task_state()
        dist = self.grasp_distance_m()
        if self.kind == 'reach':
            return -dist
        return -dist + 10.0 * min(max(float(ts[self._lift_i]), 0.0), 0.1) + float(
            self.sim.success())

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the sim (seeded, or continuing its random stream)."""
        del options
        super().reset(seed=seed)
        self.sim.reset(seed)
        self._t = 0
        return self.observe(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``target = q + scale * action`` for one control period."""
        act = np.asarray(action, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(act)):
            act = np.zeros_like(self.action_scale)
        self.sim.set_command(target_from_action(act, self.sim.joint_positions(),
                                                self.action_scale))
        self.sim.advance(self.sim.control_period_s)
        self._t += 1
        truncated = self._t >= self.horizon
        info = {'is_success': self.success()}
        return self.observe(), self.task_reward(), False, truncated, info

    def close(self) -> None:
        """Free the sim."""
        self.sim.close()
