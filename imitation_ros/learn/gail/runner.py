"""A trained GAIL policy behind the shared inference API (``load_policy``).

:class:`GailRunner` offers what ``PolicyRunner`` offers to the deploy side (``reset``,
``observe``, ``__call__`` -> action chunk (1, n) in rad, ``n_action_steps`` = 1,
``joint_names``, ``fps``, ``config.input_features``), so ``PolicyController`` and the
safety filter run it unchanged. The chunk is the absolute joint target
``state + action_scale * action``.

A policy trained with ``privileged=True`` also needs ``observation.environment_state`` (the
cube pose ``x, y, z, yaw`` that only the simulator knows): it deploys in simulation only.
:func:`evaluate_gail_checkpoint` runs it on the simulated arm with the same controller,
safety filter and seeds as ``eval-sim``, adding that key to each observation. A policy
trained with ``privileged=False`` needs the joint state only and runs wherever BC runs.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.errors import TrainError
from imitation_ros.profile.keys import OBS_STATE

if TYPE_CHECKING:
    from collections.abc import Mapping

logger = logging.getLogger(__name__)

#: Observation key of the privileged object pose (lerobot's ``OBS_ENV_STATE``).
OBS_ENV_STATE = 'observation.environment_state'


def is_gail_checkpoint(model_dir: Path) -> bool:
    """Whether ``model_dir/config.json`` says ``"type": "gail"``."""
    try:
        return json.loads((Path(model_dir) / 'config.json').read_text()).get('type') == 'gail'
    except (OSError, ValueError, AttributeError):
        return False


class GailRunner:
    """A GAIL (PPO) policy mapping observation dicts to one-step action chunks."""

    n_action_steps = 1
    n_obs_steps = 1
    time_dim = False
    policy_type = 'gail'

    def __init__(self, policy: Any, model_config: dict[str, Any], *,
                 run_info: dict[str, Any] | None = None) -> None:
        self.policy = policy.eval()
        self.model_config = model_config
        self.run_info = run_info or {}
        self.state_dim = int(model_config['state_dim'])
        self.env_state_dim = len(model_config.get('env_state_names') or ())
        self.action_scale = np.asarray(model_config['action_scale'], dtype=np.float64)
        self.action_dim = len(self.action_scale)
        feats = {OBS_STATE: SimpleNamespace(shape=(self.state_dim,))}
        if self.env_state_dim:
            feats[OBS_ENV_STATE] = SimpleNamespace(shape=(self.env_state_dim,))
        self.config = SimpleNamespace(
            type='gail', input_features=feats, image_features={},
            n_action_steps=1, n_obs_steps=1, chunk_size=1,
            action_feature=SimpleNamespace(shape=(self.action_dim,)))
        self.image_keys: list[str] = []
        self.has_state = True

    @property
    def joint_names(self) -> list[str]:
        """Joint names of the action vector (from the run file)."""
        return list(self.run_info.get('joint_names', []))

    @property
    def fps(self) -> float | None:
        """Control rate the policy was trained at, Hz."""
        fps = self.run_info.get('fps')
        return float(fps) if fps else None

    @property
    def privileged(self) -> bool:
        """Whether the policy needs ``observation.environment_state`` (sim only)."""
        return self.env_state_dim > 0

    def reset(self) -> None:
        """No history to forget (the policy is Markovian)."""

    def _vector(self, obs: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        if OBS_STATE not in obs:
            msg = f'observation lacks {OBS_STATE!r}; keys given: {sorted(obs)}'
            raise TrainError(msg)
        state = np.asarray(obs[OBS_STATE], dtype=np.float64).reshape(-1)
        if state.shape[0] != self.state_dim or not np.all(np.isfinite(state)):
            msg = f'{OBS_STATE}: expected {self.state_dim} finite values, got {state.tolist()}'
            raise TrainError(msg)
        parts = [state]
        if self.env_state_dim:
            if OBS_ENV_STATE not in obs:
                msg = (f'observation lacks {OBS_ENV_STATE!r} (the cube pose '
                       f'{self.model_config.get("env_state_names")}): this GAIL policy was '
                       'trained with the privileged object pose and runs in simulation only '
                       '(imitation_ros.learn.gail.evaluate_gail_checkpoint)')
                raise TrainError(msg)
            env = np.asarray(obs[OBS_ENV_STATE], dtype=np.float64).reshape(-1)
            if env.shape[0] != self.env_state_dim or not np.all(np.isfinite(env)):
                msg = (f'{OBS_ENV_STATE}: expected {self.env_state_dim} finite values, got '
                       f'{env.tolist()}')
                raise TrainError(msg)
            parts.append(env)
        return state, np.concatenate(parts).astype(np.float32)

    def observe(self, obs: Mapping[str, Any]) -> None:
        """Check the observation (nothing is kept)."""
        self._vector(obs)

    def __call__(self, obs: Mapping[str, Any]) -> np.ndarray:
        """Return the action chunk (1, n): the absolute joint target for this period.

        Raises:
            TrainError: A key is missing or has the wrong size or non-finite values.
        """
        state, x = self._vector(obs)
        act, _ = self.policy.predict(x, deterministic=True)
        target = state + self.action_scale * np.clip(np.asarray(act, np.float64), -1.0, 1.0)
        return target[None, :].astype(np.float32)


def load_gail_policy(model_dir: str | Path) -> GailRunner:
    """Rebuild the PPO policy of a GAIL checkpoint (CPU).

    Raises:
        TrainError: The checkpoint cannot be read or stable-baselines3 is missing.
    """
    try:
        import gymnasium as gym
        import torch
        from safetensors.torch import load_file
        from stable_baselines3.common.policies import ActorCriticPolicy
    except ImportError as err:
        from imitation_ros.learn.gail.trainer import INSTALL_HINT

        msg = f'{model_dir}: cannot load a GAIL policy: {INSTALL_HINT} ({err})'
        raise TrainError(msg) from None
    from imitation_ros.learn.inference import RUN_FILE

    model_dir = Path(model_dir)
    try:
        cfg = json.loads((model_dir / 'config.json').read_text())
        obs_space = gym.spaces.Box(-np.inf, np.inf, (int(cfg['obs_dim']),), np.float32)
        act_space = gym.spaces.Box(-1.0, 1.0, (len(cfg['action_scale']),), np.float32)
        arch = list(cfg['net_arch'])
        extra: dict[str, Any] = {}
        if cfg.get('obs_mean') is not None:          # fixed input normalization (nets.py)
            from imitation_ros.learn.gail.nets import NormalizedFlatten

            extra = {'features_extractor_class': NormalizedFlatten,
                     'features_extractor_kwargs': {'mean': cfg['obs_mean'],
                                                   'std': cfg['obs_std']}}
        policy = ActorCriticPolicy(obs_space, act_space, lambda _: 0.0,
                                   net_arch={'pi': arch, 'vf': arch},
                                   log_std_init=float(cfg.get('log_std_init', 0.0)), **extra)
        policy.load_state_dict(load_file(str(model_dir / 'model.safetensors')))
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        msg = f'{model_dir}: cannot load GAIL policy: {err}'
        raise TrainError(msg) from err
    policy.to(torch.device('cpu'))
    run_file = model_dir / RUN_FILE
    info = json.loads(run_file.read_text()) if run_file.is_file() else {}
    logger.info('loaded gail policy from %s', model_dir)
    return GailRunner(policy, cfg, run_info=info)


class PrivilegedObsSim:
    """An ``ArmSim`` whose observations also carry ``observation.environment_state``."""

    def __init__(self, sim: Any) -> None:
        from imitation_ros.sim.gym_env import ENV_STATE_NAMES

        self._sim = sim
        self._idx = [sim.task_state_names.index(k) for k in ENV_STATE_NAMES]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sim, name)

    def observation(self, *, images: bool = True) -> dict[str, Any]:
        """The sim's observation plus the cube pose."""
        obs = self._sim.observation(images=images)
        obs[OBS_ENV_STATE] = self._sim.task_state()[self._idx].astype(np.float32)
        return obs

    def reset(self, seed: int | None = None) -> dict[str, Any]:
        """Reset the sim; return the augmented observation."""
        self._sim.reset(seed)
        return self.observation()


