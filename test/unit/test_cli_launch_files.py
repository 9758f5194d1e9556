"""Every launch file resolves, without ROS 2, to nodes and files that exist.

Regressions pinned:
- each Node(...) names an executable that setup.py installs and a module under nodes/;
- every params file a launch file passes exists and has the `<node>: ros__parameters:` form;
- unknown launch arguments are refused with the declared ones listed;
- deploy/dagger launches need the arm's profile named (no fallback to the simulator's): a
  clear error names the launch argument; their nodes start disabled unless enabled:=true.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from imitation_ros.cli import launcher
from imitation_ros.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((ROOT / 'launch').glob('*.launch.py'))
SETUP_NODES = set(re.findall(r"'(\w+_node)'", (ROOT / 'setup.py').read_text()))
ARM_LAUNCHES = ('deploy.launch.py', 'dagger.launch.py')


def required_args(path: Path) -> dict[str, str]:
    """Values for the arguments a launch file declares without a default."""
    return {'profile': 'sim_arm.yaml'} if path.name in ARM_LAUNCHES else {}


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_plans(path: Path) -> None:
    procs = launcher.plan(launcher.load_description(path), required_args(path))
    assert procs, f'{path.name} starts no node'
    for proc in procs:
        module = proc.argv[2]
        exe = module.rsplit('.', 1)[1]
        assert exe in SETUP_NODES, f'{path.name}: {exe} is not a console script in setup.py'
        assert (ROOT / 'imitation_ros' / 'nodes' / f'{exe}.py').is_file(), exe
        argv = list(proc.argv)
        for i, item in enumerate(argv):
            if item == '--params-file':
                params = Path(argv[i + 1])
                assert params.is_file(), f'{path.name}: missing params file {params}'
                data = yaml.safe_load(params.read_text())
                assert any('ros__parameters' in (v or {}) for v in data.values()), params
        assert f'__node:={proc.label}' in argv


def test_unknown_launch_argument_refused() -> None:
    desc = launcher.load_description(ROOT / 'launch' / 'sim_record.launch.py')
    with pytest.raises(ConfigError, match=r"unknown launch argument\(s\) \['nope'\]"):
        launcher.plan(desc, {'nope': '1'})
    with pytest.raises(ConfigError, match='name:=value'):
        launcher.parse_launch_args(['episodes=3'])


def test_launch_arguments_reach_the_nodes() -> None:
    desc = launcher.load_description(ROOT / 'launch' / 'sim_record.launch.py')
    procs = {p.label: p for p in launcher.plan(desc, {'episodes': '7', 'output_dir': '/x'})}
    assert 'episodes:=7' in procs['expert'].argv
    assert 'output_dir:=/x' in procs['recorder'].argv
    assert procs['expert'].shutdown_on_exit and not procs['sim'].shutdown_on_exit


@pytest.mark.parametrize('name', ARM_LAUNCHES)
def test_arm_launch_needs_a_profile_and_starts_disabled(name: str) -> None:
    desc = launcher.load_description(ROOT / 'launch' / name)
    with pytest.raises(ConfigError, match=r"launch argument 'profile' is required.*profile:="):
        launcher.plan(desc, {'checkpoint': 'runs/x'})
    procs = launcher.plan(desc, {'checkpoint': 'runs/x', 'profile': 'so_arm.yaml'})
    assert {p.label for p in procs} >= {'policy'}
    for proc in procs:
        assert 'profile:=so_arm.yaml' in proc.argv, proc.argv
        assert 'enabled:=false' in proc.argv, proc.argv      # moves only after ~/enable
    procs = launcher.plan(desc, {'checkpoint': 'runs/x', 'profile': 'so_arm.yaml',
                                 'enabled': 'true'})
    assert all('enabled:=true' in p.argv for p in procs)
