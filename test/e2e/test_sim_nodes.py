"""sim_node and expert_node as real processes, each test three ways (conftest ``backends``):
nodes and probe on the DDS backend, both on rclpy, and nodes on DDS with an rclpy probe.

Regressions pinned:
- measured receive rates of /joint_states, the camera (raw and compressed) and /clock are
  within 5 % of the configured rates, /clock advances at real time; stamps advance, frame
  ids are set; the image has the profile's size and the JPEG decodes to it;
- a forward command outside the joint limits is clamped (the joint stops at the limit) and
  reported (/diagnostics clamped_commands >= 1 and a warning in the sim's log); a
  JointTrajectory is followed to its point;
- a gymnasium env (Pendulum-v1) behind the same node publishes its joint and camera at
  the configured rates;
- the expert runs 2 episodes against the sim node (recorder absent: it says so and goes
  on), all succeed, and it exits 0.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

PROBE = r'''
import json, sys, time
from imitation_ros import graph
from imitation_ros.graph import Node, SingleThreadedExecutor, msg_type, qos_profile
from imitation_ros.messages.codecs import stamp_ns

mode, warm_s, window_s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
graph.init([sys.argv[0]])
node = Node('sim_probe')
executor = SingleThreadedExecutor()
executor.add_node(node)
spin_once = lambda node, timeout_sec: executor.spin_once(timeout_sec=timeout_sec)
seen = {}
last = {}

def keep(name):
    def cb(msg):
        seen.setdefault(name, []).append((time.monotonic(), msg))
        last[name] = msg
    return cb

node.create_subscription(msg_type('sensor_msgs/msg/JointState'), '/joint_states',
                         keep('js'), qos_profile('reliable', 200))
node.create_subscription(msg_type('sensor_msgs/msg/Image'), '/camera/color/image_raw',
                         keep('cam'), qos_profile('sensor_data', 50))
node.create_subscription(msg_type('sensor_msgs/msg/CompressedImage'),
                         '/camera/color/image_raw/compressed', keep('ccam'),
                         qos_profile('sensor_data', 50))
node.create_subscription(msg_type('rosgraph_msgs/msg/Clock'), '/clock', keep('clock'),
                         qos_profile('reliable', 200))
node.create_subscription(msg_type('diagnostic_msgs/msg/DiagnosticArray'), '/diagnostics',
                         keep('diag'), qos_profile('reliable'))

def spin_for(sec):
    end = time.monotonic() + sec
    while time.monotonic() < end:
        spin_once(node, timeout_sec=0.005)

end = time.monotonic() + 30.0            # wait for the sim
while 'js' not in seen and time.monotonic() < end:
    spin_once(node, timeout_sec=0.05)
out = {}
if mode == 'rates':
    spin_for(warm_s)
    seen.clear()
    spin_for(window_s)
    for name in ('js', 'cam', 'ccam', 'clock'):
        items = seen.get(name, [])
        t = [a for a, _ in items]
        out[name + '_hz'] = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 2 else 0.0
        if name in ('js', 'cam'):
            st = [stamp_ns(m) for _, m in items]
            out[name + '_stamps_increase'] = all(b > a for a, b in zip(st, st[1:]))
            out[name + '_frame'] = items[-1][1].header.frame_id if items else ''
    out['js_names'] = list(last['js'].name)
    img = last.get('cam')
    out['cam_hw'] = [int(img.height), int(img.width)] if img is not None else None
    out['cam_enc'] = str(img.encoding) if img is not None else None
    from imitation_ros.messages.codecs import compressed_to_rgb
    cimg = last.get('ccam')
    out['ccam_shape'] = list(compressed_to_rgb(cimg).shape) if cimg is not None else None
    out['wall_vs_clock_s'] = ((seen['clock'][-1][1].clock.sec - seen['clock'][0][1].clock.sec)
                              + (seen['clock'][-1][1].clock.nanosec
                                 - seen['clock'][0][1].clock.nanosec) * 1e-9) / (
        seen['clock'][-1][0] - seen['clock'][0][0])
elif mode == 'clamp':
    names = list(last['js'].name)
    i = names.index('elbow_flex')
    pub = node.create_publisher(msg_type('std_msgs/msg/Float64MultiArray'),
                                '/forward_position_controller/commands', qos_profile('reliable'))
    cmd = [float(v) for v in last['js'].position]
    cmd[i] = 3.0                                   # limit is 1.7 rad
    spin_for(1.0)                                  # let discovery match the publisher
    for _ in range(40):
        pub.publish(msg_type('std_msgs/msg/Float64MultiArray')(data=cmd))
        spin_for(0.05)
    spin_for(1.5)
    out['elbow_after_clamp'] = float(last['js'].position[i])
    traj_t = msg_type('trajectory_msgs/msg/JointTrajectory')
    point_t = msg_type('trajectory_msgs/msg/JointTrajectoryPoint')
    tpub = node.create_publisher(traj_t, '/arm_controller/joint_trajectory',
                                 qos_profile('reliable'))
    spin_for(1.0)
    p = point_t(positions=[0.9])
    p.time_from_start.sec = 1
    tpub.publish(traj_t(joint_names=['elbow_flex'], points=[p]))
    end = time.monotonic() + 8.0      # 1 s of sim time, plus slack for a loaded machine
    while time.monotonic() < end and abs(float(last['js'].position[i]) - 0.9) > 0.03:
        spin_for(0.1)
    out['elbow_after_traj'] = float(last['js'].position[i])
    diag = last.get('diag')
    vals = {kv.key: kv.value for kv in diag.status[0].values} if diag is not None else {}
    out['clamped_commands'] = int(vals.get('clamped_commands', -1))
    out['diag_message'] = diag.status[0].message if diag is not None else ''
print(json.dumps(out), flush=True)
node.destroy_node()
graph.try_shutdown()
'''


def _start_sim(python, node_env, log: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [python, '-m', 'imitation_ros.nodes.sim_node', '--ros-args', '-p', 'seed:=5', *extra],
        env=node_env, cwd=ROOT, stdout=log.open('w'), stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _probe(python, node_env, tmp_path: Path, *args: str) -> dict:
    script = tmp_path / 'probe.py'
    script.write_text(PROBE)
    res = subprocess.run([python, str(script), *args], env=node_env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    want = f'imitation_ros graph backend: {node_env["IMITATION_ROS_BACKEND"]}'
    assert want in res.stderr, res.stderr[-3000:]          # the probe ran where it should
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_published_rates_match_configuration(python, backends, tmp_path):
    log = tmp_path / 'sim.log'
    sim = _start_sim(python, backends.node_env, log, '-p', 'compressed:=true')
    try:
        out = _probe(python, backends.probe_env, tmp_path, 'rates', '2.0', '6.0')
    finally:
        _stop(sim)
    text = log.read_text()
    backends.expect_log(text, 'sim_node')
    assert out['js_hz'] == pytest.approx(100.0, rel=0.05), (out, text[-2000:])
    assert out['cam_hz'] == pytest.approx(30.0, rel=0.05), (out, text[-2000:])
    assert out['clock_hz'] == pytest.approx(100.0, rel=0.05), (out, text[-2000:])
    assert out['wall_vs_clock_s'] == pytest.approx(1.0, rel=0.05)   # real time
    assert out['js_stamps_increase'] and out['cam_stamps_increase']
    assert out['js_frame'] == 'base_link'
    assert out['cam_frame'] == 'front_camera_optical_frame'
    assert out['cam_hw'] == [96, 128] and out['cam_enc'] == 'rgb8'
    assert out['ccam_hz'] == pytest.approx(30.0, rel=0.05), out
    assert out['ccam_shape'] == [96, 128, 3]
    print('measured rates:', {k: round(v, 2) for k, v in out.items() if k.endswith('_hz')},
          'sim s per wall s:', round(out['wall_vs_clock_s'], 4))


def test_out_of_limit_command_is_clamped_and_reported(python, backends, tmp_path):
    log = tmp_path / 'sim.log'
    sim = _start_sim(python, backends.node_env, log)
    try:
        out = _probe(python, backends.probe_env, tmp_path, 'clamp', '0', '0')
    finally:
        _stop(sim)
    text = log.read_text()
    backends.expect_log(text, 'sim_node')
    assert 1.6 <= out['elbow_after_clamp'] <= 1.72, out      # went to the 1.7 limit, no further
    assert out['clamped_commands'] >= 1, out
    assert 'elbow_flex' in out['diag_message'], out
    assert 'clamped to limits' in text and 'elbow_flex' in text
    assert out['elbow_after_traj'] == pytest.approx(0.9, abs=0.05), out


PENDULUM_PROFILE = '''
name: pendulum
fps: 20
joints: {names: [pendulum], lower_rad: [-2.0], upper_rad: [2.0]}
state: {topic: /joint_states}
action: {topic: /leader/joint_states}
cameras:
  front: {topic: /camera/color/image_raw, height: 48, width: 64}
'''


def test_gymnasium_env_behind_the_same_node(python, backends, tmp_path):
    profile = tmp_path / 'pendulum.yaml'
    profile.write_text(PENDULUM_PROFILE)
    log = tmp_path / 'sim.log'
    sim = _start_sim(python, backends.node_env, log, '-p', 'task:=gym:Pendulum-v1',
                     '-p', f'profile:={profile}')
    try:
        out = _probe(python, backends.probe_env, tmp_path, 'rates', '2.0', '4.0')
    finally:
        _stop(sim)
    backends.expect_log(log.read_text(), 'sim_node')
    assert out['js_names'] == ['pendulum'], (out, log.read_text()[-2000:])
    assert out['js_hz'] == pytest.approx(100.0, rel=0.05), out
    assert out['cam_hz'] == pytest.approx(30.0, rel=0.05), out
    assert out['cam_hw'] == [48, 64]


def test_expert_node_runs_episodes_against_sim_node(python, backends, tmp_path):
    log = tmp_path / 'sim.log'
    sim = _start_sim(python, backends.node_env, log)
    try:
        t0 = time.monotonic()
        res = subprocess.run(
            [python, '-m', 'imitation_ros.nodes.expert_node', '--ros-args',
             '-p', 'episodes:=2', '-p', 'recorder_wait_s:=1.0'],
            env=backends.node_env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        elapsed = time.monotonic() - t0
    finally:
        _stop(sim)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:] + log.read_text()[-2000:]
    backends.expect_log(out, 'expert_node')
    assert 'Traceback' not in out and 'Traceback' not in log.read_text(), out[-3000:]
    assert 'no recorder' in out                       # absent recorder is said, not hidden
    assert 'done: 2/2 episodes succeeded' in out, out[-3000:]
    assert log.read_text().count('reset: episode=') == 2
    assert elapsed < 60


if __name__ == '__main__':  # pragma: no cover
    sys.exit(pytest.main([__file__, '-v']))
