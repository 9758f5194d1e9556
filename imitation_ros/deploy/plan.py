"""Timed action chunks: which action applies at a given time, seams blended.

A :class:`TimedChunk` knows the time its row 0 applies (the time the observation it was
predicted from was taken); row ``k`` applies at ``t0 + k * period``. :meth:`Plan.sample`
returns the action for a time from the row predicted for that time (nearest row, never one
predicted for more than half a period later), so a chunk that arrives late starts with
the rows for *now*: the rows already in the past are skipped, not replayed late.

Without ensembling the newest chunk drives; when it replaces one still executing, the two
are crossfaded linearly over ``blend_steps`` periods (the *seam*). With ensembling
(``ensemble_coeff`` = m) every chunk covering the time contributes, weighted ``exp(-m i)``
with i = 0 for the oldest (ACT's temporal ensembling, here fed by asynchronous chunks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.errors import ConfigError

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class TimedChunk:
    """An action chunk anchored in time."""

    t0_s: float                       # time row 0 applies (observation time), s
    rows: NDArray[np.float64]         # (k, n)
    n_exec: int                       # rows meant to be executed before the next chunk
    period_s: float

    def index(self, t_s: float) -> int | None:
        """Row that applies at ``t_s`` (nearest), or None outside the chunk."""
        k = int(np.floor((t_s - self.t0_s) / self.period_s + 0.5))
        return k if 0 <= k < len(self.rows) else None

    @property
    def exec_end_s(self) -> float:
        """Time the rows meant for execution are used up, s."""
        return self.t0_s + self.n_exec * self.period_s

    @property
    def end_s(self) -> float:
        """Time the last row's period ends, s."""
        return self.t0_s + len(self.rows) * self.period_s - 0.5 * self.period_s


@dataclass(frozen=True, slots=True)
class Sample:
    """The action for one time, and where it came from."""

    action: NDArray[np.float64]
    row_time_s: float                 # time the (newest contributing) row was predicted for
    obs_time_s: float                 # observation time of the chunk it came from
    blending: bool = False            # inside a seam crossfade


