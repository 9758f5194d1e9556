"""Override latency of the DAgger gate: in the core, and through dagger_node over DDS.

    ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=<yours> \
        python bench/bench_dagger.py [--switches 1000] [--settle-s 0.15] [--no-node]

1. Core: cost of one ``DaggerCore.tick`` (gate + ramp + safety filter), us.
2. Node: starts ``dagger_node`` (joy trigger, no ramp) as a process; a probe node publishes
   joint states, a still policy command and a leader pose (100 Hz) and toggles the Joy
   deadman ``--switches`` times, each ``--settle-s`` plus a random phase (0-40 ms, over a
   control period) after the last; the override latency of each switch is the time from
   publishing the Joy message to receiving the first output command that moved towards the
   new source (probe clock, same machine). The gate's step cap is 0.25 rad per period, so
   the output reaches the 0.5 rad-away source within two periods, well inside the settle
   time. Prints n, p50, p95 and max -- and p99 only from >= 1000 switches
   (``imitation_ros.stats.latency_summary``) -- against one control period (1 / profile
   fps), and the machine's load average. Asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))      # this checkout's package, not an installed one

PROBE = r'''
import json, random, sys, time
import numpy as np
from imitation_ros import graph
from imitation_ros.graph import Node, msg_type, qos_profile, spin_once
from imitation_ros.messages.codecs import fill_joint_state
graph.init([sys.argv[0]])
n_switch = int(sys.argv[1])
settle_s = float(sys.argv[3])
node = Node('dagger_bench_probe')
F64 = msg_type('std_msgs/msg/Float64MultiArray')
JS = msg_type('sensor_msgs/msg/JointState')
Joy = msg_type('sensor_msgs/msg/Joy')
names = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper']
pose = np.array([0.0, 0.2, 0.3, 0.1, 0.0, 0.5])
policy = pose.copy()
leader = pose.copy(); leader[0] += 0.5
cmds = []
node.create_subscription(F64, '/forward_position_controller/commands',
                         lambda m: cmds.append((time.perf_counter(), np.array(m.data))),
                         qos_profile('reliable', 100))
pol = node.create_publisher(F64, '/policy/command', qos_profile('reliable'))
js_pub = node.create_publisher(JS, '/joint_states', qos_profile('reliable'))
lead = node.create_publisher(JS, '/leader/joint_states', qos_profile('reliable'))
joy = node.create_publisher(Joy, '/joy', qos_profile('reliable'))
held = False
def publish_all():
    m = F64(); m.data = [float(v) for v in policy]; pol.publish(m)
    js_pub.publish(fill_joint_state(JS(), names, cmds[-1][1] if cmds else pose, time.time_ns()))
    lead.publish(fill_joint_state(JS(), names, leader, time.time_ns()))
def press(state):
    j = Joy(); j.axes = [0.0]; j.buttons = [0, 0, 0, 0, int(state)]; joy.publish(j)
lat = []
t_end = time.monotonic() + 20
while not cmds and time.monotonic() < t_end:          # wait for the gate to run
    publish_all(); press(held); spin_once(node, timeout_sec=0.01)
nxt = time.perf_counter()
for k in range(n_switch):
    settle = time.perf_counter() + settle_s + random.random() * 0.04   # random phase
    while time.perf_counter() < settle:
        if time.perf_counter() >= nxt:
            nxt += 0.01; publish_all(); press(held)
        spin_once(node, timeout_sec=0.002)
    held = not held
    target = leader if held else policy
    before = np.abs(cmds[-1][1] - target).max()
    n0 = len(cmds)
    t0 = time.perf_counter(); press(held)
    got = None
    while time.perf_counter() < t0 + 2.0 and got is None:
        if time.perf_counter() >= nxt:
            nxt += 0.01; publish_all(); press(held)
        spin_once(node, timeout_sec=0.001)
        for t, c in cmds[n0:]:
            if np.abs(c - target).max() < before - 1e-6:
                got = t - t0
                break
    lat.append(got)
json.dump(lat, open(sys.argv[2], 'w'))
node.destroy_node(); graph.try_shutdown()
'''


def bench_core(n: int = 20000) -> float:
    """Mean cost of one core tick, us."""
    from imitation_ros.dagger import CoreConfig, DaggerCore, GateConfig, GateSafety
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import config_path

    core = DaggerCore(GateSafety.from_profile(load_profile(config_path('sim_arm.yaml'))),
                      gate=GateConfig(), config=CoreConfig())
    q = np.zeros(6)
    t0 = time.perf_counter()
    for k in range(n):
        t = k / 30
        core.on_measured(q, t)
        core.on_policy(q + 0.01, t)
        core.on_leader(q + (0.5 if (k // 100) % 2 else 0.0), t)
        core.on_joy(bool((k // 50) % 2), t)
        core.tick(t)
    return (time.perf_counter() - t0) / n * 1e6


def bench_node(switches: int, settle_s: float) -> list[float | None]:
    """Override latencies through dagger_node, s (None: no switch seen within 2 s)."""
    env = dict(os.environ)
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    env['IMITATION_ROS_BACKEND'] = env.get('IMITATION_ROS_BACKEND', 'dds')
    env['PYTHONPATH'] = str(ROOT) + os.pathsep + env.get('PYTHONPATH', '')
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / 'dagger.log'
        gate = subprocess.Popen(
            [sys.executable, '-m', 'imitation_ros.nodes.dagger_node', '--ros-args',
             '-p', 'triggers:=[joy]', '-p', 'ramp_s:=0.0', '-p', 'max_step_rad:=0.25',
             '-p', 'enabled:=true'],
            env=env, stdout=log.open('wb'), stderr=subprocess.STDOUT)
        try:
            out = Path(tmp) / 'lat.json'
            subprocess.run([sys.executable, '-c', PROBE, str(switches), str(out),
                            str(settle_s)], env=env, check=True,
                           timeout=60 + (2 + settle_s) * switches)
            return json.loads(out.read_text())
        finally:
            gate.send_signal(signal.SIGINT)
            try:
                gate.wait(timeout=10)
            except subprocess.TimeoutExpired:
                gate.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--switches', type=int, default=1000,
                        help='Joy switches (p99 is quoted only from >= 1000)')
    parser.add_argument('--settle-s', type=float, default=0.15,
                        help='time between switches before the random phase, s')
    parser.add_argument('--no-node', action='store_true')
    args = parser.parse_args()
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import config_path

    period = 1.0 / load_profile(config_path('sim_arm.yaml')).fps
    print(f'core tick: {bench_core():.1f} us (control period {period * 1e3:.1f} ms)')
    if args.no_node:
        return
    from imitation_ros.stats import format_latency, latency_summary

    t0 = time.monotonic()
    lat = bench_node(args.switches, args.settle_s)
    load = os.getloadavg()[0]
    ok = np.array([v for v in lat if v is not None])
    missed = sum(v is None for v in lat)
    if not len(ok):
        print('node: no switch observed')
        return
    summ = latency_summary(ok)
    worst = float(summ.get('p99', summ['max']))
    print(f'node (dds, {len(lat)} switches, {missed} missed, {time.monotonic() - t0:.0f} s, '
          f'load average {load:.1f}): override latency {format_latency(summ)}; '
          f'{"p99" if "p99" in summ else "max"} / period = {worst / period:.2f}')


if __name__ == '__main__':
    main()
