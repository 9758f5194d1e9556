"""The safety filter every joint command passes before it leaves the suite.

Rules, in order:

1. No observation yet, a stale one (older than ``stale_obs_s``) or a non-finite one: hold.
2. A non-finite or wrongly sized command: hold.
3. Clamp to the joint limits (``lower_rad``/``upper_rad``, shrunk by ``limit_margin_rad``).
4. Cap the step from the last command sent (or the measured position when none was sent)
   to ``max_step_rad`` per joint, scaled by the control period against ``max_velocity``.

"Hold" re-sends the last command that passed (the arm keeps its target), or, before any was
sent, returns ``None`` so the caller publishes nothing. A zero vector is never invented.
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

    max_step_rad: float = 0.05         # largest change of any joint per control period
    stale_obs_s: float = 0.2           # hold when the newest observation is older than this
    limit_margin_rad: float = 0.0      # keep this far inside the joint limits

    def __post_init__(self) -> None:
        if not self.max_step_rad > 0:
            msg = f'max_step_rad must be > 0, got {self.max_step_rad}'
            raise ConfigError(msg)
        if not self.stale_obs_s > 0:
            msg = f'stale_obs_s must be > 0, got {self.stale_obs_s}'
            raise ConfigError(msg)
        if self.limit_margin_rad < 0:
            msg = f'limit_margin_rad must be >= 0, got {self.limit_margin_rad}'
            raise ConfigError(msg)


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    """What the filter decided for one command."""

    command: NDArray[np.float64] | None     # None: publish nothing
    action: Literal['pass', 'clamped', 'step_capped', 'hold']
    reasons: tuple[str, ...] = ()


@dataclass
class SafetyFilter:
    """Stateful filter: remembers the last command that passed."""

    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    config: SafetyConfig = field(default_factory=SafetyConfig)
    joint_names: tuple[str, ...] = ()
    _last: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        self.lower = np.asarray(self.lower, dtype=np.float64) + self.config.limit_margin_rad
        self.upper = np.asarray(self.upper, dtype=np.float64) - self.config.limit_margin_rad
        if self.lower.shape != self.upper.shape or np.any(self.lower >= self.upper):
            msg = 'joint limits (after margin) must satisfy lower < upper for every joint'
            raise SafetyError(msg)

    @classmethod
    def from_profile(cls, profile: RobotProfile, config: SafetyConfig | None = None
                     ) -> SafetyFilter:
        """Build the filter from a profile's joint limits."""
        return cls(np.array(profile.limits.lower_rad), np.array(profile.limits.upper_rad),
                   config or SafetyConfig(), tuple(profile.joint_names))

    @property
    def last_command(self) -> NDArray[np.float64] | None:
        """The last command that passed (a copy), or None."""
        return None if self._last is None else self._last.copy()

    def reset(self) -> None:
        """Forget the last command (a new episode, or control handed back)."""
        self._last = None

    def hold(self, reason: str) -> SafetyVerdict:
        """Hold: the last command that passed (None before any), with the reason."""
        cmd = None if self._last is None else self._last.copy()
        return SafetyVerdict(cmd, 'hold', (reason,))

    _hold = hold

    def filter(
        self,
        command: NDArray[np.floating] | list[float] | None,
        measured: NDArray[np.floating] | None,
        obs_age_s: float | None,
        *,
        reason: str = 'no command',
    ) -> SafetyVerdict:
        """Return the command to send for a policy output.

        Args:
            command: The policy's joint target, in the profile's joint order.
            measured: The newest measured joint positions (same order), or None.
            obs_age_s: Age of the newest observation the command was computed from.
            reason: Why ``command`` is None, when it is (logged with the hold).
        """
        n = self.lower.shape[0]
        if measured is None or obs_age_s is None:
            return self._hold('no observation yet')
        if obs_age_s > self.config.stale_obs_s:
            return self._hold(f'observation stale: {obs_age_s:.3f} s > '
                              f'{self.config.stale_obs_s} s')
        meas = np.asarray(measured, dtype=np.float64)
        if meas.shape != (n,) or not np.all(np.isfinite(meas)):
            return self._hold('measured joint positions non-finite or wrong size')
        if command is None:
            return self._hold(reason)
        cmd = np.asarray(command, dtype=np.float64).reshape(-1)
        if cmd.shape != (n,):
            return self._hold(f'command has {cmd.size} values, expected {n}')
        if not np.all(np.isfinite(cmd)):
            bad = [self._name(i) for i in np.flatnonzero(~np.isfinite(cmd))]
            return self._hold(f'non-finite command for {bad}')
        reasons: list[str] = []
        action: Literal['pass', 'clamped', 'step_capped', 'hold'] = 'pass'
        clamped = np.clip(cmd, self.lower, self.upper)
        if not np.array_equal(clamped, cmd):
            idx = np.flatnonzero(clamped != cmd)
            reasons.append(f'clamped to limits: {[self._name(i) for i in idx]}')
            action = 'clamped'
        ref = meas if self._last is None else self._last
        step = np.clip(clamped - ref, -self.config.max_step_rad, self.config.max_step_rad)
        out = ref + step
        if not np.allclose(out, clamped):
            idx = np.flatnonzero(~np.isclose(out, clamped))
            reasons.append(f'step capped to {self.config.max_step_rad} rad: '
                           f'{[self._name(i) for i in idx]}')
            action = 'step_capped'
        out = np.clip(out, self.lower, self.upper)
        self._last = out
        return SafetyVerdict(out.copy(), action, tuple(reasons))

    def _name(self, i: int) -> str:
        return self.joint_names[i] if i < len(self.joint_names) else f'joint[{i}]'
