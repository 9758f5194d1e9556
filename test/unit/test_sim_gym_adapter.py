"""Any gymnasium env with array obs/actions behind the sim API (Pendulum-v1 as the example),
and the optional ALOHA path failing clearly when gym-aloha is missing.

Regressions pinned:
- GymSim takes limits from the action space, clamps and counts out-of-range commands;
- the env is stepped once per control period (1 / env.dt), obs mapped to joint positions;
- success comes from the adapter; the camera comes from the adapter's image function;
- make_sim(task='gym:Pendulum-v1') checks the profile's joints against the adapter's;
- a custom adapter is loaded from 'module:function'; bad specs raise ConfigError;
- without gym_aloha the ALOHA task raises SimError carrying the pip install command.
"""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from imitation_ros.errors import ConfigError, SimError
from imitation_ros.profile import OBS_STATE, image_key, profile_from_dict
from imitation_ros.sim import SimNodeConfig, make_sim
from imitation_ros.sim.gym_adapter import load_adapter, make_gym_sim

PENDULUM_PROFILE = {
    'name': 'pendulum', 'fps': 20,
    'joints': {'names': ['pendulum'], 'lower_rad': [-2.0], 'upper_rad': [2.0]},
    'state': {'topic': '/joint_states'}, 'action': {'topic': '/leader/joint_states'},
    'cameras': {'front': {'topic': '/camera/color/image_raw', 'height': 48, 'width': 64}},
}


def test_pendulum_steps_clamps_and_renders():
    sim = make_gym_sim('Pendulum-v1', cameras=(('front', 48, 64),))
    try:
        obs = sim.reset(0)
        assert sim.control_period_s == pytest.approx(0.05)
        assert obs[OBS_STATE].shape == (1,)
        assert obs[image_key('front')].shape == (48, 64, 3)
        np.testing.assert_allclose(sim.lower_rad, [-2.0])
        rep = sim.set_command([5.0])
        assert rep.clamped == ('pendulum',) and sim.clamp_count == 1
        assert sim.target[0] == 2.0
        theta0 = sim.joint_positions()[0]
        assert sim.advance(0.12) == 2             # two whole periods of 0.05 s
        assert sim.joint_positions()[0] != theta0
        assert sim.time_s == pytest.approx(0.1)
        assert -math.pi <= sim.joint_positions()[0] <= math.pi
    finally:
        sim.close()


def test_pendulum_success_when_upright():
    sim = make_gym_sim('Pendulum-v1')
    try:
        sim.reset(0)
        sim.env.unwrapped.state = np.array([0.0, 0.0])     # put it upright, at rest
        sim.step([0.0])
        assert sim.success()
        sim.env.unwrapped.state = np.array([math.pi, 0.0])
        sim.step([0.0])
        assert not sim.success()
    finally:
        sim.close()


def test_make_sim_checks_profile_joints():
    prof = profile_from_dict(PENDULUM_PROFILE)
    sim = make_sim(SimNodeConfig(task='gym:Pendulum-v1'), prof)
    try:
        assert sim.joint_names == ('pendulum',)
        assert sim.render('front').shape == (48, 64, 3)
    finally:
        sim.close()
    bad = dict(PENDULUM_PROFILE, joints={'names': ['theta'], 'lower_rad': [-2.0],
                                         'upper_rad': [2.0]})
    with pytest.raises(ConfigError, match='do not match'):
        make_sim(SimNodeConfig(task='gym:Pendulum-v1'), profile_from_dict(bad))
    with pytest.raises(ConfigError, match='unknown task'):
        make_sim(SimNodeConfig(task='walk'), prof)


def test_adapter_specs():
    assert load_adapter('imitation_ros.sim.gym_adapter:pendulum_adapter').joint_names == (
        'pendulum',)
    with pytest.raises(ConfigError, match='no built-in gym adapter'):
        load_adapter('CartPole-v1')
    with pytest.raises(ConfigError, match='cannot import'):
        load_adapter('no_such_module_xyz:make')


def test_aloha_without_gym_aloha_names_install_command(monkeypatch):
    from imitation_ros.sim.aloha import make_aloha_sim

    monkeypatch.setitem(sys.modules, 'gym_aloha', None)   # import gym_aloha -> ImportError
    with pytest.raises(SimError, match='pip install "gym-aloha==0.1.5"'):
        make_aloha_sim('aloha_transfer_cube')
    with pytest.raises(SimError, match='unknown ALOHA task'):
        make_aloha_sim('aloha_laundry')


def test_aloha_transfer_cube_steps():
    # gym-aloha is in requirements.txt: this runs (and fails if it is missing), never skips.
    from imitation_ros.sim.aloha import ALOHA_JOINTS, make_aloha_sim

    sim = make_aloha_sim('aloha_transfer_cube', cameras=(('top', 48, 64),))
    try:
        obs = sim.reset(0)
        assert sim.joint_names == ALOHA_JOINTS and len(ALOHA_JOINTS) == 14
        assert obs[OBS_STATE].shape == (14,)
        assert obs[image_key('top')].shape == (48, 64, 3)
        q = sim.joint_positions()
        for _ in range(3):
            sim.step(q)
        assert sim.time_s == pytest.approx(0.06)
        assert not sim.success()                  # nothing was transferred
    finally:
        sim.close()
