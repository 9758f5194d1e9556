"""The one place DAgger touches the deploy safety filter.

Every command the DAgger gate sends passes :class:`GateSafety` -- exactly the filter the
policy node builds (``imitation_ros.deploy.safety.SafetyFilter.from_profile``): per-joint
velocity caps from the profile (per second, scaled by the time since the last command), the
lead limit, the limit margin, and holds on no/stale/non-finite input. A change of who
commands and a new episode are boundaries of the filter (``mark_boundary``): the next
command is still capped from the last one sent, never from the measured pose alone.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from imitation_ros.profile import RobotProfile


@dataclass(frozen=True, slots=True)
class SafeCommand:
    """What the filter let through (``command`` None: publish nothing)."""

    command: NDArray[np.float64] | None
    action: str                  # pass, clamped, step_capped, hold
    reasons: tuple[str, ...] = ()


class GateSafety:
    """Adapter over ``deploy.safety.SafetyFilter`` (see module docstring)."""

    def __init__(self, safety: SafetyFilter) -> None:
        """Wrap a filter (build it with :meth:`from_profile`, as the policy node does)."""
        self._f = safety
        self.stale_obs_s = float(safety.config.stale_obs_s)

    @classmethod
    def from_profile(cls, profile: RobotProfile, config: SafetyConfig | None = None, *,
                     period_s: float | None = None, **overrides: float) -> GateSafety:
        """Build the policy node's filter from a profile.

        Args:
            profile: The robot profile (joint limits, ``max_velocity_rad_s``).
            config: The filter's limits (default :class:`SafetyConfig`).
            period_s: Control period, s (default ``1 / profile.fps``).
            overrides: ``SafetyConfig`` fields replaced in ``config`` (``max_step_rad=...``).

        Raises:
            ConfigError: A cap is non-finite or negative, or the profile states no velocity
                limits.
        """
        cfg = dataclasses.replace(config or SafetyConfig(), **overrides)
        return cls(SafetyFilter.from_profile(profile, cfg, period_s=period_s))

    @property
    def filter_(self) -> SafetyFilter:
        """The wrapped filter."""
        return self._f

    @property
    def last(self) -> NDArray[np.float64] | None:
        """The last command that passed (a copy), or None."""
        return self._f.last_command

    def step_cap(self, dt_s: float | None = None) -> NDArray[np.float64]:
        """Largest change of each joint over ``dt_s`` (default one period), rad."""
        return self._f.step_cap(dt_s)

    def reset(self) -> None:
        """A boundary (new episode, hand-back): keep capping from the last command sent."""
        self._f.mark_boundary()

    def forget(self) -> None:
        """Forget the last command (the arm was moved without this filter: a sim reset)."""
        self._f.reset()

    def hold(self, reason: str) -> SafeCommand:
        """Re-send the last command that passed (None before any)."""
        v = self._f.hold(reason)
        return SafeCommand(v.command, v.action, tuple(v.reasons))

    def filter(self, command: NDArray[np.floating] | None,
               measured: NDArray[np.floating] | None, obs_age_s: float | None,
               reason: str = 'no command', *, now_s: float | None = None) -> SafeCommand:
        """Pass ``command`` through the filter (None: hold with ``reason``).

        ``now_s``: time of this tick; the step cap covers the time since the last command
        (at most one period), so an early tick moves less and a faster rate no faster.
        """
        v = self._f.filter(command, measured, obs_age_s, reason=reason, now_s=now_s)
        return SafeCommand(v.command, v.action, tuple(v.reasons))
