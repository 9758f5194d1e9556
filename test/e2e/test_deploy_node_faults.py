"""policy_node against a scripted robot: enable ramp, reset, and holds, judged on what it publishes.

A fake robot process (one node) publishes the arm's joint states (100 Hz, a fixed pose) and a
camera (30 Hz, a fresh random image each frame, so the policy's output moves every frame),
records every command the policy node publishes, and drives it through phases:

``disabled`` (the default: no ``enabled`` parameter given) -> ``~/enable`` true -> ``run``
-> the camera stops (``stale_camera``) -> ``run2`` -> joint states carry a NaN
(``nan_state``) -> ``run3`` -> joint 0 measured beyond its upper limit (``out_of_limit``) ->
``~/reset`` -> ``run4`` -> ``~/enable`` false (``off``) -> ``~/enable`` true (``run5``).
The fake arm never follows, so at every boundary its pose lags the last command.

Regressions pinned (each on the commands received, with a floor on how many arrived):
- nothing is published before ``~/enable`` (the node starts disabled), nor after ``~/enable``
  false;
- the first command after ``~/enable`` is within one step cap of the measured pose (the ramp
  starts at the arm), and no two consecutive commands differ by more than the cap, across
  ``~/reset`` and a second ``~/enable`` too (the filter keeps stepping from its last
  command; before, ``~/reset`` restarted from the lagging pose and jumped back);
- while the camera is silent and while the state holds a NaN, every command equals the last
  one before the fault (a hold; never zeros, never a new action), and the node says why;
- with the camera back, the commands move again (the policy runs);
- while joint 0 is measured 0.3 rad beyond its limit (more than state_limit_tolerance_rad),
  every command is the last one before (a hold naming the joint);
- every command is finite and inside the joint limits.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from nodeproc import start_node as _start
from nodeproc import stop_node as _stop

from imitation_ros.profile import load_profile
from imitation_ros.resources import config_path

pytestmark = pytest.mark.e2e

ROBOT = r'''
import json, sys, time
import numpy as np
from imitation_ros import graph
from imitation_ros.graph import Node, msg_type, qos_profile, spin_once, srv_type
graph.init([sys.argv[0]])
node = Node('fake_robot')
JointState, Image = msg_type('sensor_msgs/msg/JointState'), msg_type('sensor_msgs/msg/Image')
Float64MultiArray = msg_type('std_msgs/msg/Float64MultiArray')
SetBool, Trigger = srv_type('std_srvs/srv/SetBool'), srv_type('std_srvs/srv/Trigger')
names, pose = json.loads(sys.argv[1]), np.array(json.loads(sys.argv[2]))
upper = np.array(json.loads(sys.argv[3]))
js_pub = node.create_publisher(JointState, '/joint_states', qos_profile('sensor_data', 10))
cam_pub = node.create_publisher(Image, '/camera/color/image_raw', qos_profile('sensor_data', 10))
enable = node.create_client(SetBool, '/policy/enable')
reset = node.create_client(Trigger, '/policy/reset')
rng = np.random.default_rng(0)
phase = ['start']
cmds = []
node.create_subscription(Float64MultiArray, '/forward_position_controller/commands',
                         lambda m: cmds.append([phase[0], time.monotonic(), list(m.data)]),
                         qos_profile('reliable', 100))

def stamp(msg):
    ns = node.get_clock().now().nanoseconds
    msg.header.stamp.sec, msg.header.stamp.nanosec = ns // 10**9, ns % 10**9

def run_for(seconds, camera=True, state=None):
    end = time.monotonic() + seconds
    next_js = next_cam = time.monotonic()
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_js:
            m = JointState(); stamp(m); m.name = names
            m.position = [float(v) for v in (pose if state is None else state)]
            js_pub.publish(m); next_js += 0.01
        if camera and now >= next_cam:
            m = Image(); stamp(m); m.height, m.width, m.encoding, m.step = 96, 128, 'rgb8', 384
            m.data = rng.integers(0, 255, 96 * 128 * 3, dtype=np.uint8).tobytes()
            cam_pub.publish(m); next_cam += 1 / 30
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

end = time.monotonic() + 60                    # the node is up: it started disabled
while not enable.service_is_ready():
    assert time.monotonic() < end, 'policy ~/enable not up'
    run_for(0.1)
phase[0] = 'disabled'; run_for(1.5)
phase[0] = 'enabling'                          # commands may arrive before the reply
call(enable, SetBool.Request(data=True))
phase[0] = 'run'; run_for(3.0)
phase[0] = 'stale_camera'; run_for(1.5, camera=False)
phase[0] = 'run2'; run_for(2.0)
bad = pose.copy(); bad[2] = float('nan')
phase[0] = 'nan_state'; run_for(1.0, state=bad)
phase[0] = 'run3'; run_for(1.5)
far = pose.copy(); far[0] = upper[0] + 0.3
phase[0] = 'out_of_limit'; run_for(1.0, state=far)
phase[0] = 'reset'; call(reset, Trigger.Request())
phase[0] = 'run4'; run_for(2.0)
call(enable, SetBool.Request(data=False))
phase[0] = 'off'; run_for(1.0)
call(enable, SetBool.Request(data=True))
phase[0] = 'run5'; run_for(1.5)
json.dump(cmds, open(sys.argv[4], 'w'))
node.destroy_node()
graph.try_shutdown()
'''


@pytest.fixture
def checkpoint(tiny_bc_checkpoint: Path) -> Path:
    """The session's tiny image BC checkpoint (``tiny_bc_checkpoint`` in test/conftest.py)."""
    return tiny_bc_checkpoint


