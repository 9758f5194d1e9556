"""policy_node with a policy slower than several control periods, driving sim_node over DDS.

A tiny ACT checkpoint (chunks of 16 rows) and ``min_inference_s`` = 0.2 s (6 control periods
at 30 Hz): the node must keep commanding every period while the worker thread infers.
Trajectory output is checked message by message, on what the probe received.

Regressions pinned:
- JointTrajectory: the profile's joint names; stamped ahead (node period - 10 ms); first point at
  time_from_start 0, then the chunk on the control-period grid up to the horizon; every point
  inside the joint limits; no step between points above the velocity cap; what
  JointTrajectoryController executes of the messages as received (deploy.jtc model, 100 Hz)
  moves no joint faster than its cap in any cycle;
- the node publishes many commands per forward pass (the tick does not wait for inference),
  reports latency, queue depth, seams and holds on /diagnostics;
- the simulated arm follows;
- ``~/enable`` false sends one one-point hold trajectory and then nothing.
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

from imitation_ros.deploy.jtc import TrajMsg, execute
from imitation_ros.profile import load_profile
from imitation_ros.resources import config_path

pytestmark = pytest.mark.e2e

PROBE = r'''
import json, sys, time
from imitation_ros import graph
from imitation_ros.graph import Node, msg_type, qos_profile, spin_once, srv_type
graph.init([sys.argv[0]])
node = Node('policy_probe')
trajs, states, diags = [], [], []

def on_traj(m):
    trajs.append({'stamp': m.header.stamp.sec * 10**9 + m.header.stamp.nanosec,
                  'recv': time.time_ns(),
                  'names': list(m.joint_names),
                  'tfs': [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9
                          for p in m.points],
                  'pos': [list(map(float, p.positions)) for p in m.points]})

def on_diag(m):
    for s in m.status:
        if s.name.endswith('policy'):
            diags.append({kv.key: kv.value for kv in s.values})

node.create_subscription(msg_type('trajectory_msgs/msg/JointTrajectory'),
                         '/arm_controller/joint_trajectory', on_traj, qos_profile('reliable', 100))
node.create_subscription(msg_type('sensor_msgs/msg/JointState'), '/joint_states',
                         lambda m: states.append(list(map(float, m.position))),
                         qos_profile('reliable', 200))
node.create_subscription(msg_type('diagnostic_msgs/msg/DiagnosticArray'), '/diagnostics',
                         on_diag, qos_profile('reliable', 20))
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    spin_once(node, timeout_sec=0.05)
disabled_at = None
if len(sys.argv) > 3:           # then ~/enable false: a hold trajectory, then silence
    enable = node.create_client(srv_type('std_srvs/srv/SetBool'), '/policy/enable')
    while not enable.service_is_ready():
        spin_once(node, timeout_sec=0.05)
    fut = enable.call_async(srv_type('std_srvs/srv/SetBool').Request(data=False))
    while not fut.done():
        spin_once(node, timeout_sec=0.01)
    disabled_at = len(trajs)
    end = time.monotonic() + float(sys.argv[3])
    while time.monotonic() < end:
        spin_once(node, timeout_sec=0.05)
json.dump({'trajs': trajs, 'states': states, 'diags': diags, 'disabled_at': disabled_at},
          open(sys.argv[2], 'w'))
node.destroy_node()
graph.try_shutdown()
'''


@pytest.fixture(scope='module')
def act_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ACT (chunk 16) trained a few steps on a synthetic dataset with the sim's features."""
    from imitation_ros.learn import TrainConfig, train
    from imitation_ros.learn.synthetic import make_synthetic_dataset

    tmp = tmp_path_factory.mktemp('act')
    profile = load_profile(config_path('sim_arm.yaml'))
    ds = make_synthetic_dataset(tmp / 'ds', profile, n_episodes=3, n_frames=20)
    train(TrainConfig(dataset=ds, policy='act', output_dir=tmp / 'run', steps=4, batch_size=4,
                      val_every=4, save_every=4, device='cpu', progress=False,
                      policy_overrides={'chunk_size': 16, 'n_action_steps': 16,
                                        'dim_model': 32, 'n_heads': 2, 'dim_feedforward': 64,
                                        'n_encoder_layers': 1, 'n_vae_encoder_layers': 1,
                                        'vision_backbone': 'resnet18'}))
    return tmp / 'run'





