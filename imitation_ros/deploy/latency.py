"""Rolling latency statistics (p50/p99) of the policy's inference, in the controller's clock."""
from __future__ import annotations

from collections import deque

import numpy as np


class LatencyTracker:
    """The last ``window`` latencies; percentiles fall back to ``prior_s`` before any.

    Args:
        window: How many recent measurements count.
        prior_s: The guess used before the first measurement, s.
    """

    def __init__(self, window: int = 100, prior_s: float = 0.1) -> None:
        self._values: deque[float] = deque(maxlen=max(1, window))
        self.prior_s = prior_s
        self.count = 0

    def add(self, latency_s: float) -> None:
        """Record one latency, s."""
        self._values.append(float(latency_s))
        self.count += 1

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0..100) of the window, s (``prior_s`` when empty)."""
        if not self._values:
            return self.prior_s
        return float(np.percentile(np.fromiter(self._values, float), q))

    @property
    def p50(self) -> float:
        """Median latency, s."""
        return self.percentile(50)

    @property
    def p99(self) -> float:
        """99th percentile latency, s."""
        return self.percentile(99)

    def reset(self) -> None:
        """Forget the measurements (keeps the prior)."""
        self._values.clear()