class Plan:
    """The chunks to execute (see module docstring).

    Args:
        period_s: Control period, s.
        blend_steps: Seam crossfade length, periods (0: switch at once).
        ensemble_coeff: None for plain chunks; m >= 0 for temporal ensembling.
        single_row_valid_s: A one-row chunk (a policy giving one action per call, like BC)
            stays the action until the next arrives, for at most this long after its
            observation: an asynchronous one-action policy is always a period or more late.
    """

    def __init__(self, period_s: float, *, blend_steps: int = 3,
                 ensemble_coeff: float | None = None, single_row_valid_s: float = 0.5) -> None:
        if not period_s > 0:
            msg = f'period_s must be > 0, got {period_s}'
            raise ConfigError(msg)
        if blend_steps < 0:
            msg = f'blend_steps must be >= 0, got {blend_steps}'
            raise ConfigError(msg)
        if ensemble_coeff is not None and ensemble_coeff < 0:
            msg = f'ensemble_coeff must be >= 0 or None, got {ensemble_coeff}'
            raise ConfigError(msg)
        self.period_s = period_s
        self.blend_steps = blend_steps
        self.ensemble_coeff = ensemble_coeff
        self.single_row_valid_s = single_row_valid_s
        self._chunks: list[TimedChunk] = []
        self._seam_start_s: float | None = None
        self.seams = 0
        self.dropped_rows = 0

    def clear(self) -> None:
        """Forget every chunk (a new episode, or control handed back)."""
        self._chunks.clear()
        self._seam_start_s = None

    @property
    def newest(self) -> TimedChunk | None:
        """The newest chunk, or None."""
        return self._chunks[-1] if self._chunks else None

    def add(self, chunk: NDArray[np.floating], *, obs_time_s: float, now_s: float,
            n_exec: int | None = None) -> int:
        """Add a chunk predicted from an observation taken at ``obs_time_s``.

        Returns:
            How many of its rows are already in the past at ``now_s`` (skipped).

        Raises:
            ConfigError: If the chunk is not (k, n) with k >= 1.
        """
        rows = np.asarray(chunk, dtype=np.float64)
        if rows.ndim != 2 or len(rows) == 0:
            msg = f'a chunk must have shape (k, n_joints), got {rows.shape}'
            raise ConfigError(msg)
        new = TimedChunk(obs_time_s, rows, max(1, min(n_exec or len(rows), len(rows))),
                         self.period_s)
        k_now = int(np.floor((now_s - obs_time_s) / self.period_s + 0.5))
        dropped = max(0, min(k_now, len(rows)))
        self.dropped_rows += dropped
        live = [c for c in self._chunks if c.end_s > now_s]
        if self._chunks and self.ensemble_coeff is None and 1 < len(rows) > k_now:
            self.seams += 1             # one chunk follows another (blended while both cover)
            self._seam_start_s = now_s
            live = live[-1:]            # blend from the chunk that was executing
        self._chunks = [*live, new]
        return dropped

    def rows_left(self, now_s: float) -> int:
        """Rows meant for execution left in the newest chunk after ``now_s``."""
        c = self.newest
        if c is None:
            return 0
        return max(0, int(round((c.exec_end_s - now_s) / self.period_s)))

    def time_left_s(self, now_s: float) -> float:
        """Time until the newest chunk's rows meant for execution run out, s (0 if none)."""
        c = self.newest
        return 0.0 if c is None else max(0.0, c.exec_end_s - now_s)

    def sample(self, now_s: float) -> Sample | None:
        """The action for ``now_s``, or None when no chunk covers it (a stall)."""
        self._chunks = [c for c in self._chunks[:-1] if c.end_s > now_s] + self._chunks[-1:]
        covering = [(c, k) for c in self._chunks if (k := c.index(now_s)) is not None]
        if not covering:
            c = self.newest
            if (c is not None and len(c.rows) == 1 and now_s >= c.t0_s
                    and now_s - c.t0_s <= self.single_row_valid_s):
                return Sample(c.rows[0].copy(), c.t0_s, c.t0_s)   # a one-action policy (BC)
            return None
        newest, k_new = covering[-1]
        row_time = newest.t0_s + k_new * self.period_s
        if self.ensemble_coeff is not None:
            acts = np.stack([c.rows[k] for c, k in covering])
            w = np.exp(-self.ensemble_coeff * np.arange(len(covering)))
            return Sample((w[:, None] * acts).sum(0) / w.sum(), row_time, newest.t0_s)
        action = newest.rows[k_new].copy()
        blending = False
        if len(covering) > 1 and self._seam_start_s is not None and self.blend_steps > 0:
            j = int(np.floor((now_s - self._seam_start_s) / self.period_s + 0.5))
            if 0 <= j < self.blend_steps:
                old, k_old = covering[-2]
                alpha = (j + 1) / (self.blend_steps + 1)
                action = (1 - alpha) * old.rows[k_old] + alpha * action
                blending = True
        if not blending and len(self._chunks) > 1:
            self._chunks = self._chunks[-1:]          # the seam is over: drop the old chunk
        return Sample(action, row_time, newest.t0_s, blending)

    def future(self, now_s: float, max_points: int = 0) -> tuple[NDArray[np.float64],
                                                               NDArray[np.float64]]:
        """Times after ``now_s`` (offsets, s) and rows of the newest chunk, for a trajectory.

        Returns:
            (offsets (m,), positions (m, n)): rows for now + 1 period onward to the chunk's
            end, at most ``max_points`` (0 = all).
        """
        c = self.newest
        k_now = None if c is None else c.index(now_s)
        if c is None or k_now is None:
            return np.zeros(0), np.zeros((0, 0))
        ks = np.arange(k_now + 1, len(c.rows))
        if max_points > 0:
            ks = ks[:max_points]
        offsets = (c.t0_s + ks * self.period_s) - (c.t0_s + k_now * self.period_s)
        return offsets.astype(np.float64), c.rows[ks].copy()