def test_slow_policy_trajectory_every_period(
        act_checkpoint: Path, backends: Any, python: str, tmp_path: Path) -> None:
    profile = load_profile(config_path('sim_arm.yaml'))
    lower, upper = np.array(profile.limits.lower_rad), np.array(profile.limits.upper_rad)
    period = 1.0 / profile.fps
    vel = np.array(profile.limits.max_velocity_rad_s)
    sim = _start(python, backends.node_env, 'imitation_ros.nodes.sim_node',
                 log=tmp_path / 'sim.log')
    policy = _start(python, backends.node_env, 'imitation_ros.nodes.policy_node',
                    '-p', f'checkpoint:={act_checkpoint}', '-p', 'device:=cpu',
                    '-p', 'command:=trajectory', '-p', 'min_inference_s:=0.2',
                    '-p', 'enable_ramp_s:=0.3', '-p', 'stale_obs_s:=0.3', '-p', 'enabled:=true',
                    log=tmp_path / 'policy.log')
    try:
        out = tmp_path / 'probe.json'
        probe = subprocess.run([python, '-c', PROBE, '14', str(out), '2'],
                               env=backends.probe_env, timeout=120, capture_output=True,
                               text=True)
        assert probe.returncode == 0, probe.stderr
        seen = json.loads(out.read_text())
        logs = (tmp_path / 'policy.log').read_text()
        backends.expect_log(logs, 'policy_node')
        trajs = seen['trajs']
        assert len(trajs) > 30, f'policy published {len(trajs)} trajectories\n{logs[-3000:]}'
        sent = []
        for m in trajs:
            assert m['names'] == list(profile.joint_names)
            assert m['stamp'] > 0 and m['tfs'][0] == 0.0
            assert m['tfs'][-1] <= 0.2 + 1e-6                          # the horizon
            tfs, pos = np.array(m['tfs']), np.array(m['pos'])
            assert np.all(np.diff(tfs) > 0)
            assert np.allclose(tfs / period, np.round(tfs / period), atol=1e-4)
            assert np.all(np.isfinite(pos))
            assert np.all(pos >= lower - 1e-9) and np.all(pos <= upper + 1e-9)
            gaps = np.diff(tfs)[:, None]
            assert np.all(np.abs(np.diff(pos, axis=0)) <= vel * gaps + 1e-6)
            # arrival: published at stamp - delay (node period - 10 ms), delivered in 2 ms (the
            # probe's own receive times include its scheduling on a loaded machine)
            sent.append((m['stamp'] * 1e-9 - (period - 0.01) + 0.002,
                         TrajMsg(tuple(m['names']), m['stamp'] * 1e-9, tfs, pos)))
        assert max(len(m['tfs']) for m in trajs) > 1, 'no message carried the rest of a chunk'
        t0 = sent[0][0]
        sent = [(a - t0, TrajMsg(msg.joint_names, msg.stamp_s - t0, msg.times_s,
                                 msg.positions)) for a, msg in sent]
        _, q = execute(profile.joint_names, sent[0][1].positions[0], sent, rate_hz=100.0,
                       t_end_s=sent[-1][0] + 0.5)
        speed = np.abs(np.diff(q, axis=0)) / 0.01
        # 1e-3: time_from_start and stamps are whole nanoseconds
        assert np.all(speed <= vel * (1 + 1e-3)), f'JTC would run {speed.max(0)} rad/s'
        diags = seen['diags']
        assert diags, f'no /diagnostics from the policy node\n{logs[-3000:]}'
        last = diags[-1]
        for key in ('latency_p50_ms', 'latency_p99_ms', 'queue_depth', 'seams', 'stalls',
                    'period_err_p99_ms'):
            assert key in last
        assert int(last['inferences']) >= 2
        assert float(last['latency_p50_ms']) >= 200.0          # the padded forward pass
        # many commands per forward pass: the tick did not wait for inference
        assert len(trajs) >= 2 * int(last['inferences']), (len(trajs), last)
        states = np.array(seen['states'])
        assert len(states) > 100
        assert np.abs(states - states[0]).max() > 0.01, 'the arm did not follow'
        assert 'latency p50' in logs                               # the 1 Hz log line
        # ~/enable false: the last message is a one-point hold, nothing new afterwards (at
        # most the last tick's message and the hold were still in flight at the answer)
        k = seen['disabled_at']
        assert k is not None and len(trajs) - k <= 2, (k, len(trajs))
        assert len(trajs[-1]['tfs']) == 1, trajs[-1]
    finally:
        _stop(policy)
        _stop(sim)


