"""config/sim.yaml and config/expert.yaml stay in sync with the node configs.

Regressions pinned:
- every key of the params files is a field of SimNodeConfig / ExpertNodeConfig and every
  field has a key (one list, no drift), each with a comment;
- the files' values build valid configs; invalid values raise ConfigError naming the field;
- the sim profile's joints fit the model; an unknown task is refused.
"""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from imitation_ros.errors import ConfigError, SimError
from imitation_ros.profile import profile_from_dict
from imitation_ros.resources import config_path
from imitation_ros.sim import ExpertNodeConfig, SimNodeConfig, load_profile_for_sim
from imitation_ros.sim.model import build_mjcf


@pytest.mark.parametrize(('file', 'node', 'cls'), [
    ('sim.yaml', 'sim', SimNodeConfig), ('expert.yaml', 'expert', ExpertNodeConfig)])
def test_params_file_matches_config(file, node, cls):
    path = config_path(file)
    params = yaml.safe_load(path.read_text())[node]['ros__parameters']
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(params) == fields
    cls(**params)
    for line in path.read_text().splitlines():
        if line.startswith('    ') and ':' in line:
            assert '#' in line, f'{file}: no comment on {line.strip()!r}'


def test_invalid_values_are_named():
    with pytest.raises(ConfigError, match='joint_state_hz'):
        SimNodeConfig(joint_state_hz=0.0)
    with pytest.raises(ConfigError, match='perturb_prob'):
        ExpertNodeConfig(perturb_prob=2.0)


def test_profile_joints_must_fit_the_model():
    profile = load_profile_for_sim()
    assert 'name="shoulder_pan"' in build_mjcf(profile)
    data = {'name': 'x', 'fps': 30,
            'joints': {'names': ['a', 'b'], 'lower_rad': [-1, -1], 'upper_rad': [1, 1]},
            'state': {'topic': '/joint_states'}, 'action': {'topic': '/leader/joint_states'}}
    with pytest.raises(SimError, match='do not match the simulated arm'):
        build_mjcf(profile_from_dict(data))
