"""The DAgger gate core: one control tick from the latest inputs to one safe command.

:class:`DaggerCore` is everything ``dagger_node`` does, without ROS: it keeps the newest
policy command, leader-arm pose, measured pose and Joy deadman state (with their arrival
times), and at every control tick

1. steps the :class:`~imitation_ros.dagger.gate.ControlGate` (Joy, service, deviation);
2. picks the executed stream (:func:`~imitation_ros.dagger.modes.expert_executes`);
3. on a handover either way, starts the :class:`~imitation_ros.dagger.ramp.HandoverRamp` from
   the last executed command (the measured pose before any) and, when the policy gets
   control back, asks the caller to reset the policy's chunks. The safety filter keeps its
   memory of the last executed command across the handover, so the first command after it
   is capped from that command, not from the (lagging) measured pose;
4. holds when the executed stream is stale (older than its ``*_stale_s``) or missing: the
   last command that passed is re-sent, or nothing before any passed -- never zeros;
5. passes the command through the safety filter (:class:`~imitation_ros.dagger.safety.GateSafety`:
   the policy node's filter built from the profile), which caps each joint's step at its
   velocity limit times the time since the last command -- a tick run early (an override
   acted on at once) moves less, and a faster rate does not move faster.

It counts interventions, time under each controller and handover latency (input arrival to
the tick that switched) for the diagnostics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.dagger.gate import ControlGate, GateConfig
from imitation_ros.dagger.modes import ModeConfig, expert_executes, mode_rng
from imitation_ros.dagger.ramp import HandoverRamp
from imitation_ros.errors import ConfigError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from imitation_ros.dagger.safety import GateSafety


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreConfig:
    """Timing of the core (s)."""

    ramp_s: float = 0.5               # handover blend time, both directions
    policy_stale_s: float = 0.2       # policy command older than this: hold
    leader_stale_s: float = 0.2       # leader pose older than this: hold (and no deviation)
    joy_stale_s: float = 0.5          # Joy older than this counts as released

    def __post_init__(self) -> None:
        for name in ('policy_stale_s', 'leader_stale_s', 'joy_stale_s'):
            if not 0 < getattr(self, name) < np.inf:
                msg = f'dagger {name} must be > 0 and finite, got {getattr(self, name)}'
                raise ConfigError(msg)
        if not 0 <= self.ramp_s < np.inf:
            msg = f'dagger ramp_s must be >= 0 and finite, got {self.ramp_s}'
            raise ConfigError(msg)


@dataclass(frozen=True, slots=True)
class InterventionRecord:
    """A change of control (what ``InterventionEvent`` carries)."""

    t_s: float
    human_in_control: bool
    source: str


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one tick decided."""

    command: NDArray[np.float64] | None     # None: publish nothing
    human: bool                             # the gate gives the person control
    expert_executed: bool                   # the executed stream is the expert's
    action: str                             # safety verdict: pass, clamped, step_capped, hold
    reasons: tuple[str, ...] = ()
    event: InterventionRecord | None = None  # set on the tick the gate switched
    reset_policy: bool = False              # control returned: reset the policy's chunks
    latency_s: float | None = None          # on a switch: input arrival -> this tick


@dataclass
class _Stream:
    value: NDArray[np.float64] | None = None
    t_s: float = -np.inf

    def fresh(self, now_s: float, stale_s: float) -> NDArray[np.float64] | None:
        if self.value is None or now_s - self.t_s > stale_s:
            return None
        return self.value


@dataclass
class CoreStats:
    """Counters for the diagnostics."""

    ticks: int = 0
    interventions: int = 0
    expert_s: float = 0.0
    policy_s: float = 0.0
    holds: int = 0
    latencies_s: list[float] = field(default_factory=list)

    def latency_p(self, q: float) -> float:
        """The ``q``-quantile (0..1) of the handover latencies, s (nan when none)."""
        return float(np.quantile(self.latencies_s, q)) if self.latencies_s else float('nan')


