"""ArmSim's env-like API: observation keys, control period, clamping, holding, rendering.

Regressions pinned:
- obs keys come from the profile (observation.state, observation.images.<camera>) with the
  profile's camera size and dtypes (float32 state, uint8 HxWx3 image);
- one step() advances exactly 1/fps on average (integer physics steps, no drift);
- a command outside the joint limits is clamped to the limit and counted;
- NaN commands are held (never replaced by zeros); wrong length raises SimError;
- with no new command the arm holds its position;
- appearance randomization is off by default (same seed -> same image) and, when on,
  changes the image between seeds.
"""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.errors import SimError
from imitation_ros.profile import OBS_STATE, image_key
from imitation_ros.sim import ArmSim, ArmSimConfig, load_profile_for_sim


@pytest.fixture(scope='module')
def profile():
    return load_profile_for_sim()


@pytest.fixture(scope='module')
def sim(profile):
    s = ArmSim(profile)
    yield s
    s.close()


def test_observation_keys_shapes_dtypes(sim, profile):
    obs = sim.reset(0)
    cam = profile.cameras[0]
    assert set(obs) == {OBS_STATE, image_key(cam.name)}
    assert obs[OBS_STATE].shape == (profile.n_joints,) and obs[OBS_STATE].dtype == np.float32
    img = obs[image_key(cam.name)]
    assert img.shape == (cam.height, cam.width, 3) and img.dtype == np.uint8
    assert img.std() > 5          # a real picture, not a blank buffer


def test_step_advances_one_control_period_without_drift(sim, profile):
    sim.reset(0)
    q = sim.joint_positions()
    for _ in range(90):
        sim.step(q)
    assert sim.time_s == pytest.approx(90 / profile.fps, abs=sim.physics_dt_s / 2)


def test_out_of_limit_command_is_clamped_and_counted(sim, profile):
    sim.reset(1)
    before = sim.clamp_count
    cmd = sim.joint_positions()
    i = profile.joint_names.index('elbow_flex')
    cmd[i] = profile.limits.upper_rad[i] + 1.0
    report = sim.set_command(cmd)
    assert report.clamped == ('elbow_flex',)
    assert sim.clamp_count == before + 1
    assert sim.target[i] == pytest.approx(profile.limits.upper_rad[i])
    for _ in range(60):
        sim.advance(sim.control_period_s)
    assert sim.joint_positions()[i] <= profile.limits.upper_rad[i] + 0.02


def test_nan_is_held_and_bad_length_raises(sim):
    sim.reset(2)
    held = sim.target
    cmd = held.copy()
    cmd[0] = np.nan
    report = sim.set_command(cmd)
    assert report.non_finite == ('shoulder_pan',)
    assert sim.target[0] == held[0]
    with pytest.raises(SimError, match='expected 6'):
        sim.set_command([0.0, 0.0])


def test_holds_position_without_commands(sim):
    sim.reset(3)
    q0 = sim.joint_positions()
    sim.advance(1.0)
    np.testing.assert_allclose(sim.joint_positions(), q0, atol=0.02)


def test_appearance_randomization(profile):
    plain = ArmSim(profile)
    try:
        plain.reset(5)
        a = plain.render()
        plain.reset(5)
        np.testing.assert_array_equal(a, plain.render())
    finally:
        plain.close()
    rnd = ArmSim(profile, ArmSimConfig(randomize_appearance=True))
    try:
        rnd.reset(5)
        b = rnd.render()
        rnd.reset(6)
        c = rnd.render()
        assert np.abs(b.astype(int) - c.astype(int)).mean() > 2
    finally:
        rnd.close()


def test_bad_config_is_a_clear_error():
    with pytest.raises(SimError, match='cube_jitter_m'):
        ArmSimConfig(cube_jitter_m=0.2)
