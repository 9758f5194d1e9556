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
   per joint, ``max_velocity_rad_s`` (the profile's) x ``velocity_scale`` x control period,
   and at most ``max_step_rad`` when that is set. The cap comes last, so nothing, not even a
   jump of the measured position, makes the command step further than it.

"Hold" re-sends the last command that passed (the arm keeps its target), or, before any was
sent, returns ``None`` so the caller publishes nothing. A zero vector is never invented.
Every hold carries a ``kind`` (a short key for counting: ``stale``, ``non_finite`` ...) and a
``reason`` naming the joint, stream or limit involved.

:meth:`SafetyFilter.filter_trajectory` applies rules 3 and 4 to every point of a trajectory,
point after point (the step between points capped at the velocity limit times their spacing).
"""
from __future__ import annotations

from dataclasses import dataclass, field
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

    def __post_init__(self) -> None:
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
            if self.period_s is None or not self.period_s > 0:
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
        """
        return cls(np.array(profile.limits.lower_rad), np.array(profile.limits.upper_rad),
                   config or SafetyConfig(), tuple(profile.joint_names),
                   np.array(profile.limits.max_velocity_rad_s),
                   period_s or 1.0 / profile.fps)

    def step_cap(self, dt_s: float | None = None) -> NDArray[np.float64]:
        """Largest change of each joint over ``dt_s`` (default one period), rad."""
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

    def reset(self) -> None:
        """Forget the last command (a new episode, or control handed back)."""
        self._last = None

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
    ) -> SafetyVerdict:
        """Return the command to send for a policy output.

        Args:
            command: The policy's joint target, in the profile's joint order.
            measured: The newest measured joint positions (same order), or None.
            obs_age_s: Age of the newest observation the command was computed from.
            reason: Why ``command`` is None, when it is (logged with the hold).
            kind: Hold kind counted when ``command`` is None.
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
        ref = meas if self._last is None else self._last
        cap = self.step_cap()
        out = ref + np.clip(target - ref, -cap, cap)
        if not np.allclose(out, clamped):
            idx = np.flatnonzero(~np.isclose(out, clamped))
            reasons.append(f'step capped (velocity {self.config.velocity_scale:g} x limit'
                           f'{", lead " + str(self.config.max_lead_rad) if self.config.max_lead_rad else ""}'
                           f'): {[self._name(i) for i in idx]}')
            action = 'step_capped'
        out = np.clip(out, self.lower, self.upper)
        self._last = out
        return SafetyVerdict(out.copy(), action, tuple(reasons))

    def filter_trajectory(self, start: NDArray[np.floating], times_s: NDArray[np.floating],
                          points: NDArray[np.floating]) -> NDArray[np.float64]:
        """Clamp every point to the limits and cap each step from the point before.

        Args:
            start: The command sent this period (the trajectory's first point, filtered).
            times_s: Time of each point after ``start``'s, s, increasing.
            points: (m, n) positions.

        Returns:
            (m, n) safe positions; a non-finite point repeats the previous one.
        """
        prev = np.asarray(start, dtype=np.float64)
        out = np.empty((len(points), prev.shape[0]))
        t_prev = 0.0
        for i, (t, p) in enumerate(zip(np.asarray(times_s, dtype=np.float64),
                                       np.asarray(points, dtype=np.float64), strict=True)):
            if not np.all(np.isfinite(p)) or p.shape != prev.shape:
                out[i] = prev
            else:
                cap = self.step_cap(max(t - t_prev, 0.0))
                q = prev + np.clip(np.clip(p, self.lower, self.upper) - prev, -cap, cap)
                out[i] = np.clip(q, self.lower, self.upper)
            prev, t_prev = out[i], t
        return out

    def _name(self, i: int) -> str:
        return self.joint_names[i] if i < len(self.joint_names) else f'joint[{i}]'
