"""Run episodes in-process: the scripted expert (or any policy) driving a :class:`SimRobot`.

The evaluation loop the training side uses too: one command per control period (1 / fps),
success read from the sim at the end of the episode. No ROS involved.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.stats import Rate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from numpy.typing import NDArray

    from imitation_ros.sim.base import SimRobot
    from imitation_ros.sim.expert import ScriptedExpert

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EpisodeResult:
    """Outcome of one episode."""

    seed: int | None
    success: bool
    steps: int                       # control periods run
    max_lift_m: float = 0.0          # highest cube lift seen (ArmSim tasks), m
    clamped: int = 0                 # commands altered by the clamp during the episode


@dataclass(frozen=True, slots=True)
class EvalSummary:
    """Outcome of several episodes."""

    results: tuple[EpisodeResult, ...] = field(default_factory=tuple)

    @property
    def n(self) -> int:
        """Number of episodes."""
        return len(self.results)

    @property
    def successes(self) -> int:
        """Number of successful episodes."""
        return sum(r.success for r in self.results)

    @property
    def success_rate(self) -> float:
        """Fraction of successful episodes (0 when none ran)."""
        return self.successes / self.n if self.n else 0.0

    @property
    def rate(self) -> Rate:
        """Successes of n with the Wilson 95 % interval (``str()`` prints all three)."""
        return Rate(self.successes, self.n)


def run_episode(
    sim: SimRobot,
    policy: Callable[[dict[str, Any], float], NDArray[np.floating]],
    *,
    seed: int | None,
    duration_s: float,
    images: bool = False,
    on_frame: Callable[[dict[str, Any], NDArray[np.float64]], None] | None = None,
) -> EpisodeResult:
    """Reset ``sim`` with ``seed`` and run ``policy`` for ``duration_s``.

    Args:
        sim: The simulated robot.
        policy: Called once per control period with (observation, time since reset in s);
            returns the joint target.
        seed: Episode seed.
        duration_s: Episode length, s.
        images: Render camera images into the observations (slower).
        on_frame: Called with (observation, action) each period (e.g. to record a dataset).

    Returns:
        The result; success is the sim's success check at the end of the episode.
    """
    clamped0 = sim.clamp_count
    sim.reset(seed)
    obs = sim.observation(images=images)
    n = max(1, round(duration_s / sim.control_period_s))
    max_lift = 0.0
    names = sim.task_state_names
    lift_i = names.index('lift_m') if 'lift_m' in names else None
    for _ in range(n):
        action = np.asarray(policy(obs, sim.time_s), dtype=np.float64)
        if on_frame is not None:
            on_frame(obs, action)
        sim.set_command(action)
        sim.advance(sim.control_period_s)
        obs = sim.observation(images=images)
        if lift_i is not None:
            max_lift = max(max_lift, float(sim.task_state()[lift_i]))
    return EpisodeResult(seed=seed, success=bool(sim.success()), steps=n, max_lift_m=max_lift,
                         clamped=sim.clamp_count - clamped0)


def expert_policy(sim: SimRobot, expert: ScriptedExpert
                  ) -> Callable[[dict[str, Any], float], NDArray[np.floating]]:
    """Wrap a scripted expert as a policy of :func:`run_episode` (reads privileged state)."""
    def policy(obs: dict[str, Any], t_s: float) -> NDArray[np.floating]:
        del obs
        if t_s == 0.0:
            expert.reset()
        return expert.act(sim.task_state(), sim.joint_positions(), t_s)

    return policy


def evaluate(
    sim: SimRobot,
    policy: Callable[[dict[str, Any], float], NDArray[np.floating]],
    seeds: Iterable[int],
    *,
    duration_s: float,
    images: bool = False,
    progress: bool = False,
) -> EvalSummary:
    """Run one episode per seed and collect the results (tqdm bar when ``progress``)."""
    seeds = list(seeds)
    it: Iterable[int] = seeds
    if progress:
        from tqdm import tqdm

        it = tqdm(seeds, desc='episodes', unit='ep')
    results = []
    for seed in it:
        res = run_episode(sim, policy, seed=seed, duration_s=duration_s, images=images)
        logger.debug('episode seed %s: success=%s lift=%.3f m', seed, res.success, res.max_lift_m)
        results.append(res)
    return EvalSummary(tuple(results))
