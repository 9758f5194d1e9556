"""Recorder end to end: real processes, real bags on disk; each test three ways (conftest
``backends``: recorder and helpers on DDS, both on rclpy, recorder on DDS with rclpy helpers).

Processes: ``record_publisher.py`` (the sim_arm profile's topics, stamped with their publish
time), ``recorder_node`` (the executable), ``record_call.py`` (the operator's service calls).

Regressions pinned:
- ~/status (JSON) and /diagnostics (one status per topic, with counts) are published;
- start / stop(success) / discard / SIGINT give a complete bag readable by rosbags AnyReader
  whose events say START, STOP(success), START, DISCARD, START, STOP(shutdown), and that
  holds >= 99 % of the messages published inside each kept episode;
- SIGTERM mid-episode also closes the bag (STOP, success false, 'shut down');
- kill -9 mid-episode, then ``imitation-ros bag recover`` keeps >= 99 % of the messages
  published more than one second before the kill;
- a bad profile or an unknown topic type exits non-zero with a clear message before any bag
  directory exists.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from rosbags.highlevel import AnyReader

from imitation_ros.record.health import header_stamp_ns

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
TOPICS = ('/joint_states', '/leader/joint_states', '/camera/color/image_raw')


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    fh = log.open('w')
    return subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)


def _calls(python: str, env: dict[str, str], *steps: str) -> list[dict]:
    proc = subprocess.run([python, str(HERE / 'record_call.py'), *steps], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    want = f'imitation_ros graph backend: {env["IMITATION_ROS_BACKEND"]}'
    assert want in proc.stderr, proc.stderr[-3000:]         # the caller ran where it should
    out = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]
    for res in out:
        assert res.get('success', True) is not False, res
    return out


def _stamps(bag: Path) -> tuple[dict[str, set[int]], list[tuple[int, int, bool, str]]]:
    stamps: dict[str, set[int]] = {t: set() for t in TOPICS}
    events = []
    with AnyReader([bag]) as reader:
        for conn, _t, raw in reader.messages():
            if conn.topic == '/episode_events':
                ev = reader.deserialize(raw, conn.msgtype)
                events.append((ev.event, ev.episode_index, ev.success, ev.reason))
            else:
                stamps[conn.topic].add(header_stamp_ns(raw))
    return stamps, events


def _kept_fraction(sent: dict[str, list[int]], stamps: dict[str, set[int]],
                   lo: int, hi: int) -> dict[str, tuple[int, int]]:
    out = {}
    for topic in TOPICS:
        want = [t for t in sent[topic] if lo <= t <= hi]
        out[topic] = (sum(1 for t in want if t in stamps[topic]), len(want))
    return out


def _stop(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@pytest.fixture
def rig(tmp_path: Path, backends, python: str):  # noqa: ANN001, ANN201
    """Publisher + recorder running; yields (probe env, output dir, publisher log, recorder).

    The recorder runs on ``backends.node_env``; the publisher and the service caller on
    ``backends.probe_env``.
    """
    out = tmp_path / 'bags'
    sent_log = tmp_path / 'sent.json'
    pub = _start([python, str(HERE / 'record_publisher.py'), str(sent_log), '--seconds', '60'],
                 backends.probe_env, tmp_path / 'pub.log')
    rec = _start([python, '-m', 'imitation_ros.nodes.recorder_node', '--ros-args',
                  '-p', f'output_dir:={out}', '-p', 'min_free_disk_mb:=10.0'],
                 backends.node_env, tmp_path / 'rec.log')
    yield backends.probe_env, out, sent_log, pub, rec
    _stop(rec, signal.SIGKILL)
    _stop(pub)


def test_sigint_gives_complete_bag(rig, backends, python: str,  # noqa: ANN001
                                   tmp_path: Path) -> None:
    env, out, sent_log, pub, rec = rig
    res = _calls(python, env, 'start', 'sleep:2.5', 'stop:true', 'start', 'sleep:1',
                 'discard', 'start', 'sleep:1.5', 'status', 'diagnostics')
    assert res[-2]['status']['recording'] is True
    assert res[-2]['status']['episode_index'] == 2
    assert res[-2]['status']['counts']['/joint_states'] > 0
    diags = {d['name']: d for d in res[-1]['diagnostics']}
    assert set(diags) == {f'recorder: {t}' for t in TOPICS}
    assert int(diags['recorder: /joint_states']['values']['count']) > 100
    assert _stop(rec) == 0, (tmp_path / 'rec.log').read_text()
    _stop(pub)
    rec_log = (tmp_path / 'rec.log').read_text()
    backends.expect_log(rec_log, 'recorder_node')
    assert 'bag closed' in rec_log and 'Traceback' not in rec_log, rec_log
    assert 'Failed to publish' not in rec_log, rec_log      # rclpy: context still valid
    sent = json.loads(sent_log.read_text())
    [bag] = list(out.iterdir())
    meta = (bag / 'metadata.yaml').read_text()
    assert "imitation_ros.closed: 'true'" in meta and 'imitation_ros.health' in meta
    stamps, events = _stamps(bag)
    assert [e[:3] for e in events] == [(0, 0, False), (1, 0, True), (0, 1, False),
                                       (2, 1, False), (0, 2, False), (1, 2, False)]
    assert 'shut down' in events[-1][3]
    kept = _kept_fraction(sent, stamps, res[0]['t_ns'], res[2]['t_sent_ns'] - 200_000_000)
    for topic, (n, total) in kept.items():
        assert total > 0 and n >= 0.99 * total, (topic, n, total, kept)
    health = json.loads((bag / 'health.json').read_text())
    assert health['episodes'][0]['kept'] and health['episodes'][0]['frames'] >= 60


def test_sigterm_closes_bag(rig, python: str, tmp_path: Path) -> None:  # noqa: ANN001
    env, out, _sent_log, pub, rec = rig
    _calls(python, env, 'start', 'sleep:1.5')
    assert _stop(rec, signal.SIGTERM) == 0, (tmp_path / 'rec.log').read_text()
    _stop(pub)
    assert 'Traceback' not in (tmp_path / 'rec.log').read_text()
    [bag] = list(out.iterdir())
    assert "imitation_ros.closed: 'true'" in (bag / 'metadata.yaml').read_text()
    stamps, events = _stamps(bag)
    assert [e[:3] for e in events] == [(0, 0, False), (1, 0, False)]
    assert 'shut down' in events[-1][3]
    assert len(stamps['/joint_states']) >= 20


def test_kill9_then_recover(rig, python: str, tmp_path: Path) -> None:  # noqa: ANN001
    env, out, sent_log, pub, rec = rig
    res = _calls(python, env, 'start', 'sleep:4')
    t_kill = time.time_ns()
    os.kill(rec.pid, signal.SIGKILL)
    rec.wait(timeout=10)
    _stop(pub)
    sent = json.loads(sent_log.read_text())
    [bag] = list(out.iterdir())
    assert "imitation_ros.closed: 'false'" in (bag / 'metadata.yaml').read_text()
    proc = subprocess.run([python, '-m', 'imitation_ros.cli.main', 'bag', 'recover', str(bag)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert 'recovered' in proc.stdout and 'episode 0 was open' in proc.stdout
    stamps, events = _stamps(bag)
    assert [e[:3] for e in events] == [(0, 0, False), (1, 0, False)]
    kept = _kept_fraction(sent, stamps, res[0]['t_ns'], t_kill - 1_000_000_000)
    for topic, (n, total) in kept.items():
        assert total > 100 or topic.startswith('/camera'), kept
        assert n >= 0.99 * total, (topic, n, total, kept)


BAD_PROFILE = 'name: broken\nfps: 30\njoints: {names: [a], lower_rad: [0], upper_rad: [1]}\n'
UNKNOWN_TYPE = """name: odd
fps: 30
joints: {names: [a], lower_rad: [0], upper_rad: [1]}
state: {topic: /joint_states}
action: {topic: /leader/joint_states}
extra_topics:
  - {topic: /gadget, type: acme_msgs/msg/Gadget}
"""


@pytest.mark.parametrize(('text', 'expected'), [
    (BAD_PROFILE, "missing required key 'state'"),
    (UNKNOWN_TYPE, "topic '/gadget' has unknown message type 'acme_msgs/msg/Gadget'"),
], ids=['bad_profile', 'unknown_type'])
def test_bad_profile_stops_before_recording(tmp_path: Path, nodes_backends,  # noqa: ANN001
                                            python: str, text: str, expected: str) -> None:
    node_env = nodes_backends.node_env
    profile = tmp_path / 'profile.yaml'
    profile.write_text(text)
    out = tmp_path / 'bags'
    proc = subprocess.run(
        [python, '-m', 'imitation_ros.nodes.recorder_node', '--ros-args',
         '-p', f'profile:={profile}', '-p', f'output_dir:={out}'],
        env=node_env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert expected in proc.stderr and str(profile) in proc.stderr, proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not out.exists()