def _children(pid: int) -> list[int]:
    path = Path(f'/proc/{pid}/task/{pid}/children')
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_process_worker_forward_every_period_and_child_ends_with_node(
        act_checkpoint: Path, backends: Any, python: str, tmp_path: Path) -> None:
    """inference_worker:=process: the forward pass runs in a child; commands every period."""
    profile = load_profile(config_path('sim_arm.yaml'))
    lower, upper = np.array(profile.limits.lower_rad), np.array(profile.limits.upper_rad)
    vel = np.array(profile.limits.max_velocity_rad_s)
    period = 1.0 / profile.fps
    sim = _start(python, backends.node_env, 'imitation_ros.nodes.sim_node',
                 log=tmp_path / 'sim.log')
    policy = _start(python, backends.node_env, 'imitation_ros.nodes.policy_node',
                    '-p', f'checkpoint:={act_checkpoint}', '-p', 'device:=cpu',
                    '-p', 'command:=forward', '-p', 'min_inference_s:=0.2',
                    '-p', 'inference_worker:=process', '-p', 'enable_ramp_s:=0.3',
                    '-p', 'stale_obs_s:=0.3', '-p', 'enabled:=true',
                    log=tmp_path / 'policy.log')
    children: list[int] = []
    try:
        out = tmp_path / 'probe.json'
        probe_src = PROBE.replace("'trajectory_msgs/msg/JointTrajectory'",
                                  "'std_msgs/msg/Float64MultiArray'").replace(
            "'/arm_controller/joint_trajectory'", repr(profile.command.forward_topic)).replace(
            """    trajs.append({'stamp': m.header.stamp.sec * 10**9 + m.header.stamp.nanosec,
                  'recv': time.time_ns(),
                  'names': list(m.joint_names),
                  'tfs': [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9
                          for p in m.points],
                  'pos': [list(map(float, p.positions)) for p in m.points]})""",
            """    trajs.append({'t': time.monotonic(), 'pos': list(map(float, m.data))})""")
        assert repr(profile.command.forward_topic) in probe_src and "'t': time" in probe_src
        end = time.monotonic() + 180           # two torch imports: the node's and its child's
        while 'inference in a process' not in (tmp_path / 'policy.log').read_text():
            assert policy.poll() is None and time.monotonic() < end, \
                (tmp_path / 'policy.log').read_text()[-3000:]
            time.sleep(0.2)
        probe = subprocess.Popen([python, '-c', probe_src, '10', str(out)],
                                 env=backends.probe_env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        children = _children(policy.pid)              # the inference process, while running
        _, err = probe.communicate(timeout=120)
        assert probe.returncode == 0, err
        children = children or _children(policy.pid)
        seen = json.loads(out.read_text())
        logs = (tmp_path / 'policy.log').read_text()
        backends.expect_log(logs, 'policy_node')
        assert 'inference in a process' in logs
        cmds = seen['trajs']
        assert len(cmds) > 100, f'policy published {len(cmds)} commands\n{logs[-3000:]}'
        pos = np.array([c['pos'] for c in cmds])
        assert np.all(np.isfinite(pos)) and np.all(pos >= lower - 1e-9)
        assert np.all(pos <= upper + 1e-9)
        assert np.all(np.abs(np.diff(pos, axis=0)) <= vel * period + 1e-6)
        gaps = np.diff([c['t'] for c in cmds])
        assert np.median(gaps) < 1.5 * period           # every period, not every forward pass
        last = seen['diags'][-1] if seen['diags'] else {}
        assert int(last.get('inferences', 0)) >= 2, last
        assert float(last['latency_p50_ms']) >= 200.0
        assert len(cmds) >= 2 * int(last['inferences'])
        assert children, 'the policy node has no child process (inference ran in-process?)'
    finally:
        _stop(policy)
        _stop(sim)
    for pid in children:        # Ctrl-C on the node also ends its inference process
        assert not Path(f'/proc/{pid}').exists() or \
            Path(f'/proc/{pid}/stat').read_text().split()[2] == 'Z', f'child {pid} left running'