def evaluate_gail_checkpoint(checkpoint: str | Path, *, episodes: int = 20,
                             first_seed: int = 10_000, duration_s: float = 8.0,
                             max_step_rad: float = 0.1, sim_config: Any = None,
                             progress: bool = False) -> Any:
    """``eval-sim`` for a GAIL checkpoint: same loader, controller, safety filter, seeds.

    Returns:
        ``imitation_ros.sim.EvalSummary``.
    """
    from imitation_ros.deploy.controller import PolicyController
    from imitation_ros.deploy.rollout import controller_policy
    from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter
    from imitation_ros.learn.inference import load_policy
    from imitation_ros.sim import ArmSim, evaluate, load_profile_for_sim

    runner = load_policy(checkpoint, device='cpu')
    profile = load_profile_for_sim()
    controller = PolicyController(runner, SafetyFilter.from_profile(
        profile, SafetyConfig(max_step_rad=max_step_rad), period_s=1.0 / profile.fps))
    import dataclasses

    sim = ArmSim(dataclasses.replace(profile, cameras=()), sim_config)
    wrapped = PrivilegedObsSim(sim)
    try:
        return evaluate(wrapped, controller_policy(wrapped, controller),
                        range(first_seed, first_seed + episodes), duration_s=duration_s,
                        progress=progress)
    finally:
        sim.close()
