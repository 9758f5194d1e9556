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
    assert cfg.enabled is False                          # the gate starts disabled
    assert cfg.safety().max_lead_rad == pytest.approx(0.5)


@pytest.mark.parametrize(('kw', 'match'), [
    ({'triggers': ('pedal',)}, 'triggers'),
    ({'deviation_on_rad': 0.1, 'deviation_off_rad': 0.2}, 'hysteresis'),
    ({'mode': 'dagger'}, 'mode'),
    ({'beta0': 1.5}, 'beta0'),
    ({'rate_hz': -1.0}, 'rate_hz'),
    ({'policy_stale_s': 0.0}, 'policy_stale_s'),
    ({'rate_hz': float('nan')}, 'rate_hz'),
    ({'max_step_rad': float('inf')}, 'max_step_rad'),
    ({'max_step_rad': float('nan')}, 'max_step_rad'),
    ({'max_step_rad': -0.1}, 'max_step_rad'),
    ({'max_lead_rad': float('inf')}, 'max_lead_rad'),
    ({'velocity_scale': 0.0}, 'velocity_scale'),
    ({'velocity_scale': float('nan')}, 'velocity_scale'),
    ({'stale_obs_s': float('inf')}, 'stale_obs_s'),
    ({'state_limit_tolerance_rad': float('inf')}, 'state_limit_tolerance_rad'),
    ({'ramp_s': float('nan')}, 'ramp_s'),
])
def test_bad_values_name_the_parameter(kw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        DaggerNodeConfig(**kw)


def test_launch_plans_policy_and_dagger() -> None:
    desc = launcher.load_description(ROOT / 'launch' / 'dagger.launch.py')
    procs = launcher.plan(desc, {'checkpoint': 'runs/x', 'profile': 'sim_arm.yaml'})
    text = ' '.join(' '.join(map(str, p.cmd)) if hasattr(p, 'cmd') else str(p) for p in procs)
    assert 'policy_node' in text and 'dagger_node' in text
    assert '/policy/command' in text
