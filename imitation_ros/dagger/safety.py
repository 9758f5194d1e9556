"""The one place DAgger touches the deploy safety filter (its API is being reworked).

Every command the DAgger gate sends passes :class:`GateSafety` -- the same filter the policy
node uses (``imitation_ros.deploy.safety.SafetyFilter``): hold on no/stale/non-finite input,
clamp to the joint limits, cap the step per control period. When the filter's API changes,
only this adapter changes.
"""
from __future__ import annotations

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

    def __init__(self, lower: NDArray[np.floating], upper: NDArray[np.floating], *,
                 max_step_rad: float, stale_obs_s: float, limit_margin_rad: float = 0.0,
                 joint_names: tuple[str, ...] = ()) -> None:
        """Create the filter (raises ``ConfigError``/``SafetyError`` on bad limits)."""
        self._f = SafetyFilter(np.asarray(lower, np.float64), np.asarray(upper, np.float64),
                               SafetyConfig(max_step_rad=max_step_rad, stale_obs_s=stale_obs_s,
                                            limit_margin_rad=limit_margin_rad),
                               tuple(joint_names))
        self.max_step_rad = float(max_step_rad)
        self.stale_obs_s = float(stale_obs_s)

    @classmethod
    def from_profile(cls, profile: RobotProfile, *, max_step_rad: float, stale_obs_s: float,
                     limit_margin_rad: float = 0.0) -> GateSafety:
        """Build from a profile's joint limits."""
        return cls(np.array(profile.limits.lower_rad), np.array(profile.limits.upper_rad),
                   max_step_rad=max_step_rad, stale_obs_s=stale_obs_s,
                   limit_margin_rad=limit_margin_rad, joint_names=tuple(profile.joint_names))

    @property
    def last(self) -> NDArray[np.float64] | None:
        """The last command that passed (a copy), or None."""
        return self._f.last_command

    def reset(self) -> None:
        """Forget the last command: the next one steps from the measured pose."""
        self._f.reset()

    def hold(self, reason: str) -> SafeCommand:
        """Re-send the last command that passed (None before any)."""
        v = self._f.hold(reason)
        return SafeCommand(v.command, v.action, tuple(v.reasons))

    def filter(self, command: NDArray[np.floating] | None,
               measured: NDArray[np.floating] | None, obs_age_s: float | None,
               reason: str = 'no command') -> SafeCommand:
        """Pass ``command`` through the filter (None: hold with ``reason``)."""
        v = self._f.filter(command, measured, obs_age_s, reason=reason)
        return SafeCommand(v.command, v.action, tuple(v.reasons))
