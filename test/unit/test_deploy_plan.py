"""Plan: rows execute at the time they were predicted for; seams crossfade; ensembling.

Regressions pinned:
- a chunk that arrives late starts at the row for *now* (past rows skipped and counted);
- a row is never taken from more than half a period in the future or past;
- replacing an executing chunk crossfades linearly over blend_steps periods;
- temporal ensembling weights covering chunks exp(-m i), oldest first, asynchronously.
"""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.deploy import Plan
from imitation_ros.errors import ConfigError

DT = 0.1


def _chunk(t0: float, k: int, offset: float = 0.0) -> np.ndarray:
    """Row j holds the time it is predicted for (t0 + j DT) plus ``offset``."""
    return (t0 + DT * np.arange(k) + offset)[:, None]


def test_late_chunk_skips_rows_in_the_past() -> None:
    plan = Plan(DT, blend_steps=0)
    dropped = plan.add(_chunk(1.0, 10), obs_time_s=1.0, now_s=1.3)
    assert dropped == 3 and plan.dropped_rows == 3
    s = plan.sample(1.3)
    assert s is not None and s.action[0] == pytest.approx(1.3)
    assert s.row_time_s == pytest.approx(1.3) and s.obs_time_s == 1.0
    assert plan.rows_left(1.3) == 7
    assert plan.sample(1.0 + 10 * DT) is None          # past the chunk: nothing, no reuse


def test_rows_never_from_the_future() -> None:
    plan = Plan(DT, blend_steps=0)
    plan.add(_chunk(0.0, 20), obs_time_s=0.0, now_s=0.0)
    for now in np.arange(0.0, 1.9, 0.037):            # ticks off the chunk's grid
        s = plan.sample(float(now))
        assert s is not None and abs(s.action[0] - now) <= DT / 2 + 1e-9


def test_seam_crossfades_linearly() -> None:
    plan = Plan(DT, blend_steps=3)
    plan.add(_chunk(0.0, 20), obs_time_s=0.0, now_s=0.0)
    plan.sample(0.0)
    plan.add(_chunk(0.5, 20, offset=1.0), obs_time_s=0.5, now_s=0.5)   # new chunk: +1 rad
    out = [plan.sample(0.5 + j * DT).action[0] - (0.5 + j * DT) for j in range(5)]
    assert out == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])
    assert plan.seams == 1
    hard = Plan(DT, blend_steps=0)
    hard.add(_chunk(0.0, 20), obs_time_s=0.0, now_s=0.0)
    hard.add(_chunk(0.5, 20, offset=1.0), obs_time_s=0.5, now_s=0.5)
    assert hard.sample(0.5).action[0] == pytest.approx(1.5)


def test_ensembling_async_weights_oldest_most() -> None:
    plan = Plan(DT, ensemble_coeff=1.0)
    plan.add(np.zeros((10, 1)), obs_time_s=0.0, now_s=0.0)
    plan.add(np.ones((10, 1)), obs_time_s=0.2, now_s=0.3)     # arrives late, 1 row skipped
    s = plan.sample(0.3)
    assert s.action[0] == pytest.approx(np.exp(-1.0) / (1 + np.exp(-1.0)))
    assert plan.seams == 0                                     # ensembling has no seams


def test_future_rows_for_a_trajectory() -> None:
    plan = Plan(DT, blend_steps=0)
    plan.add(_chunk(0.0, 6), obs_time_s=0.0, now_s=0.2)
    offsets, rows = plan.future(0.2)
    assert offsets == pytest.approx([0.1, 0.2, 0.3])
    assert rows[:, 0] == pytest.approx([0.3, 0.4, 0.5])
    assert len(plan.future(0.2, max_points=2)[0]) == 2


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match='period_s'):
        Plan(0.0)
    with pytest.raises(ConfigError, match='shape'):
        Plan(DT).add(np.zeros((0, 3)), obs_time_s=0.0, now_s=0.0)


def test_one_action_chunks_stay_valid_until_replaced() -> None:
    plan = Plan(DT, single_row_valid_s=0.25)
    plan.add(np.array([[0.7]]), obs_time_s=1.0, now_s=1.1)    # BC: one row, a period late
    s = plan.sample(1.1)
    assert s is not None and s.action[0] == 0.7 and s.row_time_s == 1.0
    assert plan.sample(1.3) is None                            # older than the validity
    assert plan.seams == 0
