"""dagger_node between a (stand-in) policy stream and sim_node, real processes over DDS.

A probe process plays the policy node (publishes /policy/command, serves /policy/reset) and
the person (leader arm on /leader/joint_states, deadman on /joy). Pinned:
- the gate forwards the policy's commands, then the leader's while the deadman is held, then
  the policy's again; every output step is within max_step_rad, finite, never zeros;
- ~/human_in_control (std_msgs/Bool, latched: the only control-change stream on the graph)
  goes false -> true -> false with the deadman, and the policy's ~/reset is called when
  control returns;
- the arm (sim_node) follows the output.
"""
from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import numpy as np
import pytest
from nodeproc import start_node as _start
from nodeproc import stop_node as _stop

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

PROBE = r'''
import json, sys, time
import numpy as np
from imitation_ros import graph
from imitation_ros.graph import Node, msg_type, qos_profile, spin_once, srv_type
from imitation_ros.messages.codecs import fill_joint_state
graph.init([sys.argv[0]])
node = Node('policy')                         # /policy/reset lives here
F64 = msg_type('std_msgs/msg/Float64MultiArray')
JS = msg_type('sensor_msgs/msg/JointState')
Joy = msg_type('sensor_msgs/msg/Joy')
names = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper']
seen = {'cmds': [], 'control': [], 'resets': 0, 'states': []}
def on_reset(req, resp):
    seen['resets'] += 1
    resp.success = True
    return resp
node.create_service(srv_type('std_srvs/srv/Trigger'), '~/reset', on_reset)
node.create_subscription(F64, '/forward_position_controller/commands',
                         lambda m: seen['cmds'].append((time.monotonic(), list(map(float, m.data)))),
                         qos_profile('reliable', 100))
node.create_subscription(msg_type('std_msgs/msg/Bool'), '/dagger/human_in_control',
                         lambda m: seen['control'].append((time.monotonic(), bool(m.data))),
                         qos_profile('latched'))
q0 = []
node.create_subscription(JS, '/joint_states', lambda m: (q0.append(list(map(float, m.position))),
                         seen['states'].append((time.monotonic(), list(map(float, m.position))))),
                         qos_profile('reliable', 200))
pol = node.create_publisher(F64, '/policy/command', qos_profile('reliable'))
lead = node.create_publisher(JS, '/leader/joint_states', qos_profile('reliable'))
joy = node.create_publisher(Joy, '/joy', qos_profile('reliable'))
t_end = time.monotonic() + 60
while not q0 and time.monotonic() < t_end:
    spin_once(node, timeout_sec=0.05)
base = np.array(q0[-1])
policy_pose = base.copy(); policy_pose[1] += 0.1
leader_pose = base.copy(); leader_pose[1] += 0.5; leader_pose[0] += 0.3
phases = [(4.0, False), (4.0, True), (4.0, False)]     # (seconds, deadman held)
marks = []
for dur, held in phases:
    marks.append((time.monotonic(), held))
    end = time.monotonic() + dur
    nxt = 0.0
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= nxt:
            nxt = now + 0.02
            m = F64(); m.data = [float(v) for v in policy_pose]; pol.publish(m)
            js = fill_joint_state(JS(), names, leader_pose if held else policy_pose, time.time_ns())
            lead.publish(js)
            j = Joy(); j.axes = [0.0, 0.0]; j.buttons = [0, 0, 0, 0, int(held)]; joy.publish(j)
        spin_once(node, timeout_sec=0.005)
seen['marks'] = marks
seen['policy_pose'] = policy_pose.tolist(); seen['leader_pose'] = leader_pose.tolist()
json.dump(seen, open(sys.argv[1], 'w'))
node.destroy_node()
graph.try_shutdown()
'''





def test_dagger_gate_hands_over_and_back(node_env: dict[str, str], python: str,
                                         tmp_path: Path) -> None:
    cap = 0.05
    sim = _start(python, node_env, 'imitation_ros.nodes.sim_node', log=tmp_path / 'sim.log')
    gate = _start(python, node_env, 'imitation_ros.nodes.dagger_node',
                  '-p', 'triggers:=[joy]', '-p', f'max_step_rad:={cap}', '-p', 'ramp_s:=0.3',
                  '-p', 'stale_obs_s:=0.3', '-p', 'enabled:=true', log=tmp_path / 'dagger.log')
    try:
        out = tmp_path / 'probe.json'
        probe = subprocess.run([python, '-c', PROBE, str(out)], env=node_env, timeout=150,
                               capture_output=True, text=True)
        logs = (tmp_path / 'dagger.log').read_text()
        assert probe.returncode == 0, probe.stderr + logs
        seen = json.loads(out.read_text())
    finally:
        _stop(gate)
        _stop(sim)
    cmds = np.array([c for _, c in seen['cmds']])
    t_cmd = np.array([t for t, _ in seen['cmds']])
    assert len(cmds) > 100, f'dagger published {len(cmds)} commands\n{logs}'
    assert np.all(np.isfinite(cmds)) and not np.any(np.all(cmds == 0.0, axis=1))
    steps = np.abs(np.diff(cmds, axis=0)).max(axis=1)
    assert steps.max() <= cap + 1e-6, f'step {steps.max()} > cap {cap}'
    (t0, _), (t1, _), (t2, _) = seen['marks']
    pol, lead = np.array(seen['policy_pose']), np.array(seen['leader_pose'])
    before = cmds[(t_cmd > t0 + 2.5) & (t_cmd < t1)]
    during = cmds[(t_cmd > t1 + 2.5) & (t_cmd < t2)]
    after = cmds[t_cmd > t2 + 2.5]
    assert len(before) and len(during) and len(after), logs
    assert np.allclose(before, pol, atol=1e-3), 'policy commands not forwarded'
    assert np.allclose(during, lead, atol=1e-3), 'leader not followed under the deadman'
    assert np.allclose(after, pol, atol=1e-3), 'control did not return to the policy'
    control = [c for _, c in seen['control']]
    changes = [c for i, c in enumerate(control) if i == 0 or c != control[i - 1]]
    assert changes == [False, True, False], control
    t_on = next(t for t, c in seen['control'] if c)
    assert t1 <= t_on < t1 + 1.0
    assert seen['resets'] >= 1, 'policy ~/reset not called on hand-back'
    states = np.array([s for _, s in seen['states']])
    assert np.abs(states[-1] - states[0]).max() > 0.05, 'the arm did not follow the gate'