def test_enable_reset_and_holds_on_what_is_published(
        checkpoint: Path, backends: Any, python: str, tmp_path: Path) -> None:
    profile = load_profile(config_path('sim_arm.yaml'))
    lower, upper = np.array(profile.limits.lower_rad), np.array(profile.limits.upper_rad)
    period = 1.0 / profile.fps
    cap = np.array(profile.limits.max_velocity_rad_s) * period
    pose = np.array([0.1, 0.4, 1.1, 1.2, 0.0, 0.5])
    policy = _start(python, backends.node_env, 'imitation_ros.nodes.policy_node',
                    '-p', f'checkpoint:={checkpoint}', '-p', 'device:=cpu',
                    '-p', 'command:=forward',
                    '-p', 'enable_ramp_s:=1.0', '-p', 'stale_obs_s:=0.3',
                    log=tmp_path / 'policy.log')
    try:
        out = tmp_path / 'cmds.json'
        robot = subprocess.run(
            [python, '-c', ROBOT, json.dumps(list(profile.joint_names)),
             json.dumps(pose.tolist()), json.dumps(upper.tolist()), str(out)],
            env=backends.probe_env, timeout=240, capture_output=True, text=True)
        logs = (tmp_path / 'policy.log').read_text()
        assert robot.returncode == 0, robot.stderr[-3000:] + logs[-3000:]
    finally:
        _stop(policy)
    backends.expect_log(logs, 'policy_node')
    got = json.loads(out.read_text())
    by: dict[str, list[tuple[float, np.ndarray]]] = {}
    for phase, t, cmd in got:
        by.setdefault(phase, []).append((t, np.array(cmd)))
    n = {k: len(v) for k, v in by.items()}
    assert 'disabled' not in by and 'start' not in by, n
    assert len(by.get('off', [])) <= 2, n                     # at most what was in flight
    for phase in ('run', 'stale_camera', 'run2', 'nan_state', 'run3', 'out_of_limit', 'run4',
                  'run5'):
        assert n.get(phase, 0) >= 15, f'{phase}: {n.get(phase, 0)} commands\n{logs[-3000:]}'
    allc = np.array([c for _, _, c in got])
    assert np.all(np.isfinite(allc))
    assert np.all(allc >= lower - 1e-9) and np.all(allc <= upper + 1e-9)
    # the first command after ~/enable ramps in from the measured pose
    first = (by.get('enabling') or by['run'])[0][1]
    assert np.all(np.abs(first - np.clip(pose, lower, upper)) <= cap + 1e-6)
    # the arm (which never follows) lags the last command at ~/reset and the second enable
    for before, after in (('out_of_limit', 'run4'), ('run4', 'run5')):
        assert np.any(np.abs(by[before][-1][1] - pose) > 1.5 * cap), (before, after)
    # every pair of consecutive commands, across every boundary, within the cap
    steps = np.abs(np.diff(allc, axis=0))
    worst = int(np.argmax((steps / cap).max(axis=1)))
    assert np.all(steps <= cap + 1e-6), \
        f'step {steps[worst]} > cap {cap} ({got[worst][0]} -> {got[worst + 1][0]})'

    def held(phase: str, prev: str) -> None:
        t0 = by[phase][0][0]
        last = by[prev][-1][1]
        late = [c for t, c in by[phase] if t > t0 + 0.5]      # after max age + stale margin
        assert len(late) >= 10, (phase, len(late))
        for c in late:
            assert np.array_equal(c, late[0]), f'{phase}: a new command during a hold'
        assert not np.allclose(late[0], 0.0)
        assert np.allclose(late[0], last, atol=cap.max() * 15)   # the hold keeps the arm there

    held('stale_camera', 'run')
    held('nan_state', 'run2')
    held('out_of_limit', 'run3')
    moved = np.abs(np.diff(np.array([c for _, c in by['run2']]), axis=0)).max()
    assert moved > 1e-6, 'with the camera back the policy did not run again'
    assert 'observation.images.front' in logs and 'stale' in logs
    assert 'non-finite' in logs
    assert 'outside the joint limits' in logs and 'shoulder_pan 2.300' in logs
