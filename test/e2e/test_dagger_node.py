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


LAGGING_ROBOT = r'''
import json, sys, time
import numpy as np
from imitation_ros import graph
from imitation_ros.graph import Node, msg_type, qos_profile, spin_once, srv_type
from imitation_ros.messages.codecs import fill_joint_state
graph.init([sys.argv[0]])
node = Node('policy')                         # plays the policy (and its ~/reset), the person
F64 = msg_type('std_msgs/msg/Float64MultiArray')
JS, Joy = msg_type('sensor_msgs/msg/JointState'), msg_type('sensor_msgs/msg/Joy')
SetBool, Trigger = srv_type('std_srvs/srv/SetBool'), srv_type('std_srvs/srv/Trigger')
names, pose = json.loads(sys.argv[1]), np.array(json.loads(sys.argv[2]))
phase, cmds, resets = ['start'], [], [0]
def on_reset(req, resp):
    resets[0] += 1; resp.success = True
    return resp
node.create_service(Trigger, '~/reset', on_reset)
node.create_subscription(F64, '/forward_position_controller/commands',
                         lambda m: cmds.append([phase[0], time.monotonic(),
                                                list(map(float, m.data))]),
                         qos_profile('reliable', 100))
js_pub = node.create_publisher(JS, '/joint_states', qos_profile('reliable', 10))
pol = node.create_publisher(F64, '/policy/command', qos_profile('reliable'))
lead = node.create_publisher(JS, '/leader/joint_states', qos_profile('reliable'))
joy = node.create_publisher(Joy, '/joy', qos_profile('reliable'))
enable = node.create_client(SetBool, '/dagger/enable')
take = node.create_client(SetBool, '/dagger/take_over')
reset = node.create_client(Trigger, '/dagger/reset')
policy_pose, leader_pose = pose.copy(), pose.copy()
policy_pose[1] += 0.2
leader_pose[:3] += [0.4, -0.35, 0.3]
held = [False]
def run_for(seconds):
    end = time.monotonic() + seconds
    nxt = time.monotonic()
    while time.monotonic() < end:
        if time.monotonic() >= nxt:
            nxt += 0.01                       # the arm never follows: a fixed pose, 100 Hz
            js_pub.publish(fill_joint_state(JS(), names, pose, time.time_ns()))
            m = F64(); m.data = [float(v) for v in policy_pose]; pol.publish(m)
            lead.publish(fill_joint_state(JS(), names, leader_pose, time.time_ns()))
            j = Joy(); j.axes = [0.0]; j.buttons = [0, 0, 0, 0, int(held[0])]; joy.publish(j)
        spin_once(node, timeout_sec=0.002)
def call(client, req):
    end = time.monotonic() + 60
    while not client.service_is_ready():
        assert time.monotonic() < end, f'{client.srv_name} not up'
        run_for(0.1)
    fut = client.call_async(req)
    while not fut.done():
        assert time.monotonic() < end, f'no answer from {client.srv_name}'
        run_for(0.01)
    return fut.result()
end = time.monotonic() + 60
while not (enable.service_is_ready() and take.service_is_ready()):
    assert time.monotonic() < end, 'dagger services not up'
    run_for(0.1)
phase[0] = 'disabled'; run_for(1.5)
phase[0] = 'enabling'                         # commands may arrive before the reply
call(enable, SetBool.Request(data=True))
phase[0] = 'policy'; run_for(2.0)
held[0] = True
phase[0] = 'human'; run_for(1.5)
held[0] = False
phase[0] = 'back'; run_for(1.5)
policy_pose = pose.copy(); policy_pose[0] -= 0.3
call(reset, Trigger.Request())
phase[0] = 'reset'; run_for(1.5)
call(take, SetBool.Request(data=True))
phase[0] = 'service'; run_for(1.5)
call(take, SetBool.Request(data=False))
phase[0] = 'service_back'; run_for(0.4)
call(enable, SetBool.Request(data=False))
phase[0] = 'off'; run_for(1.0)
call(enable, SetBool.Request(data=True))
phase[0] = 'again'; run_for(1.5)
json.dump({'cmds': cmds, 'resets': resets[0]}, open(sys.argv[3], 'w'))
node.destroy_node()
graph.try_shutdown()
'''


