"""config/dagger.yaml holds exactly the keys of DaggerNodeConfig, with valid values; bad
values fail with the parameter's name; the launch file plans policy + dagger nodes."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from imitation_ros.cli import launcher
from imitation_ros.dagger.config import DaggerNodeConfig
from imitation_ros.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_params_file_matches_config() -> None:
    doc = yaml.safe_load((ROOT / 'config' / 'dagger.yaml').read_text())
    params = doc['dagger']['ros__parameters']
    fields = {f.name for f in dataclasses.fields(DaggerNodeConfig)}
    assert set(params) == fields
    params['triggers'] = tuple(params['triggers'])
    cfg = DaggerNodeConfig(**params)
    assert cfg.gate().triggers == ('joy', 'service', 'deviation')
    assert cfg.core(1 / 30).period_s == pytest.approx(1 / 30)


@pytest.mark.parametrize(('kw', 'match'), [
    ({'triggers': ('pedal',)}, 'triggers'),
    ({'deviation_on_rad': 0.1, 'deviation_off_rad': 0.2}, 'hysteresis'),
    ({'mode': 'dagger'}, 'mode'),
    ({'beta0': 1.5}, 'beta0'),
    ({'rate_hz': -1.0}, 'rate_hz'),
    ({'policy_stale_s': 0.0}, 'policy_stale_s'),
])
def test_bad_values_name_the_parameter(kw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        DaggerNodeConfig(**kw)


def test_launch_plans_policy_and_dagger() -> None:
    desc = launcher.load_description(ROOT / 'launch' / 'dagger.launch.py')
    procs = launcher.plan(desc, {'checkpoint': 'runs/x'})
    text = ' '.join(' '.join(map(str, p.cmd)) if hasattr(p, 'cmd') else str(p) for p in procs)
    assert 'policy_node' in text and 'dagger_node' in text
    assert '/policy/command' in text
