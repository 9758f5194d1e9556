"""Safety filter.

Regressions pinned:
- commands are clamped to limits; the step per period is capped at the profile's
  max_velocity_rad_s x period (and max_step_rad when set);
- the target never leads the measured position by more than max_lead_rad, and a jump of the
  measured position never makes the command step further than the cap (the cap comes last);
- a measured position further outside the limits than state_limit_tolerance_rad holds,
  naming the joint; a small excess does not;
- stale, missing or non-finite input holds the last safe command, never zeros, with a kind;
- before any command passed, a hold publishes nothing (None), not a zero vector;
- trajectory points are clamped and velocity-capped point after point.
"""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.deploy import SafetyConfig, SafetyFilter
from imitation_ros.errors import ConfigError, SafetyError
from imitation_ros.profile import load_profile
from imitation_ros.resources import config_path


@pytest.fixture
def prof():  # noqa: ANN201
    return load_profile(config_path('sim_arm.yaml'))


@pytest.fixture
def filt(prof) -> SafetyFilter:  # noqa: ANN001
    return SafetyFilter.from_profile(prof, SafetyConfig(stale_obs_s=0.2))


def test_step_cap_derives_from_profile_velocity(prof, filt: SafetyFilter) -> None:  # noqa: ANN001
    vel = np.array(prof.limits.max_velocity_rad_s)
    assert filt.step_cap() == pytest.approx(vel / prof.fps)
    half = SafetyFilter.from_profile(prof, SafetyConfig(velocity_scale=0.5), period_s=0.02)
    assert half.step_cap() == pytest.approx(vel * 0.5 * 0.02)
    tight = SafetyFilter.from_profile(prof, SafetyConfig(max_step_rad=0.01))
    assert tight.step_cap() == pytest.approx(np.minimum(vel / prof.fps, 0.01))
    with pytest.raises(SafetyError, match='step cap'):
        SafetyFilter(np.zeros(2) - 1, np.ones(2), SafetyConfig())


def test_clamp_and_step_cap(filt: SafetyFilter) -> None:
    cap = filt.step_cap()
    meas = np.zeros(6) + 0.5
    cmd = meas.copy()
    cmd[0] = 10.0                       # beyond upper limit 2.0 and a huge step
    v = filt.filter(cmd, meas, 0.01)
    assert v.command is not None
    assert v.command[0] == pytest.approx(0.5 + cap[0])     # step-capped from measured
    assert v.action == 'step_capped'
    assert any('clamped' in r for r in v.reasons) and 'shoulder_pan' in v.reasons[0]
    for _ in range(60):
        v = filt.filter(cmd, meas, 0.01)
    assert v.command[0] == pytest.approx(2.0)          # converges to the limit, not beyond
    assert v.action == 'clamped'


def test_lead_over_measured_is_bounded(prof) -> None:  # noqa: ANN001
    f = SafetyFilter.from_profile(prof, SafetyConfig(max_lead_rad=0.1))
    meas = np.zeros(6)                  # the arm is stuck at 0
    for _ in range(30):
        v = f.filter(np.full(6, 0.9), meas, 0.0)
    assert np.all(np.abs(v.command - meas) <= 0.1 + 1e-12)
    assert v.action == 'step_capped'


def test_measured_jump_never_breaks_the_step_cap(prof) -> None:  # noqa: ANN001
    f = SafetyFilter.from_profile(prof, SafetyConfig(max_lead_rad=0.2))
    cap = f.step_cap()
    meas = np.full(6, 0.3)
    prev = f.filter(meas, meas, 0.0).command
    jumped = meas.copy()
    jumped[0] = 1.9                     # an encoder glitch: 1.6 rad in one period
    for _ in range(40):
        v = f.filter(jumped, jumped, 0.0)
        assert np.all(np.abs(v.command - prev) <= cap + 1e-12), v.command - prev
        prev = v.command
    assert np.all(np.abs(prev - jumped) <= 0.2 + 1e-12)     # got there, a cap at a time


def test_hold_when_measured_far_outside_limits(prof) -> None:  # noqa: ANN001
    f = SafetyFilter.from_profile(prof, SafetyConfig(state_limit_tolerance_rad=0.2))
    meas = np.full(6, 0.3)
    f.filter(meas, meas, 0.0)
    slightly = meas.copy()
    slightly[5] = 1.1                   # gripper 0.1 past its upper limit 1.0: tolerated
    before = f.filter(slightly, slightly, 0.0)
    assert before.action != 'hold'
    far = meas.copy()
    far[2] = 1.7 + 0.5                  # elbow 0.5 rad past its limit (degrees? wrong joint?)
    v = f.filter(meas, far, 0.0)
    assert v.action == 'hold' and v.kind == 'state_out_of_limits'
    assert 'elbow_flex 2.200' in v.reasons[0] and 'profile' in v.reasons[0]
    assert np.array_equal(v.command, f.last_command) and not np.allclose(v.command, 0.0)
    assert np.array_equal(v.command, before.command)           # the hold re-sends it
    with pytest.raises(ConfigError, match='state_limit_tolerance_rad'):
        SafetyConfig(state_limit_tolerance_rad=-1.0)


def test_hold_on_stale_nan_and_missing(filt: SafetyFilter) -> None:
    meas = np.full(6, 0.3)
    none = filt.filter(meas, None, None)
    assert none.command is None and none.kind == 'no_observation'   # nothing sent: no zeros
    first = filt.filter(meas + 0.05, meas, 0.0)
    assert first.action == 'pass'
    stale = filt.filter(meas + 0.06, meas, 0.5)
    assert stale.action == 'hold' and stale.kind == 'stale'
    assert np.array_equal(stale.command, first.command)
    nan_cmd = meas.copy()
    nan_cmd[2] = np.nan
    held = filt.filter(nan_cmd, meas, 0.0)
    assert held.action == 'hold' and held.kind == 'non_finite' and 'elbow_flex' in held.reasons[0]
    assert np.array_equal(held.command, first.command)
    assert not np.any(held.command == 0.0)
    short = filt.filter(np.ones(3), meas, 0.0)
    assert short.action == 'hold' and 'expected 6' in short.reasons[0]
    bad_state = filt.filter(meas, np.full(6, np.nan), 0.0)
    assert bad_state.kind == 'bad_state' and np.array_equal(bad_state.command, first.command)


def test_trajectory_points_clamped_and_capped(filt: SafetyFilter) -> None:
    start = np.full(6, 0.5)
    times = np.array([0.1, 0.2, 0.3])
    pts = np.array([np.full(6, 5.0), np.full(6, np.nan), np.full(6, -5.0)])
    out = filt.filter_trajectory(start, times, pts)
    assert np.all(out >= filt.lower) and np.all(out <= filt.upper)
    cap_per_s = filt.step_cap() * 30              # rad/s
    steps = np.abs(np.diff(np.vstack([start, out]), axis=0))
    assert np.all(steps <= cap_per_s * 0.1 + 1e-9)
    assert np.array_equal(out[1], out[0])         # a non-finite point repeats the previous


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match='max_step_rad'):
        SafetyConfig(max_step_rad=-1)
    with pytest.raises(ConfigError, match='velocity_scale'):
        SafetyConfig(velocity_scale=1.5)
    with pytest.raises(ConfigError, match='max_lead_rad'):
        SafetyConfig(max_lead_rad=-0.1)
