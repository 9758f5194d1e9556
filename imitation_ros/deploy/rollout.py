"""Closed-loop evaluation of a checkpoint on the simulated arm, in one process.

The policy runs through the same :class:`PolicyController` as the policy node (worker,
latency-driven requests, seams, safety filter), on the sim core without ROS; the success
rate is the sim's own check at the end of each episode. Two timings:

* ``stop_the_world``: the simulator waits for every forward pass and observations are
  current (what evaluation did before, and what an inline ``select_action`` loop assumes).
* ``faithful``: the simulator keeps running while the policy infers. The forward pass is
  computed when requested, but its chunk reaches the controller only once sim time has
  advanced by the measured compute time x ``time_scale`` (or a fixed ``latency_s``); in the
  meantime the previous chunk executes, and rows already in the past are skipped, as on the
  robot. Observations reach the controller ``obs_delay_s`` after they were taken.

Used by ``imitation-ros eval-sim``. torch, lerobot and MuJoCo are imported lazily.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from imitation_ros.deploy.controller import ControllerConfig, PolicyController
from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter
from imitation_ros.deploy.worker import DeferredWorker, InlineWorker
from imitation_ros.errors import ConfigError
from imitation_ros.profile.keys import OBS_ENV_STATE, OBS_IMAGES

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import numpy as np
    from numpy.typing import NDArray

    from imitation_ros.profile import RobotProfile

logger = logging.getLogger(__name__)

Timing = Literal['stop_the_world', 'faithful']


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutConfig:
    """How a checkpoint is evaluated on the simulator (times in s)."""

    episodes: int = 20
    first_seed: int = 10_000           # seeds first_seed .. first_seed + episodes - 1
    duration_s: float = 8.0            # episode length (the expert's timeout)
    device: str = 'cpu'
    ensemble_coeff: float | None = None
    safety: SafetyConfig = SafetyConfig(max_lead_rad=0.5)    # the node's defaults
    timing: Timing = 'faithful'
    latency_s: float | None = None     # faithful: fixed latency; None = measured x time_scale
    time_scale: float = 1.0            # faithful: sim seconds per wall second of compute
    obs_delay_s: float = 0.0           # faithful: observation age when the controller sees it
    # The policy node's defaults (PolicyNodeConfig), so the evaluation runs what it runs:
    blend_steps: int = 3               # seam crossfade, periods
    latency_margin_s: float | None = None   # request margin; None: 0.01 s (stop-the-world 0)
    max_plan_age_s: float = 1.0        # hold rows predicted from older observations
    enable_ramp_s: float = 1.0         # each episode ramps in from the arm's pose (~/enable)
    cube_jitter_m: float | None = None      # sim cube start +- this, m; None = the task's
    task: str = 'lift_cube'            # cube task variant (sim.arm.TASK_VARIANTS)

    def __post_init__(self) -> None:
        if self.episodes <= 0 or self.duration_s <= 0:
            msg = f'episodes and duration_s must be > 0, got {self.episodes}, {self.duration_s}'
            raise ConfigError(msg)
        if self.timing not in ('stop_the_world', 'faithful'):
            msg = f'timing must be stop_the_world or faithful, got {self.timing!r}'
            raise ConfigError(msg)
        if self.obs_delay_s < 0 or self.time_scale <= 0 or (self.latency_s or 0) < 0:
            msg = 'obs_delay_s and latency_s must be >= 0 and time_scale > 0'
            raise ConfigError(msg)
        check_task(self.task, self.cube_jitter_m)


@dataclass(frozen=True, slots=True)
class RolloutReport:
    """Success and what the controller saw, for one timing."""

    timing: str
    summary: Any                       # imitation_ros.sim.EvalSummary
    stats: dict[str, float | int] = field(default_factory=dict)


def controller_policy(sim: Any, controller: PolicyController, *, obs_delay_s: float = 0.0
                      ) -> Callable[[dict[str, Any], float], NDArray[np.floating]]:
    """Wrap a controller as a policy of ``imitation_ros.sim.run_episode``.

    Each period the controller gets the observation taken ``obs_delay_s`` earlier (rounded to
    whole control periods, as the sim's clock runs on physics steps), with its true time.
    A hold before any command passed keeps the sim's current target (the arm stays where it
    is), exactly what "publish nothing" means to a position controller.
    """
    delay = max(0, round(obs_delay_s * controller.config.period_s ** -1))
    seen: deque[tuple[float, dict[str, Any]]] = deque(maxlen=delay + 1)

    def policy(obs: dict[str, Any], t_s: float) -> NDArray[np.floating]:
        if t_s == 0.0:
            controller.reset()
            controller.safety.reset()    # the sim put the arm (and its target) at a new pose
            seen.clear()
        seen.append((t_s, obs))
        if len(seen) <= delay:                      # nothing old enough yet: as if missing
            verdict = controller.tick(t_s, None, None, missing='observation not arrived').verdict
        else:
            t_obs, current = seen[0]
            verdict = controller.tick(t_s, current, t_obs).verdict
        return verdict.command if verdict.command is not None else sim.target

    return policy


def make_controller(runner: Any, profile: RobotProfile, cfg: RolloutConfig
                    ) -> PolicyController:
    """The controller of one timing, as the node builds it (but with a sim-clock worker)."""
    period = 1.0 / profile.fps
    safety = SafetyFilter.from_profile(profile, cfg.safety, period_s=period)
    faithful = cfg.timing == 'faithful'
    margin = cfg.latency_margin_s if cfg.latency_margin_s is not None else (
        0.01 if faithful else 0.0)
    worker = (DeferredWorker(runner, latency_s=cfg.latency_s, time_scale=cfg.time_scale)
              if faithful else InlineWorker(runner))
    ccfg = ControllerConfig(period_s=period, blend_steps=cfg.blend_steps,
                            ensemble_coeff=cfg.ensemble_coeff, latency_margin_s=margin,
                            latency_prior_s=cfg.latency_s or 0.0,
                            max_plan_age_s=cfg.max_plan_age_s, enable_ramp_s=cfg.enable_ramp_s)
    return PolicyController(runner, safety, config=ccfg, worker=worker)


def load_checked(checkpoint: str | Path, profile: RobotProfile, device: str) -> Any:
    """Load a checkpoint and check it was trained on the profile's joints.

    Raises:
        ConfigError: The checkpoint was trained on other joints than the profile has.
    """
    from imitation_ros.learn.inference import load_policy

    runner = load_policy(checkpoint, device=device)
    if runner.joint_names and list(runner.joint_names) != list(profile.joint_names):
        msg = (f'{checkpoint}: trained on joints {runner.joint_names}, profile '
               f'{profile.path or profile.name} has {list(profile.joint_names)}')
        raise ConfigError(msg)
    return runner


def evaluate_checkpoint(checkpoint: str | Path, profile: RobotProfile,
                        config: RolloutConfig | None = None, *, progress: bool = False,
                        runner: Any = None) -> RolloutReport:
    """Run ``config.episodes`` seeded episodes of the checkpoint on the simulated arm.

    Args:
        checkpoint: Training output folder, checkpoint or ``pretrained_model``.
        profile: The sim arm's profile.
        config: Episodes, seeds, timing, safety.
        progress: Show a progress bar.
        runner: An already loaded policy (skips loading ``checkpoint``).

    Returns:
        The report: ``summary`` (``imitation_ros.sim.EvalSummary``) and controller stats.

    Raises:
        ConfigError: The checkpoint was trained on other joints than the profile has.
    """
    from imitation_ros.sim import ArmSim, evaluate

    cfg = config or RolloutConfig()
    runner = runner if runner is not None else load_checked(checkpoint, profile, cfg.device)
    wants_images = any(k.startswith(OBS_IMAGES) for k in runner.config.input_features)
    controller = make_controller(runner, profile, cfg)
    sim = ArmSim(profile, sim_config(cfg.cube_jitter_m, cfg.task))
    world: Any = sim
    if OBS_ENV_STATE in runner.config.input_features:
        # A policy trained on the sim's privileged object pose (GAIL): only a simulator has it.
        from imitation_ros.learn.gail.runner import PrivilegedObsSim
        world = PrivilegedObsSim(sim)
    delay = cfg.obs_delay_s if cfg.timing == 'faithful' else 0.0
    try:
        seeds = range(cfg.first_seed, cfg.first_seed + cfg.episodes)
        summary = evaluate(world, controller_policy(world, controller, obs_delay_s=delay),
                           seeds, duration_s=cfg.duration_s, images=wants_images,
                           progress=progress)
    finally:
        sim.close()
        controller.close()
    stats = controller.stats(0.0)
    stats.pop('queue_depth', None)        # a live quantity: meaningless after the episodes
    logger.info('%s (%s): %d/%d episodes succeeded', checkpoint, cfg.timing,
                summary.successes, summary.n)
    return RolloutReport(cfg.timing, summary, stats)


def check_task(task: str, cube_jitter_m: float | None) -> None:
    """Refuse an unknown task variant, or a cube jitter on a task that fixes its own.

    Raises:
        ConfigError: Naming the task (and the known ones).
    """
    from imitation_ros.sim.arm import TASK_VARIANTS

    if task not in TASK_VARIANTS:
        msg = f'unknown cube task {task!r}; known: {sorted(TASK_VARIANTS)}'
        raise ConfigError(msg)
    if cube_jitter_m is not None and 'cube_jitter_m' in TASK_VARIANTS[task]:
        msg = (f'task {task!r} fixes its cube range (cube_jitter_m '
               f'{TASK_VARIANTS[task]["cube_jitter_m"]}); drop the cube jitter setting')
        raise ConfigError(msg)


def sim_config(cube_jitter_m: float | None, task: str = 'lift_cube') -> Any:
    """The sim config of ``task`` with the cube jitter set (None: the task's own)."""
    from imitation_ros.sim.arm import task_sim_config

    check_task(task, cube_jitter_m)
    extra = {} if cube_jitter_m is None else {'cube_jitter_m': cube_jitter_m}
    return task_sim_config(task, **extra)


def evaluate_baselines(profile: RobotProfile, seeds: range, *, duration_s: float,
                       dataset: str | Path | None, cube_jitter_m: float | None = None,
                       task: str = 'lift_cube') -> dict[str, Any]:
    """Success of the scripted expert (ceiling) and of blind replay (floor) on ``seeds``.

    Blind replay ignores observations and replays the demos' mean action trajectory
    (``imitation_ros.data.sim_demos.blind_replay_policy``); skipped without a dataset.

    Returns:
        Name -> ``EvalSummary``.
    """
    from imitation_ros.sim import ArmSim, ScriptedExpert, evaluate, expert_policy

    sim = ArmSim(profile, sim_config(cube_jitter_m, task))
    try:
        out = {'expert': evaluate(sim, expert_policy(sim, ScriptedExpert(
            sim.geometry, sim.joint_names)), seeds, duration_s=duration_s)}
        if dataset is not None:
            from imitation_ros.data.sim_demos import blind_replay_policy

            out['blind_replay'] = evaluate(sim, blind_replay_policy(dataset), seeds,
                                           duration_s=duration_s)
    finally:
        sim.close()
    return out
