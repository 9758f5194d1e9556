"""Safety filter and chunk queue.

Regressions pinned:
- commands are clamped to limits and the step is capped per period;
- stale, missing or non-finite input holds the last safe command, never zeros;
- before any command passed, a hold publishes nothing (None), not a zero vector;
- temporal ensembling averages every chunk covering a step, oldest weighted most.
"""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.deploy import ChunkQueue, SafetyConfig, SafetyFilter
from imitation_ros.errors import ConfigError
from imitation_ros.profile import load_profile
from imitation_ros.resources import config_path


@pytest.fixture
def filt() -> SafetyFilter:
    prof = load_profile(config_path('sim_arm.yaml'))
    return SafetyFilter.from_profile(prof, SafetyConfig(max_step_rad=0.1, stale_obs_s=0.2))


def test_clamp_and_step_cap(filt: SafetyFilter) -> None:
    meas = np.zeros(6) + 0.5
    cmd = meas.copy()
    cmd[0] = 10.0                       # beyond upper limit 2.0 and a huge step
    v = filt.filter(cmd, meas, 0.01)
    assert v.command is not None
    assert v.command[0] == pytest.approx(0.6)          # step-capped from measured
    assert v.action == 'step_capped'
    assert any('clamped' in r for r in v.reasons) and 'shoulder_pan' in v.reasons[0]
    for _ in range(30):
        v = filt.filter(cmd, meas, 0.01)
    assert v.command[0] == pytest.approx(2.0)          # converges to the limit, not beyond
    assert v.action == 'clamped'


def test_hold_on_stale_nan_and_missing(filt: SafetyFilter) -> None:
    meas = np.full(6, 0.3)
    assert filt.filter(meas, None, None).command is None       # nothing sent yet: no zeros
    first = filt.filter(meas + 0.05, meas, 0.0)
    assert first.action == 'pass'
    stale = filt.filter(meas + 0.08, meas, 0.5)
    assert stale.action == 'hold' and np.array_equal(stale.command, first.command)
    nan_cmd = meas.copy()
    nan_cmd[2] = np.nan
    held = filt.filter(nan_cmd, meas, 0.0)
    assert held.action == 'hold' and 'elbow_flex' in held.reasons[0]
    assert np.array_equal(held.command, first.command)
    assert not np.any(held.command == 0.0)
    short = filt.filter(np.ones(3), meas, 0.0)
    assert short.action == 'hold' and 'expected 6' in short.reasons[0]


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match='max_step_rad'):
        SafetyConfig(max_step_rad=0)


def test_chunk_queue_plain_and_ensemble() -> None:
    q = ChunkQueue()
    q.push(np.array([[1.0], [2.0], [3.0]]))
    assert [q.pop()[0] for _ in range(3)] == [1.0, 2.0, 3.0]
    assert q.pop() is None
    e = ChunkQueue(ensemble_coeff=0.0)       # equal weights: a plain mean
    e.push(np.array([[0.0], [10.0], [20.0]]))
    assert e.pop()[0] == 0.0
    e.push(np.array([[12.0], [22.0]]))       # predicted one step later
    assert e.pop()[0] == pytest.approx(11.0)
    assert e.pop()[0] == pytest.approx(21.0)
    w = ChunkQueue(ensemble_coeff=1.0)
    w.push(np.array([[0.0], [0.0]]))
    w.pop()
    w.push(np.array([[1.0]]))
    # oldest chunk (value 0) weight 1, newer chunk (value 1) weight exp(-1)
    assert w.pop()[0] == pytest.approx(np.exp(-1.0) / (1 + np.exp(-1.0)))