class DaggerCore:
    """Gate + handover ramp + mode + safety filter (see module docstring)."""

    def __init__(self, safety: GateSafety, *, gate: GateConfig | None = None,
                 mode: ModeConfig | None = None, config: CoreConfig | None = None,
                 seed: int | None = None) -> None:
        """Create the core.

        Args:
            safety: The safety filter adapter every command passes.
            gate: Triggers and hysteresis.
            mode: HG-DAgger, classic or label-only, and beta.
            config: Ramp and staleness times.
            seed: Seed of the classic-mode draws.
        """
        self.safety = safety
        self.gate = ControlGate(gate or GateConfig())
        self.mode = mode or ModeConfig()
        self.config = config or CoreConfig()
        self.ramp = HandoverRamp(self.config.ramp_s)
        self.rng = mode_rng(seed)
        self.stats = CoreStats()
        self.policy = _Stream()
        self.leader = _Stream()
        self.measured = _Stream()
        self.joy: bool = False
        self.joy_t = -np.inf
        self.service_t = -np.inf
        self.expert_active = False
        self._last_tick: float | None = None

    # inputs ------------------------------------------------------------------------------
    def on_policy(self, values: NDArray[np.floating], t_s: float) -> None:
        """A policy command arrived (non-finite values are kept: they make the tick hold)."""
        self.policy = _Stream(np.asarray(values, np.float64).reshape(-1).copy(), t_s)

    def on_leader(self, values: NDArray[np.floating], t_s: float) -> None:
        """A leader-arm (expert) pose arrived."""
        self.leader = _Stream(np.asarray(values, np.float64).reshape(-1).copy(), t_s)

    def on_measured(self, values: NDArray[np.floating], t_s: float) -> None:
        """A measured follower pose arrived."""
        self.measured = _Stream(np.asarray(values, np.float64).reshape(-1).copy(), t_s)

    def on_joy(self, pressed: bool, t_s: float) -> None:
        """A Joy message arrived (``pressed``: the deadman button is held)."""
        self.joy, self.joy_t = bool(pressed), t_s

    def on_service(self, human: bool, t_s: float) -> None:
        """The SetBool service was called (true: the person takes over)."""
        self.gate.set_service(human)
        self.service_t = t_s

    def reset(self, *, forget_last: bool = False) -> None:
        """New episode: the policy commands, no ramp; a boundary of the filter.

        The filter keeps its last command: the next one is still capped from it (see
        ``SafetyFilter.mark_boundary``). ``forget_last``: the arm was put at a new pose
        without this core (a simulated episode reset): the next command steps from the
        measured pose.
        """
        self.gate.reset()
        self.ramp.cancel()
        if forget_last:
            self.safety.forget()
        else:
            self.safety.reset()
        self.expert_active = False
        self._last_tick = None

    # tick --------------------------------------------------------------------------------
    def tick(self, now_s: float) -> TickResult:
        """One control period at ``now_s`` (see module docstring)."""
        cfg, st = self.config, self.stats
        measured = self.measured.fresh(now_s, self.safety.stale_obs_s)
        leader = self.leader.fresh(now_s, cfg.leader_stale_s)
        policy = self.policy.fresh(now_s, cfg.policy_stale_s)
        joy = self.joy if now_s - self.joy_t <= cfg.joy_stale_s else False
        dec = self.gate.step(now_s, joy=joy, leader=leader, follower=measured)
        event = latency = None
        reset_policy = False
        if dec.changed:
            event = InterventionRecord(now_s, dec.human, dec.source or 'release')
            # blend from the last executed command (before any, the measured pose); the
            # filter keeps it too, so the step stays capped from what was last sent
            last = self.safety.last
            self.ramp.start(last if last is not None else measured, now_s)
            if dec.human:
                st.interventions += 1
            else:
                reset_policy = True
            src = dec.source if dec.human else self._release_source()
            t_in = {'joy': self.joy_t, 'service': self.service_t,
                    'deviation': self.leader.t_s}.get(src, now_s)
            latency = max(0.0, now_s - t_in) if np.isfinite(t_in) else None
            if latency is not None:
                st.latencies_s.append(latency)
        expert = expert_executes(self.mode, dec.human, self.rng)
        self.expert_active = expert
        dt = 0.0 if self._last_tick is None else max(0.0, now_s - self._last_tick)
        self._last_tick = now_s
        st.ticks += 1
        if dec.human:
            st.expert_s += dt
        else:
            st.policy_s += dt
        target = leader if expert else policy
        obs_age = None if measured is None else now_s - self.measured.t_s
        if target is None:
            name = 'leader (expert)' if expert else 'policy'
            out = self.safety.hold(f'{name} command missing or stale')
        else:
            cmd = self.ramp.apply(target, now_s)
            out = self.safety.filter(cmd, measured, obs_age, now_s=now_s)
        if out.action == 'hold':
            st.holds += 1
        return TickResult(out.command, dec.human, expert, out.action, out.reasons, event,
                          reset_policy, latency)

    def _release_source(self) -> str:
        # which input released control: the most recent of joy/service/leader
        times = {'joy': self.joy_t, 'service': self.service_t, 'deviation': self.leader.t_s}
        enabled = {k: v for k, v in times.items() if k in self.gate.config.triggers}
        return max(enabled, key=enabled.__getitem__) if enabled else ''
