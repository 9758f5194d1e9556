"""Handover without a jump: blend from where the arm was told to be to the new source.

When control changes hands, :class:`HandoverRamp` starts at a fixed pose (the last executed
command when the person takes over, the measured pose when the policy gets control back)
and blends linearly to the new source's (moving) command over ``ramp_s``:
``out = start + a * (target - start)`` with ``a = (t - t0) / ramp_s`` capped at 1. The safety
filter behind it caps every step anyway; the ramp keeps the blend inside that cap for a
target that moves slowly, so the arm does not lag behind a capped step.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.errors import ConfigError

if TYPE_CHECKING:
    from numpy.typing import NDArray


class HandoverRamp:
    """Linear blend from a start pose to a moving target (see module docstring)."""

    def __init__(self, ramp_s: float) -> None:
        """Create an idle ramp; ``ramp_s`` 0 switches at once (the step cap still applies).

        Raises:
            ConfigError: ``ramp_s`` < 0.
        """
        if ramp_s < 0:
            msg = f'dagger ramp_s must be >= 0, got {ramp_s}'
            raise ConfigError(msg)
        self.ramp_s = float(ramp_s)
        self._start: NDArray[np.float64] | None = None
        self._t0 = 0.0

    @property
    def active(self) -> bool:
        """A blend is in progress."""
        return self._start is not None

    def start(self, pose: NDArray[np.floating] | None, now_s: float) -> None:
        """Begin a blend from ``pose`` (None or non-finite: no blend, the cap alone acts)."""
        if pose is None or self.ramp_s == 0:
            self._start = None
            return
        p = np.asarray(pose, np.float64).copy()
        self._start = p if np.all(np.isfinite(p)) else None
        self._t0 = now_s

    def cancel(self) -> None:
        """Stop blending."""
        self._start = None

    def apply(self, target: NDArray[np.floating], now_s: float) -> NDArray[np.float64]:
        """Return the blended command for ``target`` at ``now_s``."""
        tgt = np.asarray(target, np.float64)
        if self._start is None or self._start.shape != tgt.shape:
            self._start = None
            return tgt.copy()
        a = min(1.0, max(0.0, (now_s - self._t0) / self.ramp_s))
        if a >= 1.0:
            self._start = None
            return tgt.copy()
        return self._start + a * (tgt - self._start)