def test_dagger_gate_starts_disabled_and_keeps_the_cap_across_boundaries(
        node_env: dict[str, str], python: str, tmp_path: Path) -> None:
    """Issue 19: the gate publishes nothing before ~/enable; with an arm that never follows
    (its pose lags every command), consecutive commands never differ by more than the
    profile's velocity cap x period across enable, take-over, hand-back (Joy and service),
    ~/reset and a second enable. Before, the hand-back restarted from the measured pose."""
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import config_path

    profile = load_profile(config_path('sim_arm.yaml'))
    cap = np.array(profile.limits.max_velocity_rad_s) / profile.fps
    pose = np.array([0.1, 0.4, 1.1, 1.2, 0.0, 0.5])
    gate = _start(python, node_env, 'imitation_ros.nodes.dagger_node',
                  '-p', 'triggers:=[joy,service]', '-p', 'ramp_s:=0.3',
                  '-p', 'stale_obs_s:=0.3', log=tmp_path / 'dagger.log')
    try:
        out = tmp_path / 'robot.json'
        robot = subprocess.run([python, '-c', LAGGING_ROBOT, json.dumps(list(profile.joint_names)),
                                json.dumps(pose.tolist()), str(out)],
                               env=node_env, timeout=200, capture_output=True, text=True)
        logs = (tmp_path / 'dagger.log').read_text()
        assert robot.returncode == 0, robot.stderr[-3000:] + logs[-3000:]
        seen = json.loads(out.read_text())
    finally:
        _stop(gate)
    got = seen['cmds']
    by: dict[str, list[np.ndarray]] = {}
    for phase, _, cmd in got:
        by.setdefault(phase, []).append(np.array(cmd))
    n = {k: len(v) for k, v in by.items()}
    assert 'start' not in by and 'disabled' not in by, f'published before ~/enable: {n}'
    assert len(by.get('off', [])) <= 2, n
    for phase in ('policy', 'human', 'back', 'reset', 'service', 'service_back', 'again'):
        assert n.get(phase, 0) >= 5, f'{phase}: {n}\n{logs[-3000:]}'
    assert 'disabled: waiting for ~/enable' in logs and 'rad/s' in logs, logs[-2000:]
    allc = np.array([c for _, _, c in got])
    assert np.all(np.isfinite(allc)) and not np.any(np.all(allc == 0.0, axis=1))
    # the arm lagged the last command at each hand-back (restarting from it would jump)
    for before in ('human', 'service', 'service_back'):
        assert np.any(np.abs(by[before][-1] - pose) > 1.5 * cap), before
    steps = np.abs(np.diff(allc, axis=0))
    worst = int(np.argmax((steps / cap).max(axis=1)))
    assert np.all(steps <= cap + 1e-6), \
        f'step {steps[worst]} > cap {cap} ({got[worst][0]} -> {got[worst + 1][0]})\n{logs[-2000:]}'
    # the gate followed the person, then the policy again (within the lead limit of the arm)
    assert np.abs(by['human'][-1] - pose).max() > 0.25
    assert seen['resets'] >= 2, 'policy ~/reset not called on hand-back'


@pytest.mark.parametrize(('args', 'named'), [
    (['-p', 'max_step_rad:=.inf'], 'max_step_rad'),
    (['-p', 'max_lead_rad:=.nan'], 'max_lead_rad'),
    (['-p', 'velocity_scale:=0.0'], 'velocity_scale'),
    (['-p', 'PROFILE_WITHOUT_VELOCITY'], 'max_velocity_rad_s'),
])
def test_bad_safety_config_stops_the_gate_naming_it(node_env: dict[str, str], python: str,
                                                    tmp_path: Path, args: list[str],
                                                    named: str) -> None:
    """A cap removed by configuration (inf, nan, 0 where 0 is not "off") or a profile that
    does not state the arm's velocity limits: exit 1 before anything runs, naming it."""
    import yaml

    from imitation_ros.resources import config_path

    if args[-1] == 'PROFILE_WITHOUT_VELOCITY':
        prof = yaml.safe_load(config_path('sim_arm.yaml').read_text())
        del prof['joints']['max_velocity_rad_s']
        path = tmp_path / 'no_velocity.yaml'
        path.write_text(yaml.safe_dump(prof))
        args = ['-p', f'profile:={path}']
    res = subprocess.run([python, '-m', 'imitation_ros.nodes.dagger_node', '--ros-args',
                          *args], env=node_env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stderr[-2000:]
    assert named in res.stderr and 'Traceback' not in res.stderr, res.stderr[-2000:]
