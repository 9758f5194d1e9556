"""Small statistics every reported number goes through: success rates with a Wilson 95 %
interval, and latency percentiles that are only quoted where there are samples enough.

ROS-free, numpy only. Benches, ``eval-sim`` and the docs use these so that a rate is never
printed without its ``n`` and interval, and a p99 never comes from a few dozen samples.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: z for a two-sided 95 % interval.
Z95 = 1.959963984540054
#: Fewest samples a p99 is quoted from (below it: p95 and max, with n).
MIN_SAMPLES_P99 = 1000


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (``(0, 1)`` when ``n`` is 0)."""
    if n < 0 or not 0 <= successes <= n:
        msg = f'need 0 <= successes <= n, got successes={successes}, n={n}'
        raise ValueError(msg)
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Rate:
    """``successes`` of ``n`` with its Wilson 95 % interval."""

    successes: int
    n: int

    @property
    def rate(self) -> float:
        """The fraction (0 when ``n`` is 0)."""
        return self.successes / self.n if self.n else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson 95 % interval."""
        return wilson_interval(self.successes, self.n)

    def __str__(self) -> str:
        lo, hi = self.interval
        return f'{self.successes}/{self.n} ({self.rate:.0%}, 95 % CI {lo:.0%}-{hi:.0%})'

    def as_dict(self) -> dict[str, float | int]:
        """JSON-friendly: successes, n, success_rate, ci95_low, ci95_high."""
        lo, hi = self.interval
        return {'successes': self.successes, 'n': self.n, 'success_rate': self.rate,
                'ci95_low': round(lo, 4), 'ci95_high': round(hi, 4)}


def latency_summary(samples: Sequence[float] | np.ndarray) -> dict[str, float | int]:
    """n, p50, p95, max -- and p99 only from at least :data:`MIN_SAMPLES_P99` samples."""
    a = np.asarray(samples, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {'n': 0}
    out: dict[str, float | int] = {'n': int(a.size), 'p50': float(np.percentile(a, 50)),
                                   'p95': float(np.percentile(a, 95)), 'max': float(a.max())}
    if a.size >= MIN_SAMPLES_P99:
        out['p99'] = float(np.percentile(a, 99))
    return out


def format_latency(summary: dict[str, float | int], unit: str = 'ms',
                   scale: float = 1e3) -> str:
    """``n=1200 p50 0.8 ms p95 1.2 ms p99 1.5 ms max 3.1 ms`` (values in s, shown x scale)."""
    if not summary.get('n'):
        return 'n=0'
    keys = [k for k in ('p50', 'p95', 'p99', 'max') if k in summary]
    parts = [f'{k} {float(summary[k]) * scale:.1f} {unit}' for k in keys]
    return f"n={summary['n']} " + ' '.join(parts)
