"""Robot profile loading and validation.

Regressions pinned:
- unknown keys are rejected with the file and section named, not ignored;
- joints are named; limits must be ordered and one per joint;
- the features dict uses the lerobot keys and the profile's joint order.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imitation_ros.errors import ConfigError
from imitation_ros.profile import ACTION, OBS_STATE, image_key, load_profile, profile_from_dict
from imitation_ros.resources import config_path, resolve_config

ROOT = Path(__file__).resolve().parents[2]


def _base() -> dict:
    return yaml.safe_load((ROOT / 'config' / 'sim_arm.yaml').read_text())


@pytest.mark.parametrize('name', ['sim_arm.yaml', 'so_arm.yaml'])
def test_shipped_profiles_load(name: str) -> None:
    prof = load_profile(config_path(name))
    assert prof.n_joints == 6
    feats = prof.features()
    assert feats[OBS_STATE]['names'] == list(prof.joint_names)
    assert feats[ACTION]['shape'] == (6,)
    for cam in prof.cameras:
        assert feats[image_key(cam.name)]['shape'] == (cam.height, cam.width, 3)
        assert feats[image_key(cam.name)]['dtype'] == 'video'
    assert prof.topics()[prof.state.topic] == 'sensor_msgs/msg/JointState'


def test_unknown_key_names_file_and_section(tmp_path: Path) -> None:
    data = _base()
    data['state']['maxage'] = 0.1
    path = tmp_path / 'bad.yaml'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"bad.yaml: state: unknown key\(s\) \['maxage'\]"):
        load_profile(path)


def test_limits_length_and_order() -> None:
    data = _base()
    data['joints']['lower_rad'] = data['joints']['lower_rad'][:-1]
    with pytest.raises(ConfigError, match='lower_rad: expected a list of 6 numbers'):
        profile_from_dict(data)
    data = _base()
    data['joints']['lower_rad'][2] = 5.0
    with pytest.raises(ConfigError, match=r"elbow_flex"):
        profile_from_dict(data)


def test_bad_types_rejected() -> None:
    data = _base()
    data['cameras']['front']['type'] = 'sensor_msgs/msg/JointState'
    with pytest.raises(ConfigError, match='cameras.front: type'):
        profile_from_dict(data)
    data = _base()
    data['state']['type'] = 'std_msgs/msg/String'
    with pytest.raises(ConfigError, match='state: type'):
        profile_from_dict(data)
    data = _base()
    data['fps'] = 0
    with pytest.raises(ConfigError, match='fps'):
        profile_from_dict(data)
    data = _base()
    data['joints']['names'][1] = data['joints']['names'][0]
    with pytest.raises(ConfigError, match='duplicate'):
        profile_from_dict(data)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='cannot read profile'):
        load_profile(tmp_path / 'nope.yaml')
    bad = tmp_path / 'broken.yaml'
    bad.write_text('name: [unclosed\n')
    with pytest.raises(ConfigError, match='broken.yaml: not valid YAML'):
        load_profile(bad)


def test_resolve_config_by_name() -> None:
    assert resolve_config('sim_arm') == config_path('sim_arm.yaml')
    with pytest.raises(ConfigError, match='no such file'):
        resolve_config('does_not_exist')
