"""Execute action chunks: plain queue, or ACT's temporal ensembling.

``ChunkQueue.push(chunk, t)`` adds a predicted chunk (shape ``(k, n)``, step 0 = now);
``ChunkQueue.pop()`` returns the action for the current control step and advances. With
ensembling, every chunk that covers the step contributes, weighted ``exp(-m * age)`` as in
the ACT paper (older predictions weigh more for m > 0).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.errors import ConfigError

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass
class ChunkQueue:
    """Action chunks to execute, one control step at a time."""

    ensemble_coeff: float | None = None    # None: no ensembling, consume the newest chunk
    _chunks: deque[tuple[int, NDArray[np.float64]]] = field(default_factory=deque)
    _step: int = 0

    def __post_init__(self) -> None:
        if self.ensemble_coeff is not None and self.ensemble_coeff < 0:
            msg = f'ensemble_coeff must be >= 0 or None, got {self.ensemble_coeff}'
            raise ConfigError(msg)

    def __len__(self) -> int:
        """Steps left in the newest chunk."""
        if not self._chunks:
            return 0
        start, chunk = self._chunks[-1]
        return max(0, start + len(chunk) - self._step)

    def clear(self) -> None:
        """Drop every pending chunk (new episode, or a human took over)."""
        self._chunks.clear()

    def push(self, chunk: NDArray[np.floating]) -> None:
        """Add a chunk predicted at the current step."""
        arr = np.asarray(chunk, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or len(arr) == 0:
            msg = f'a chunk must have shape (k, n_joints), got {arr.shape}'
            raise ConfigError(msg)
        if self.ensemble_coeff is None:
            self._chunks.clear()
        self._chunks.append((self._step, arr))

    def pop(self) -> NDArray[np.float64] | None:
        """Return the action of the current step (None when no chunk covers it) and advance."""
        live = [(s, c) for s, c in self._chunks if s + len(c) > self._step]
        self._chunks = deque(live)
        self._step += 1
        if not live:
            return None
        if self.ensemble_coeff is None:
            start, chunk = live[-1]
            return chunk[self._step - 1 - start].copy()
        acts = np.stack([c[self._step - 1 - s] for s, c in live])
        weights = np.exp(-self.ensemble_coeff * np.arange(len(live)))  # oldest first
        return (weights[:, None] * acts).sum(0) / weights.sum()
