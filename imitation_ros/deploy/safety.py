"""The safety filter every joint command passes before it leaves the suite.

Rules, in order:

1. No observation yet, a stale one (older than ``stale_obs_s``) or a non-finite one: hold.
   So is a measured position more than ``state_limit_tolerance_rad`` outside the joint limits
   (a wrong profile, units or joint order, or a sensor fault: no command can be justified
   from it).
2. A non-finite or wrongly sized command: hold.
3. Clamp to the joint limits (``lower_rad``/``upper_rad``, shrunk by ``limit_margin_rad``).
4. Keep the target within ``max_lead_rad`` of the measured position (when set), so a blocked
   or lagging arm is never handed a target far ahead of where it is.
5. Cap the step from the last command sent (or the measured position when none was sent):
   per joint, ``max_velocity_rad_s`` (the profile's) x ``velocity_scale`` x the time elapsed
   since that command (given ``now_s``; at most one control period, so a late tick never
   catches up and a faster rate never moves faster), and at most ``max_step_rad`` scaled the
   same way when that is set. The cap comes last, so nothing, not even a jump of the
   measured position, makes the command step further than it.

Boundaries (enable, reset, a change of who commands) call :meth:`SafetyFilter.mark_boundary`:
the filter keeps the last command it passed, so the first command after the boundary is
still capped from it -- two consecutive commands never differ by more than the cap. Only
when the arm is not near that command any more (further than ``max_lead_rad`` plus one step
cap on some joint: it was moved, reset or another controller commanded it while this filter
was silent) the step starts from the measured pose instead, which moves the target towards
the arm, never away from it. :meth:`SafetyFilter.reset` forgets the last command outright
(a simulated arm teleported to a new pose, a proposal that was never executed).

"Hold" re-sends the last command that passed (the arm keeps its target), or, before any was
sent, returns ``None`` so the caller publishes nothing. A zero vector is never invented.
Every hold carries a ``kind`` (a short key for counting: ``stale``, ``non_finite`` ...) and a
``reason`` naming the joint, stream or limit involved.

:meth:`SafetyFilter.filter_trajectory` applies rules 3 to 5 to every point of a trajectory,
point after point (the step between points capped at the velocity limit times their spacing;
the lead limit applies when the measured pose is given).

Every cap is required to be finite: :class:`SafetyConfig` refuses inf, nan and negative
values with the parameter's name, and :meth:`SafetyFilter.from_profile` refuses a profile
that does not state ``joints.max_velocity_rad_s``.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Literal

import numpy as np

from imitation_ros.errors import ConfigError, SafetyError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from imitation_ros.profile import RobotProfile


@dataclass(frozen=True, slots=True, kw_only=True)
class SafetyConfig:
    """Limits applied to every command before it leaves deploy/."""

    max_step_rad: float = 0.0          # extra cap on any joint's change per period; 0 = none
    velocity_scale: float = 1.0        # step cap = max_velocity_rad_s x this x period
    stale_obs_s: float = 0.2           # hold when the newest observation is older than this
    limit_margin_rad: float = 0.0      # keep this far inside the joint limits
    max_lead_rad: float = 0.0          # target at most this far from measured; 0 = no limit
    state_limit_tolerance_rad: float = 0.2  # hold when measured is further outside the limits

    @classmethod
    def from_params(cls, params: object, node: str) -> SafetyConfig:
        """Take the fields of the same names from a node's parameters (policy and DAgger node).

        Raises ``ConfigError`` prefixed with ``node`` and naming the parameter.
        """
        try:
            return cls(**{f.name: getattr(params, f.name) for f in fields(cls)})
        except ConfigError as err:
            msg = f'{node}: {err}'
            raise ConfigError(msg) from None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, numbers.Real) or not math.isfinite(value):
                msg = f'parameter {f.name} must be a finite number, got {value!r}'
                raise ConfigError(msg)
        if self.max_step_rad < 0:
            msg = f'max_step_rad must be >= 0 (0 = velocity limit only), got {self.max_step_rad}'
            raise ConfigError(msg)
        if not 0 < self.velocity_scale <= 1.0:
            msg = f'velocity_scale must be in (0, 1], got {self.velocity_scale}'
            raise ConfigError(msg)
        if not self.stale_obs_s > 0:
            msg = f'stale_obs_s must be > 0, got {self.stale_obs_s}'
            raise ConfigError(msg)
        if self.limit_margin_rad < 0:
            msg = f'limit_margin_rad must be >= 0, got {self.limit_margin_rad}'
            raise ConfigError(msg)
        if self.max_lead_rad < 0:
            msg = f'max_lead_rad must be >= 0 (0 = off), got {self.max_lead_rad}'
            raise ConfigError(msg)
        if self.state_limit_tolerance_rad < 0:
            msg = f'state_limit_tolerance_rad must be >= 0, got {self.state_limit_tolerance_rad}'
            raise ConfigError(msg)


Action = Literal['pass', 'clamped', 'step_capped', 'hold']


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    """What the filter decided for one command."""

    command: NDArray[np.float64] | None     # None: publish nothing
    action: Action
    reasons: tuple[str, ...] = ()
    kind: str = ''                          # hold kind (stale, non_finite, ...); '' if none


@dataclass
class SafetyFilter:
    """Stateful filter: remembers the last command that passed.

    Args:
        lower: Lower joint limits, rad.
        upper: Upper joint limits, rad.
        config: The limits of :class:`SafetyConfig`.
        joint_names: Names used in messages.
        max_velocity: Per-joint velocity limits, rad/s (None: ``max_step_rad`` alone caps).
        period_s: Control period, s (with ``max_velocity``, gives the step cap).
    """

    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    config: SafetyConfig = field(default_factory=SafetyConfig)
    joint_names: tuple[str, ...] = ()
    max_velocity: NDArray[np.float64] | None = None
    period_s: float | None = None
    _last: NDArray[np.float64] | None = None
    _last_t: float | None = None
    _boundary: bool = False
    _state_lo: NDArray[np.float64] = field(init=False, repr=False)
    _state_hi: NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tol = self.config.state_limit_tolerance_rad
        self._state_lo = np.asarray(self.lower, dtype=np.float64) - tol
        self._state_hi = np.asarray(self.upper, dtype=np.float64) + tol
        self.lower = np.asarray(self.lower, dtype=np.float64) + self.config.limit_margin_rad
        self.upper = np.asarray(self.upper, dtype=np.float64) - self.config.limit_margin_rad
        if self.lower.shape != self.upper.shape or np.any(self.lower >= self.upper):
            msg = 'joint limits (after margin) must satisfy lower < upper for every joint'
            raise SafetyError(msg)
        if self.max_velocity is not None:
            self.max_velocity = np.asarray(self.max_velocity, dtype=np.float64)
            if self.max_velocity.shape != self.lower.shape or np.any(self.max_velocity <= 0):
                msg = f'max_velocity must be > 0 for each joint, got {self.max_velocity}'
                raise SafetyError(msg)
            if not np.all(np.isfinite(self.max_velocity)):
                msg = f'max_velocity must be finite for each joint, got {self.max_velocity}'
                raise SafetyError(msg)
            if self.period_s is None or not (0 < self.period_s < math.inf):
                msg = f'period_s must be > 0 with max_velocity, got {self.period_s}'
                raise SafetyError(msg)
        elif self.config.max_step_rad <= 0:
            msg = 'no step cap: give max_velocity and period_s, or max_step_rad > 0'
            raise SafetyError(msg)

    @classmethod
    def from_profile(cls, profile: RobotProfile, config: SafetyConfig | None = None, *,
                     period_s: float | None = None) -> SafetyFilter:
        """Build the filter from a profile's joint limits and velocity limits.

        Args:
            profile: The robot profile.
            config: The filter's limits.
            period_s: Control period, s (default ``1 / profile.fps``).

        Raises:
            ConfigError: The profile does not state ``joints.max_velocity_rad_s``.
        """
        if not profile.limits.velocity_stated:
            msg = (f'{profile.path or profile.name}: joints.max_velocity_rad_s is required to '
                   'command an arm (the per-joint speed cap of the safety filter); state the '
                   "arm's velocity limits, rad/s, one per joint")
            raise ConfigError(msg)
        return cls(np.array(profile.limits.lower_rad), np.array(profile.limits.upper_rad),
                   config or SafetyConfig(), tuple(profile.joint_names),
                   np.array(profile.limits.max_velocity_rad_s),
                   period_s or 1.0 / profile.fps)

    def step_cap(self, dt_s: float | None = None) -> NDArray[np.float64]:
        """Largest change of each joint over ``dt_s`` (default one period), rad.

        ``max_step_rad`` is per period: over ``dt_s`` it scales by ``dt_s / period_s``.
        """
        n = self.lower.shape[0]
        cap = np.full(n, np.inf)
        if self.max_velocity is not None:
            dt = self.period_s if dt_s is None else dt_s
            cap = self.max_velocity * self.config.velocity_scale * dt
        if self.config.max_step_rad > 0:
            k = 1.0 if dt_s is None or self.period_s is None else dt_s / self.period_s
            cap = np.minimum(cap, self.config.max_step_rad * k)
        return cap

    @property
    def last_command(self) -> NDArray[np.float64] | None:
        """The last command that passed (a copy), or None."""
        return None if self._last is None else self._last.copy()

    @property
    def last_time_s(self) -> float | None:
        """When the last command passed (the ``now_s`` it was given), or None."""
        return self._last_t

    def reset(self) -> None:
        """Forget the last command outright: the next one steps from the measured pose.

        Only for an arm whose target is known to have changed without this filter (a
        simulated arm teleported to a new pose, a proposal that was never executed). At a
        boundary of a real arm call :meth:`mark_boundary`.
        """
        self._last = None
        self._last_t = None
        self._boundary = False

    def mark_boundary(self) -> None:
        """Enable, reset or hand-back: keep stepping from the last command (module docstring).

        The next command is capped from the last one that passed, unless the arm is
        further than ``max_lead_rad`` plus one step cap from it on some joint (then from the
        measured pose).
        """
        self._boundary = self._last is not None

    def _dt(self, now_s: float | None) -> float | None:
        """Time the next step may cover: since the last command, at most one period.

        None (one period) without times, or when the clock went back (a new simulated
        episode restarting its clock).
        """
        if now_s is None or self._last_t is None or self.period_s is None \
                or now_s < self._last_t:
            return None
        return min(now_s - self._last_t, self.period_s)

    def hold(self, reason: str, kind: str = 'other') -> SafetyVerdict:
        """Hold: the last command that passed (None before any), with the reason."""
        cmd = None if self._last is None else self._last.copy()
        return SafetyVerdict(cmd, 'hold', (reason,), kind)

    _hold = hold

    def filter(
        self,
        command: NDArray[np.floating] | list[float] | None,
        measured: NDArray[np.floating] | None,
        obs_age_s: float | None,
        *,
        reason: str = 'no command',
        kind: str = 'no_command',
        now_s: float | None = None,
    ) -> SafetyVerdict:
        """Return the command to send for a policy output.

        Args:
            command: The policy's joint target, in the profile's joint order.
            measured: The newest measured joint positions (same order), or None.
            obs_age_s: Age of the newest observation the command was computed from.
            reason: Why ``command`` is None, when it is (logged with the hold).
            kind: Hold kind counted when ``command`` is None.
            now_s: Time of this command, s (any monotonic clock): the step cap covers the
                time since the last command, at most one period. None: one period.
        """
        n = self.lower.shape[0]
        if measured is None or obs_age_s is None:
            return self._hold('no observation yet', 'no_observation')
        if obs_age_s > self.config.stale_obs_s:
            return self._hold(f'observation stale: {obs_age_s:.3f} s > '
                              f'{self.config.stale_obs_s} s', 'stale')
        meas = np.asarray(measured, dtype=np.float64)
        if meas.shape != (n,) or not np.all(np.isfinite(meas)):
            return self._hold('measured joint positions non-finite or wrong size',
                              'bad_state')
        out_of = np.flatnonzero((meas < self._state_lo) | (meas > self._state_hi))
        if out_of.size:
            return self._hold(
                'measured position outside the joint limits by more than '
                f'{self.config.state_limit_tolerance_rad} rad: '
                + ', '.join(f'{self._name(i)} {meas[i]:.3f}' for i in out_of)
                + ' (check the profile: limits, units, joint order)', 'state_out_of_limits')
        if command is None:
            return self._hold(reason, kind)
        cmd = np.asarray(command, dtype=np.float64).reshape(-1)
        if cmd.shape != (n,):
            return self._hold(f'command has {cmd.size} values, expected {n}', 'bad_size')
        if not np.all(np.isfinite(cmd)):
            bad = [self._name(i) for i in np.flatnonzero(~np.isfinite(cmd))]
            return self._hold(f'non-finite command for {bad}', 'non_finite')
        reasons: list[str] = []
        action: Action = 'pass'
        clamped = np.clip(cmd, self.lower, self.upper)
        if not np.array_equal(clamped, cmd):
            idx = np.flatnonzero(clamped != cmd)
            reasons.append(f'clamped to limits: {[self._name(i) for i in idx]}')
            action = 'clamped'
        target = clamped
        if self.config.max_lead_rad > 0:
            lead = self.config.max_lead_rad
            target = np.clip(target, meas - lead, meas + lead)
        cap = self.step_cap(self._dt(now_s))
        ref = meas if self._last is None else self._last
        if self._boundary and np.any(np.abs(ref - meas) > self._near_rad()):
            reasons.append('boundary: the arm is not near the last command, stepping from '
                           'the measured pose')
            ref = meas
        out = ref + np.clip(target - ref, -cap, cap)
        if not np.allclose(out, clamped):
            idx = np.flatnonzero(~np.isclose(out, clamped))
            reasons.append(f'step capped (velocity {self.config.velocity_scale:g} x limit'
                           f'{", lead " + str(self.config.max_lead_rad) if self.config.max_lead_rad else ""}'
                           f'): {[self._name(i) for i in idx]}')
            action = 'step_capped'
        out = np.clip(out, self.lower, self.upper)
        self._last, self._last_t, self._boundary = out, now_s, False
        return SafetyVerdict(out.copy(), action, tuple(reasons))

    def _near_rad(self) -> NDArray[np.float64]:
        """How far the arm may be from the last command and still be heading to it, rad."""
        lead = self.config.max_lead_rad
        if lead <= 0:
            return np.full(self.lower.shape, np.inf)     # no lead limit: always continue
        return lead + self.step_cap()

    def filter_trajectory(self, start: NDArray[np.floating], times_s: NDArray[np.floating],
                          points: NDArray[np.floating],
                          measured: NDArray[np.floating] | None = None) -> NDArray[np.float64]:
        """Clamp every point to the limits and cap each step from the point before.

        Args:
            start: The command sent this period (the trajectory's first point, filtered).
            times_s: Time of each point after ``start``'s, s, increasing.
            points: (m, n) positions.
            measured: The measured pose: with ``max_lead_rad`` set, every point is kept
                within it of this pose, like a single command (a trajectory left running by
                a node that died never leads the arm further). None: no lead limit.

        Returns:
            (m, n) safe positions; a non-finite point repeats the previous one.
        """
        prev = np.asarray(start, dtype=np.float64)
        lo, hi = self.lower, self.upper
        if measured is not None and self.config.max_lead_rad > 0:
            meas = np.asarray(measured, dtype=np.float64)
            lead = self.config.max_lead_rad
            lo, hi = np.maximum(lo, meas - lead), np.minimum(hi, meas + lead)
        out = np.empty((len(points), prev.shape[0]))
        t_prev = 0.0
        for i, (t, p) in enumerate(zip(np.asarray(times_s, dtype=np.float64),
                                       np.asarray(points, dtype=np.float64), strict=True)):
            if not np.all(np.isfinite(p)) or p.shape != prev.shape:
                out[i] = prev
            else:
                cap = self.step_cap(max(t - t_prev, 0.0))
                q = prev + np.clip(np.clip(p, lo, hi) - prev, -cap, cap)
                out[i] = np.clip(q, self.lower, self.upper)
            prev, t_prev = out[i], t
        return out

    def _name(self, i: int) -> str:
        return self.joint_names[i] if i < len(self.joint_names) else f'joint[{i}]'
