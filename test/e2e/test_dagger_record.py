"""A DAgger session recorded through the nodes: sim_node, expert_node (the leader arm),
dagger_node, recorder_node (plain profile), and a probe playing a policy that does not move
and a person who takes over through ``/dagger/take_over``. Runs three ways (``backends``:
DDS backend, rclpy, DDS nodes with an rclpy probe).
Pinned: the graph carries only standard interfaces (the gate's latched
``/dagger/human_in_control`` Bool); the recorder turns it into ``InterventionEvent`` records
in the bag -- the same on rclpy and on the DDS backend -- and the converted dataset's
per-frame ``intervention`` flag matches them frame by frame."""
from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
import yaml
from nodeproc import start_node as _start
from nodeproc import stop_node, wait_ready

from imitation_ros.resources import config_path

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

PROBE = r'''
import sys, time
import numpy as np
from imitation_ros import graph
from imitation_ros.graph import Node, msg_type, qos_profile, spin_once, srv_type
graph.init([sys.argv[0]])
node = Node('policy')
F64 = msg_type('std_msgs/msg/Float64MultiArray')
SetBool = srv_type('std_srvs/srv/SetBool')
q = []
node.create_subscription(msg_type('sensor_msgs/msg/JointState'), '/joint_states',
                         lambda m: q.append(list(m.position)), qos_profile('reliable', 10))
node.create_service(srv_type('std_srvs/srv/Trigger'), '~/reset',
                    lambda req, resp: (setattr(resp, 'success', True), resp)[1])
pub = node.create_publisher(F64, '/policy/command', qos_profile('reliable'))
cli = node.create_client(SetBool, '/dagger/take_over')
status = []
node.create_subscription(msg_type('std_msgs/msg/String'), '/recorder/status',
                         lambda m: status.append(m.data), qos_profile('reliable', 10))
t0 = time.monotonic(); hold = None; calls = {}
plan = [(2.0, True), (3.5, False), (4.5, True), (5.5, False)]   # s after the first state
while time.monotonic() - t0 < float(sys.argv[1]):
    spin_once(node, timeout_sec=0.02)
    if q and hold is None:
        hold = list(q[-1]); t_first = time.monotonic()
    if hold is not None:
        m = F64(); m.data = [float(v) for v in hold]; pub.publish(m)
        for t, on in plan:
            if (t, on) not in calls and time.monotonic() - t_first > t and cli.service_is_ready():
                r = SetBool.Request(); r.data = on
                calls[(t, on)] = cli.call_async(r)
print('calls', len(calls))
node.destroy_node(); graph.try_shutdown()
'''





