"""Wilson intervals and latency summaries (imitation_ros.stats)."""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.stats import MIN_SAMPLES_P99, Rate, latency_summary, wilson_interval


def test_wilson_known_values() -> None:
    # Reference values (Wilson score, z = 1.96): 18/20 -> 0.699..0.972; 0/20 -> 0..0.161
    lo, hi = wilson_interval(18, 20)
    assert lo == pytest.approx(0.6990, abs=1e-3) and hi == pytest.approx(0.9721, abs=1e-3)
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-3)
    lo, hi = wilson_interval(20, 20)
    assert hi == 1.0 and lo == pytest.approx(0.8389, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match='successes'):
        wilson_interval(3, 2)


def test_rate_text_and_dict() -> None:
    r = Rate(18, 20)
    assert str(r) == '18/20 (90%, 95 % CI 70%-97%)'
    d = r.as_dict()
    assert d['n'] == 20 and d['successes'] == 18 and d['ci95_low'] < 0.9 < d['ci95_high']


def test_p99_only_with_enough_samples() -> None:
    rng = np.random.default_rng(0)
    few = latency_summary(rng.random(MIN_SAMPLES_P99 - 1))
    assert 'p99' not in few and few['n'] == MIN_SAMPLES_P99 - 1 and 'p95' in few and 'max' in few
    many = latency_summary(rng.random(MIN_SAMPLES_P99))
    assert 'p99' in many and many['p99'] <= many['max']
    assert latency_summary([]) == {'n': 0}
