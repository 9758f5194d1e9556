"""Policy output -> safe joint command, one control period at a time, never waiting.

``PolicyController.tick(now, obs, obs_time)`` is the whole control period: it hands the
worker a request when the executing chunk would run out before a new one can arrive (the
measured p99 latency plus a margin ahead), picks up a finished chunk (rows already in the
past are skipped: row k executes at the time it was predicted for), samples the plan (seam
crossfade or temporal ensembling), ramps in after ``~/enable`` and passes the result through
the :class:`SafetyFilter`. The forward pass runs in the worker (:mod:`.worker`), so a tick
costs microseconds however slow the policy is.

The policy node and ``imitation-ros eval-sim`` both run this class; only the worker and the
clock differ (thread + ROS clock; inline or deferred + the simulator's clock).
"""
from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.deploy.latency import LatencyTracker
from imitation_ros.deploy.plan import Plan
from imitation_ros.deploy.worker import (
    ChunkPolicy,
    InferenceRequest,
    InferenceResult,
    InlineWorker,
    Worker,
    history_of,
)
from imitation_ros.errors import ConfigError
from imitation_ros.profile.keys import OBS_STATE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

    from imitation_ros.deploy.safety import SafetyFilter, SafetyVerdict

logger = logging.getLogger(__name__)