def test_recorded_dagger_session_converts_with_aligned_flags(
        backends: Any, python: str, tmp_path: Path) -> None:
    from imitation_ros.dagger.labels import flags_from_events
    from imitation_ros.data.bags import INTERVENTION_TOPIC
    from imitation_ros.data.convert import ConvertOptions, convert_bags
    from imitation_ros.data.writer import INTERVENTION
    from imitation_ros.profile import load_profile

    prof = yaml.safe_load(config_path('sim_arm.yaml').read_text())
    prof['cameras'] = {}
    prof_path = tmp_path / 'sim_arm_dagger.yaml'
    prof_path.write_text(yaml.safe_dump(prof))
    bags = tmp_path / 'bags'
    procs = [
        _start(python, backends.node_env, 'imitation_ros.nodes.sim_node',
               '-p', f'profile:={prof_path}',
               log=tmp_path / 'sim.log'),
        _start(python, backends.node_env, 'imitation_ros.nodes.recorder_node',
               '-p', f'profile:={prof_path}', '-p', f'output_dir:={bags}',
               log=tmp_path / 'rec.log'),
        _start(python, backends.node_env, 'imitation_ros.nodes.dagger_node',
               '-p', f'profile:={prof_path}', '-p', 'triggers:=[service]', '-p', 'ramp_s:=0.2',
               '-p', 'enabled:=true', log=tmp_path / 'dagger.log'),
    ]
    wait_ready({n: (pr, tmp_path / f'{n}.log', m) for pr, n, m in zip(
        procs, ('sim', 'rec', 'dagger'), ('sim_node', 'recorder_node', 'dagger_node'),
        strict=True)})
    expert = _start(python, backends.node_env, 'imitation_ros.nodes.expert_node',
                    '-p', f'profile:={prof_path}', '-p', 'output:=leader', '-p', 'episodes:=1',
                    '-p', 'episode_timeout_s:=7.0', '-p', 'success_hold_s:=30.0',
                    log=tmp_path / 'expert.log')
    try:
        probe = subprocess.run([python, '-c', PROBE, '25'], env=backends.probe_env, timeout=120,
                               capture_output=True, text=True)
        assert probe.returncode == 0, probe.stderr
        expert.wait(timeout=60)
    finally:
        stop_node(expert, timeout=20)
        for p in reversed(procs):
            stop_node(p, timeout=20)
    logs = {n: (tmp_path / f'{n}.log').read_text() for n in ('sim', 'rec', 'dagger', 'expert')}
    for name in ('sim', 'rec', 'dagger', 'expert'):
        backends.expect_log(logs[name], name)
    found = sorted(p for p in bags.iterdir() if p.is_dir())
    assert len(found) == 1, logs
    profile = load_profile(prof_path)
    out = tmp_path / 'ds'
    # the policy never lifts: a failed episode (kept); the feature: auto, the bag has records
    summary = convert_bags(found, profile, out, ConvertOptions(keep_failed=True))
    assert not summary.failed and summary.episodes == 1, (summary, logs)
    from rosbags.highlevel import AnyReader

    from imitation_ros.messages import typestore
    from imitation_ros.messages.codecs import stamp_ns

    with AnyReader([found[0]], default_typestore=typestore()) as reader:
        conns = [c for c in reader.connections if c.topic == INTERVENTION_TOPIC]
        events = [(stamp_ns(m := reader.deserialize(raw, c.msgtype)), bool(m.human_in_control))
                  for c, _, raw in reader.messages(connections=conns)]
        ep_conns = [c for c in reader.connections if c.topic == '/episode_events']
        starts = [stamp_ns(reader.deserialize(raw, c.msgtype))
                  for c, _, raw in reader.messages(connections=ep_conns)]
    # the state in force at START, then the four switches of the probe
    assert [h for _, h in events] == [False, True, False, True, False], (events, logs['dagger'])
    assert events[0][0] == starts[0]
    df = pd.concat([pd.read_parquet(p) for p in sorted((out / 'data').rglob('*.parquet'))])
    df = df.sort_values('index')
    flags = np.array([bool(np.asarray(v).reshape(-1)[0]) for v in df[INTERVENTION]])
    assert flags.sum() > 10 and (~flags).sum() > 10
    # the frames' own ticks (the converter's alignment; frames dropped under load leave gaps)
    from imitation_ros.data.align import align_bag, stream_span
    from imitation_ros.data.bags import scan_bag
    from imitation_ros.data.episodes import cut_episodes
    from imitation_ros.frames import FrameAssembler

    asm = FrameAssembler(profile)
    scan = scan_bag(found[0], asm)
    eps = cut_episodes(scan.events, None, *stream_span(scan), profile.task)
    (aligned,) = align_bag(scan, asm, eps, profile.fps)
    ticks = aligned.ticks_ns
    assert len(ticks) == len(flags)
    assert ticks[0] >= starts[0] and np.all(np.diff(ticks) > 0)
    # every frame's flag is the state of the newest bag record at or before its tick
    assert np.array_equal(flags, flags_from_events(events, ticks)), (
        flags.astype(int).tolist(), events, ticks[[0, -1]])
