"""Joint command clamping: the one place where a simulated controller enforces its limits.

Every command the simulator accepts (forward position command, trajectory point, in-process
``step``) goes through :func:`clamp_command`. Out-of-limit values are clamped, never dropped;
non-finite values are replaced by the joint's held target, never by zero.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClampReport:
    """What :func:`clamp_command` changed in one command."""

    clamped: tuple[str, ...] = ()      # joints moved onto a limit
    non_finite: tuple[str, ...] = ()   # joints whose NaN/inf value was replaced by the hold

    @property
    def changed(self) -> bool:
        """True when any joint of the command was altered."""
        return bool(self.clamped or self.non_finite)

    def describe(self) -> str:
        """One-line human description (empty when nothing changed)."""
        parts = []
        if self.clamped:
            parts.append(f'clamped to limits: {list(self.clamped)}')
        if self.non_finite:
            parts.append(f'non-finite, held: {list(self.non_finite)}')
        return '; '.join(parts)


def clamp_command(
    cmd: Sequence[float] | NDArray[np.floating],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    hold: NDArray[np.float64],
    names: Sequence[str],
) -> tuple[NDArray[np.float64], ClampReport]:
    """Clamp a joint position command to ``[lower, upper]``.

    Args:
        cmd: Commanded positions, one per joint (rad).
        lower: Lower limits (rad).
        upper: Upper limits (rad).
        hold: Target to keep for joints whose command is NaN or infinite.
        names: Joint names, for the report.

    Returns:
        The safe command and a report of what was changed.

    Raises:
        ValueError: ``cmd`` has the wrong length (an internal invariant; callers check it
            and raise a named error first).
    """
    q = np.asarray(cmd, dtype=np.float64).reshape(-1)
    if q.shape != lower.shape:
        msg = f'command has {q.size} values, expected {lower.size}'
        raise ValueError(msg)
    bad = ~np.isfinite(q)
    if bad.any():
        q = np.where(bad, hold, q)
    out = np.clip(q, lower, upper)
    moved = (out != q) & ~bad
    report = ClampReport(
        clamped=tuple(names[i] for i in np.flatnonzero(moved)),
        non_finite=tuple(names[i] for i in np.flatnonzero(bad)),
    )
    if report.changed:
        logger.debug('command %s', report.describe())
    return out, report