__all__ = ['ChunkPolicy', 'ControllerConfig', 'PolicyController', 'TickResult']


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerConfig:
    """How chunks are scheduled, joined and ramped in (times in s)."""

    period_s: float                      # control period
    blend_steps: int = 3                 # seam crossfade, periods; 0 = switch at once
    ensemble_coeff: float | None = None  # ACT temporal ensembling m; None = off
    latency_margin_s: float = 0.0        # request this much earlier than p99 latency needs
    latency_prior_s: float = 0.1         # latency assumed before the first measurement
    latency_window: int = 100            # measurements the p50/p99 cover
    max_plan_age_s: float = 0.0          # hold when the row's observation is older; 0 = off
    enable_ramp_s: float = 0.0           # ramp from the measured pose to the policy's

    def __post_init__(self) -> None:
        if not self.period_s > 0:
            msg = f'period_s must be > 0, got {self.period_s}'
            raise ConfigError(msg)
        for name in ('latency_margin_s', 'latency_prior_s', 'max_plan_age_s', 'enable_ramp_s'):
            if getattr(self, name) < 0:
                msg = f'{name} must be >= 0, got {getattr(self, name)}'
                raise ConfigError(msg)


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one control period decided."""

    verdict: SafetyVerdict
    row_time_s: float | None = None       # time the executed row was predicted for
    obs_time_s: float | None = None       # observation time of the chunk it came from
    traj_offsets_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    traj_points: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))


class PolicyController:
    """Runs a chunking policy behind the safety filter, without blocking the tick.

    Args:
        policy: Maps an observation dict to an action chunk (T, n), row 0 = the action for
            the time the observation was taken.
        safety: The safety filter (limits, step cap, lead, stale/NaN hold).
        ensemble_coeff: Shorthand for ``config.ensemble_coeff`` (when no config is given).
        config: Scheduling; default: the safety filter's period, stop-the-world friendly.
        worker: Where forward passes run; default :class:`InlineWorker` (at once).
    """

    def __init__(self, policy: ChunkPolicy, safety: SafetyFilter, *,
                 ensemble_coeff: float | None = None, config: ControllerConfig | None = None,
                 worker: Worker | None = None) -> None:
        if config is None:
            if safety.period_s is None:
                msg = 'PolicyController: give a config with period_s (the filter has none)'
                raise ConfigError(msg)
            config = ControllerConfig(period_s=safety.period_s, ensemble_coeff=ensemble_coeff)
        self.policy = policy
        self.safety = safety
        self.config = config
        self.worker: Worker = worker if worker is not None else InlineWorker(policy)
        self.plan = Plan(config.period_s, blend_steps=config.blend_steps,
                         ensemble_coeff=config.ensemble_coeff)
        self.latency = LatencyTracker(config.latency_window, config.latency_prior_s)
        self.n_obs_steps = max(1, int(getattr(policy, 'n_obs_steps', 1)))
        self._history: deque[Mapping[str, Any]] = deque(maxlen=self.n_obs_steps)
        self._epoch = 0
        self._error = ''
        self._ramp_from: NDArray[np.float64] | None = None
        self._ramp_t0 = 0.0
        self._ramp_armed = config.enable_ramp_s > 0
        self._had_plan = False
        self._last_cmd: NDArray[np.float64] | None = None
        self.ticks = 0
        self.inferences = 0
        self.stalls = 0
        self.errors = 0
        self.holds: Counter[str] = Counter()
        self.max_step_rad = 0.0
        self.max_seam_step_rad = 0.0
        self._step_sums = {True: [0.0, 0], False: [0.0, 0]}     # seam tick? -> [sum, n]

    @property
    def seams(self) -> int:
        """Chunks that replaced one still executing."""
        return self.plan.seams

    def reset(self) -> None:
        """Start over: drop chunks, in-flight results and the history (enable, reset).

        The next command ramps in again when ``enable_ramp_s`` is set; the safety filter
        marks a boundary (``SafetyFilter.mark_boundary``): that command is still capped
        from the last one sent.
        """
        self._epoch += 1
        self.worker.cancel()
        self.plan.clear()
        self.safety.mark_boundary()
        self._history.clear()
        self._error = ''
        self._ramp_from = None
        self._ramp_armed = self.config.enable_ramp_s > 0
        self._had_plan = False
        self._last_cmd = None

    def close(self) -> None:
        """Stop the worker."""
        self.worker.close()

    def queue_depth(self, now_s: float) -> int:
        """Rows meant for execution left after ``now_s``."""
        return self.plan.rows_left(now_s)

    def stats(self, now_s: float) -> dict[str, float | int]:
        """Counters and latency percentiles for diagnostics (latencies in ms)."""
        out: dict[str, float | int] = {
            'ticks': self.ticks, 'inferences': self.inferences,
            'latency_p50_ms': round(self.latency.p50 * 1e3, 2),
            'latency_p99_ms': round(self.latency.p99 * 1e3, 2),
            'queue_depth': self.queue_depth(now_s), 'seams': self.seams,
            'stalls': self.stalls, 'dropped_rows': self.plan.dropped_rows,
            'policy_errors': self.errors,
            'max_seam_step_rad': round(self.max_seam_step_rad, 5),
            'mean_seam_step_rad': round(self.mean_step(seam=True), 5),
            'mean_step_rad': round(self.mean_step(seam=False), 5)}
        out.update({f'hold_{k}': v for k, v in sorted(self.holds.items())})
        return out

    def mean_step(self, *, seam: bool) -> float:
        """Mean of the largest joint step per period, at seams or elsewhere, rad."""
        total, n = self._step_sums[seam]
        return total / n if n else 0.0

    def tick(self, now_s: float, obs: Mapping[str, Any] | None, obs_time_s: float | None,
             *, missing: str = '', trajectory: bool = False) -> TickResult:
        """Decide this period's command.

        Args:
            now_s: Controller time, s (node clock, or the simulator's).
            obs: The newest complete observation (feature key -> array), or None when a
                stream is missing or too old.
            obs_time_s: When it was taken (its oldest stream's stamp), s.
            missing: Why ``obs`` is None (named in the hold).
            trajectory: Also return the rest of the chunk, filtered point by point.
        """
        self.ticks += 1
        took = self._collect(now_s)          # a chunk may land while a stream is missing
        if obs is None or obs_time_s is None:
            return self._held(self.safety.hold(
                f'observation incomplete: {missing or "no observation"}', 'missing_stream'))
        age = now_s - obs_time_s
        measured = np.asarray(obs[OBS_STATE], dtype=np.float64).reshape(-1)
        fresh = age <= self.safety.config.stale_obs_s and bool(np.all(np.isfinite(measured)))
        if fresh:
            self._history.append(obs)
            if not self.worker.busy and self._wants_chunk(now_s):
                self.worker.submit(InferenceRequest(
                    history_of(self._history, self.n_obs_steps), obs_time_s, now_s,
                    self._epoch))
                took = self._collect(now_s) or took     # an inline worker answers at once
        sample = self.plan.sample(now_s)
        if sample is None:
            if self._error:
                kind, why = 'policy_error', f'policy failed: {self._error}'
            elif self._had_plan:
                self.stalls += 1
                kind, why = 'stall', 'no chunk covers now: inference later than the queue'
            else:
                kind, why = 'no_chunk_yet', 'waiting for the first chunk'
            return self._held(self.safety.filter(None, measured, age, reason=why, kind=kind))
        if self.config.max_plan_age_s and now_s - sample.obs_time_s > self.config.max_plan_age_s:
            return self._held(self.safety.filter(
                None, measured, age, kind='plan_too_old',
                reason=f'row from an observation {now_s - sample.obs_time_s:.3f} s old > '
                       f'max_plan_age_s {self.config.max_plan_age_s}'))
        action = self._ramp(sample.action, measured, now_s)
        seam_tick = sample.blending or took
        verdict = self.safety.filter(action, measured, age, now_s=now_s)
        if verdict.action == 'hold':
            return self._held(verdict)
        if self._last_cmd is not None and verdict.command is not None:
            step = float(np.max(np.abs(verdict.command - self._last_cmd)))
            self.max_step_rad = max(self.max_step_rad, step)
            if seam_tick:
                self.max_seam_step_rad = max(self.max_seam_step_rad, step)
            acc = self._step_sums[bool(seam_tick)]
            acc[0] += step
            acc[1] += 1
        self._last_cmd = verdict.command
        offsets, points = (np.zeros(0), np.zeros((0, 0)))
        if trajectory and verdict.command is not None:
            offsets, raw = self.plan.future(now_s)
            if len(raw):
                raw = np.stack([self._ramp(p, measured, now_s + dt, advance=False)
                                for p, dt in zip(raw, offsets, strict=True)])
                points = self.safety.filter_trajectory(verdict.command, offsets, raw)
        return TickResult(verdict, sample.row_time_s, sample.obs_time_s, offsets, points)

    def _held(self, verdict: SafetyVerdict) -> TickResult:
        self.holds[verdict.kind or 'other'] += 1
        return TickResult(verdict)

    def _wants_chunk(self, now_s: float) -> bool:
        if self._error:
            return True
        if self.config.ensemble_coeff is not None or self.plan.newest is None:
            return True
        lead = self.latency.p99 + self.config.latency_margin_s
        return self.plan.time_left_s(now_s) <= lead + 1e-9

    def _collect(self, now_s: float) -> bool:
        res = self.worker.poll(now_s)
        return res is not None and res.request.epoch == self._epoch and self._take(res, now_s)

    def _take(self, res: InferenceResult, now_s: float) -> bool:
        """Take a result into the plan; True when a chunk was added."""
        self.inferences += 1
        self.latency.add(now_s - res.request.request_time_s)
        if res.chunk is None:
            self.errors += 1
            self._error = res.error
            self.plan.clear()
            logger.warning('policy failed, holding: %s', res.error)
            return False
        self._error = ''
        self.plan.add(res.chunk, obs_time_s=res.request.obs_time_s, now_s=now_s,
                      n_exec=res.n_exec)
        self._had_plan = True
        return True

    def _ramp(self, action: NDArray[np.float64], measured: NDArray[np.float64], t_s: float,
              *, advance: bool = True) -> NDArray[np.float64]:
        """Blend from the pose measured at the first command to the policy's, over the ramp."""
        if not self._ramp_armed:
            return action
        if self._ramp_from is None:
            if not advance:
                return action
            self._ramp_from, self._ramp_t0 = measured.copy(), t_s
        a = min(1.0, (t_s - self._ramp_t0) / self.config.enable_ramp_s)
        if a >= 1.0 and advance:
            self._ramp_armed = False
        return self._ramp_from + a * (np.asarray(action, dtype=np.float64) - self._ramp_from)
