"""policy_node driving sim_node, both real processes over DDS.

Regressions pinned:
- the policy node publishes forward commands from a trained checkpoint: finite, inside the
  profile's joint limits, each a step of at most max_step_rad from the previous one;
- the simulated arm follows those commands (its joint states move);
- when the arm's state stops (the sim is stopped), the policy node never publishes a new
  command: it repeats the last one every period (hold), never zeros;
- a missing checkpoint stops the node with exit code 1 and a one-line error, before it
  publishes anything.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from nodeproc import start_node as _start
from nodeproc import stop_node as _stop

from imitation_ros.profile import load_profile
from imitation_ros.resources import config_path

pytestmark = pytest.mark.e2e

PROBE = r'''
import json, sys, time
from imitation_ros import graph
from imitation_ros.graph import Node, msg_type, qos_profile, spin_once
graph.init([sys.argv[0]])
node = Node('policy_probe')
cmds, states = [], []
node.create_subscription(msg_type('std_msgs/msg/Float64MultiArray'),
                         '/forward_position_controller/commands',
                         lambda m: cmds.append((time.monotonic(), list(map(float, m.data)))),
                         qos_profile('reliable', 100))
node.create_subscription(msg_type('sensor_msgs/msg/JointState'), '/joint_states',
                         lambda m: states.append((time.monotonic(), list(map(float, m.position)))),
                         qos_profile('reliable', 200))
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    spin_once(node, timeout_sec=0.05)
json.dump({'cmds': cmds, 'states': states}, open(sys.argv[2], 'w'))
node.destroy_node()
graph.try_shutdown()
'''


@pytest.fixture
def checkpoint(tiny_bc_checkpoint: Path) -> Path:
    """The session's tiny image BC checkpoint (``tiny_bc_checkpoint`` in test/conftest.py)."""
    return tiny_bc_checkpoint





def test_policy_commands_sim_within_limits_and_holds(
        checkpoint: Path, backends: Any, python: str, tmp_path: Path) -> None:
    profile = load_profile(config_path('sim_arm.yaml'))
    lower, upper = np.array(profile.limits.lower_rad), np.array(profile.limits.upper_rad)
    max_step = 0.05
    sim = _start(python, backends.node_env, 'imitation_ros.nodes.sim_node',
                 log=tmp_path / 'sim.log')
    policy = _start(python, backends.node_env, 'imitation_ros.nodes.policy_node',
                    '-p', f'checkpoint:={checkpoint}', '-p', 'device:=cpu',
                    '-p', 'command:=forward', '-p', f'max_step_rad:={max_step}',
                    '-p', 'stale_obs_s:=0.3', '-p', 'enabled:=true',
                    log=tmp_path / 'policy.log')
    try:
        out1 = tmp_path / 'probe1.json'
        probe = subprocess.run([python, '-c', PROBE, '12', str(out1)], env=backends.probe_env,
                               timeout=90, capture_output=True, text=True)
        assert probe.returncode == 0, probe.stderr
        seen = json.loads(out1.read_text())
        cmds = np.array([c for _, c in seen['cmds']])
        states = np.array([s for _, s in seen['states']])
        logs = (tmp_path / 'policy.log').read_text()
        backends.expect_log(logs, 'policy_node')
        assert len(cmds) > 30, f'policy published {len(cmds)} commands\n{logs}'
        assert np.all(np.isfinite(cmds))
        assert np.all(cmds >= lower - 1e-9) and np.all(cmds <= upper + 1e-9)
        steps = np.abs(np.diff(cmds, axis=0)).max(axis=1)
        assert steps.max() <= max_step + 1e-6, f'step {steps.max()} > cap {max_step}'
        assert len(states) > 100
        moved = np.abs(states[-1] - states[0]).max()
        assert moved > 0.02, f'the arm did not follow the policy (moved {moved} rad)'

        _stop(sim)                      # the arm's state stops: the policy must not go on
        time.sleep(1.0)
        out2 = tmp_path / 'probe2.json'
        probe = subprocess.run([python, '-c', PROBE, '4', str(out2)], env=backends.probe_env,
                               timeout=60, capture_output=True, text=True)
        assert probe.returncode == 0, probe.stderr
        after = [c for _, c in json.loads(out2.read_text())['cmds']]
        assert policy.poll() is None, 'policy node died when the state stopped'
        # a hold repeats the last command every period: nothing new, never zeros
        assert len(after) > 30, f'{len(after)} commands while holding'
        assert np.allclose(after, after[0])
        assert not np.allclose(after[0], 0.0)
        assert 'stale' in (tmp_path / 'policy.log').read_text()
    finally:
        _stop(policy)
        _stop(sim)


def test_missing_checkpoint_exits_with_clear_error(nodes_backends: Any, python: str,
                                                   tmp_path: Path) -> None:
    res = subprocess.run([python, '-m', 'imitation_ros.nodes.policy_node', '--ros-args',
                          '-p', f'checkpoint:={tmp_path / "nope"}'], env=nodes_backends.node_env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    assert 'nope' in res.stderr and 'Traceback' not in res.stderr
