"""Simulated arm + scripted expert + recorder, end to end through the sim_record launch file,
with the nodes on the DDS backend and on rclpy (conftest ``nodes_backends``).

Regressions pinned:
- ``imitation-ros launch sim_record episodes:=2`` ends by itself and leaves one closed bag;
- the bag holds two kept, successful episodes (START/STOP events, success true) with the
  profile's joint states, teleop command and camera inside each episode;
- ``imitation-ros bag info --json`` reports the same episodes.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from rosbags.highlevel import AnyReader

pytestmark = pytest.mark.e2e


def test_sim_expert_recorder(tmp_path: Path, nodes_backends, python: str) -> None:  # noqa: ANN001
    out = tmp_path / 'bags'
    node_env = nodes_backends.node_env
    env = dict(node_env, MUJOCO_GL=node_env.get('MUJOCO_GL', 'egl'))
    proc = subprocess.run(
        [python, '-m', 'imitation_ros.cli.main', 'launch', 'sim_record', 'episodes:=2',
         f'output_dir:={out}'], env=env, capture_output=True, text=True, timeout=240,
        check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    nodes_backends.expect_log(proc.stdout + proc.stderr, 'launch')
    assert 'Traceback' not in proc.stdout + proc.stderr, proc.stdout[-3000:] + proc.stderr[-3000:]
    [bag] = list(out.iterdir())
    assert "imitation_ros.closed: 'true'" in (bag / 'metadata.yaml').read_text()

    spans: list[tuple[int, int, bool]] = []
    start = 0
    times: dict[str, list[int]] = {}
    with AnyReader([bag]) as reader:
        for conn, t_ns, raw in reader.messages():
            if conn.topic == '/episode_events':
                ev = reader.deserialize(raw, conn.msgtype)
                if ev.event == 0:
                    start = t_ns
                else:
                    assert ev.event == 1, ev
                    spans.append((start, t_ns, ev.success))
            else:
                times.setdefault(conn.topic, []).append(t_ns)
    assert [s[2] for s in spans] == [True, True]
    for lo, hi, _ in spans:
        for topic in ('/joint_states', '/leader/joint_states', '/camera/color/image_raw'):
            inside = [t for t in times.get(topic, []) if lo <= t <= hi]
            assert len(inside) >= 10, (topic, len(inside))

    info = subprocess.run([python, '-m', 'imitation_ros.cli.main', 'bag', 'info', str(bag),
                           '--json'], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    assert [(e['index'], e['kept'], e['success']) for e in summary['episodes']] == [
        (0, True, True), (1, True, True)]
    assert all(e['frames'] >= 10 for e in summary['episodes'])
