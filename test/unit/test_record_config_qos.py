"""Recorder config validation and the QoS choice per topic.

Regressions pinned:
- flush_period_s above 1 s is refused (kill -9 must lose at most one second);
- unknown storage / compression / keys are refused with the field named;
- the profile's explicit QoS wins; ``auto`` follows the publishers (any best effort ->
  sensor_data); without publishers cameras get sensor_data, the rest reliable;
- config/record.yaml holds exactly the RecorderConfig fields, each with a comment.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from imitation_ros.errors import ConfigError
from imitation_ros.record import RecorderConfig, choose_qos

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(('kw', 'match'), [
    ({'flush_period_s': 2.0}, 'flush_period_s must be <= 1.0'),
    ({'storage': 'bag1'}, 'storage must be one of'),
    ({'compression': 'lz4'}, 'compression must be one of'),
    ({'joy_start_button': -3}, 'joy_start_button must be'),
    ({'preroll_s': 9.0}, 'preroll_s must be in'),
])
def test_bad_values(kw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        RecorderConfig(**kw)


def test_unknown_key() -> None:
    with pytest.raises(ConfigError, match=r"recorder: unknown key\(s\) \['flush_s'\]"):
        RecorderConfig.from_dict({'flush_s': 1.0})


def test_qos_choice() -> None:
    assert choose_qos('state', 'sensor_data', ['RELIABLE']) == 'sensor_data'
    assert choose_qos('camera', 'auto', ['RELIABLE', 'RELIABLE']) == 'reliable'
    assert choose_qos('state', 'auto', ['RELIABLE', 'BEST_EFFORT']) == 'sensor_data'
    assert choose_qos('camera', 'auto', None) == 'sensor_data'
    assert choose_qos('action', 'auto', []) == 'reliable'


def test_params_file_matches_config() -> None:
    text = (ROOT / 'config' / 'record.yaml').read_text()
    params = yaml.safe_load(text)['recorder']['ros__parameters']
    assert set(params) == {f.name for f in fields(RecorderConfig)}
    RecorderConfig.from_dict(params)
    for line in text.splitlines():
        if line.startswith('    ') and ':' in line:
            assert '#' in line, f'no comment: {line}'
