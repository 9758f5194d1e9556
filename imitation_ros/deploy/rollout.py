"""Closed-loop evaluation of a checkpoint on the simulated arm, in one process.

The policy runs exactly as the policy node runs it (``PolicyController``: chunk schedule,
optional ensembling, safety filter), one control period at a time, on the sim core without
ROS; the success rate is the sim's own check at the end of each episode. Used by
``imitation-ros eval-sim`` and the demo. torch, lerobot and MuJoCo are imported lazily.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.deploy.controller import PolicyController
from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter
from imitation_ros.errors import ConfigError
from imitation_ros.profile.keys import OBS_IMAGES

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from numpy.typing import NDArray

    from imitation_ros.profile import RobotProfile

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutConfig:
    """How a checkpoint is evaluated on the simulator."""

    episodes: int = 20
    first_seed: int = 10_000           # seeds first_seed .. first_seed + episodes - 1
    duration_s: float = 8.0            # episode length (the expert's timeout), s
    device: str = 'cpu'
    ensemble_coeff: float | None = None
    safety: SafetyConfig = SafetyConfig(max_step_rad=0.1)

    def __post_init__(self) -> None:
        if self.episodes <= 0 or self.duration_s <= 0:
            msg = f'episodes and duration_s must be > 0, got {self.episodes}, {self.duration_s}'
            raise ConfigError(msg)


def controller_policy(sim: Any, controller: PolicyController
                      ) -> Callable[[dict[str, Any], float], NDArray[np.floating]]:
    """Wrap a controller as a policy of ``imitation_ros.sim.run_episode``.

    A hold before any command passed keeps the sim's current target (the arm stays where it
    is), exactly what "publish nothing" means to a position controller.
    """
    def policy(obs: dict[str, Any], t_s: float) -> NDArray[np.floating]:
        if t_s == 0.0:
            controller.reset()
        verdict = controller.step(obs, 0.0)     # in-process: the observation is current
        return verdict.command if verdict.command is not None else sim.target

    return policy


def evaluate_checkpoint(checkpoint: str | Path, profile: RobotProfile,
                        config: RolloutConfig | None = None, *, progress: bool = False) -> Any:
    """Run ``config.episodes`` seeded episodes of the checkpoint on the simulated arm.

    Returns:
        ``imitation_ros.sim.EvalSummary`` (``success_rate``, per-episode results).

    Raises:
        ConfigError: The checkpoint was trained on other joints than the profile has.
    """
    from imitation_ros.learn.inference import load_policy
    from imitation_ros.sim import ArmSim, evaluate

    cfg = config or RolloutConfig()
    runner = load_policy(checkpoint, device=cfg.device)
    if runner.joint_names and list(runner.joint_names) != list(profile.joint_names):
        msg = (f'{checkpoint}: trained on joints {runner.joint_names}, profile '
               f'{profile.path or profile.name} has {list(profile.joint_names)}')
        raise ConfigError(msg)
    wants_images = any(k.startswith(OBS_IMAGES) for k in runner.config.input_features)
    controller = PolicyController(runner, SafetyFilter.from_profile(profile, cfg.safety),
                                  ensemble_coeff=cfg.ensemble_coeff)
    sim = ArmSim(profile)
    try:
        seeds = range(cfg.first_seed, cfg.first_seed + cfg.episodes)
        summary = evaluate(sim, controller_policy(sim, controller), seeds,
                           duration_s=cfg.duration_s, images=wants_images, progress=progress)
    finally:
        sim.close()
    logger.info('%s: %d/%d episodes succeeded', checkpoint, summary.successes, summary.n)
    return summary
