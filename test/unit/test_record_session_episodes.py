"""Recording session: episodes, events, pre-roll, too-short episodes, disk guard, Joy.

Regressions pinned:
- every START gets a STOP or DISCARD event in /episode_events, with index, task, success;
- the message definitions travel inside the bag (a reader without our msg/ decodes events);
- pre-roll holds only messages received after the previous episode ended (no duplicates);
- an episode with fewer action frames than min_episode_frames ends with DISCARD + reason;
- an unknown topic type stops with ConfigError before any bag directory exists;
- low disk space stops the episode (STOP, success false, 'disk space low') and refuses new
  ones; a low disk at open refuses to start at all;
- Joy buttons fire on rising edges only;
- close() during an episode ends it with STOP (success false) and leaves a complete bag.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from rosbags.highlevel import AnyReader

from imitation_ros.errors import ConfigError, RecordError
from imitation_ros.profile import load_profile
from imitation_ros.record import RecorderConfig, RecordingSession
from imitation_ros.record.synthetic import image_cdr, joint_state_cdr, joy_cdr
from imitation_ros.resources import config_path

T0 = 1_790_000_000_000_000_000
MS = 1_000_000


@pytest.fixture
def profile():  # noqa: ANN201
    return load_profile(config_path('sim_arm.yaml'))


def _session(tmp_path: Path, profile, **kw) -> RecordingSession:  # noqa: ANN001
    free = kw.pop('free', lambda _p: 10**12)
    cfg = RecorderConfig(output_dir=str(tmp_path), min_free_disk_mb=kw.pop('min_free', 0), **kw)
    return RecordingSession(cfg, profile, free_bytes=free)


def _feed(s: RecordingSession, t: int, n: int, profile) -> int:  # noqa: ANN001
    """n ticks of 10 ms: joints + leader each tick, a camera image every 3rd."""
    for i in range(n):
        t += 10 * MS
        s.on_message('/joint_states', t, joint_state_cdr(t, profile.joint_names))
        s.on_message('/leader/joint_states', t, joint_state_cdr(t, profile.joint_names, 0.1))
        if i % 3 == 0:
            s.on_message('/camera/color/image_raw', t, image_cdr(t))
        s.tick(t)
    return t


def _events(bag: Path) -> list[tuple[int, int, int, bool, str, str]]:
    out = []
    with AnyReader([bag]) as reader:      # no typestore given: definitions come from the bag
        conns = [c for c in reader.connections if c.topic == '/episode_events']
        for conn, t, raw in reader.messages(conns):
            ev = reader.deserialize(raw, conn.msgtype)
            out.append((t, ev.event, ev.episode_index, ev.success, ev.task, ev.reason))
    return out


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_episodes_and_events(tmp_path: Path, profile, storage: str) -> None:  # noqa: ANN001
    s = _session(tmp_path, profile, storage=storage, preroll_s=0.2)
    bag = s.open(T0)
    t = _feed(s, T0, 50, profile)                 # idle: only the pre-roll keeps 0.2 s
    assert s.start_episode(t, task='stack') == 0
    t = _feed(s, t, 100, profile)                 # 1 s at 100 Hz: slots 0..30 of 1/30 s
    res = s.stop_episode(t, success=True)
    assert res.kept and res.success and res.frames == 31 and res.task == 'stack'
    t = _feed(s, t, 10, profile)
    s.start_episode(t)
    t = _feed(s, t, 60, profile)
    res = s.discard_episode(t)
    assert not res.kept and res.reason == 'operator'
    s.start_episode(t)
    t = _feed(s, t, 2, profile)                   # 2 action messages -> 1 frame
    res = s.stop_episode(t, success=True)
    assert not res.kept and 'too short: 1 frame(s) < min_episode_frames 10' in res.reason
    s.close(t)

    events = _events(bag)
    assert [(e[1], e[2]) for e in events] == [(0, 0), (1, 0), (0, 1), (2, 1), (0, 2), (2, 2)]
    assert events[1][3] is True and events[0][4] == 'stack'
    assert events[2][4] == profile.task
    with AnyReader([bag]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        times = sorted(t for c, t, _ in reader.messages(
            [c for c in reader.connections if c.topic == '/joint_states']))
    # ep 0: 21 pre-roll ([start - 0.2 s, start]) + 100; ep 1: 10 received after the stop
    # (pre-roll) + 60; ep 2: 2
    assert counts['/joint_states'] == 21 + 100 + 10 + 60 + 2
    assert len(set(times)) == len(times), 'a message was written twice'
    assert times[0] >= events[0][0] - 200 * MS
    meta = (bag / 'metadata.yaml').read_text()
    assert "imitation_ros.closed: 'true'" in meta
    health = json.loads((bag / 'health.json').read_text())
    assert [e['kept'] for e in health['episodes']] == [True, False, False]
    assert health['episodes'][0]['counts']['/leader/joint_states'] == 121


def test_state_errors(tmp_path: Path, profile) -> None:  # noqa: ANN001
    s = _session(tmp_path, profile)
    s.open(T0)
    with pytest.raises(RecordError, match='no episode is recording'):
        s.stop_episode(T0, success=True)
    s.start_episode(T0)
    with pytest.raises(RecordError, match='episode 0 is still recording'):
        s.start_episode(T0 + 1)
    s.close(T0 + 2)
    with pytest.raises(RecordError, match='not open'):
        s.start_episode(T0 + 3)


def test_unknown_type_fails_before_anything_exists(
        tmp_path: Path, profile) -> None:  # noqa: ANN001
    from imitation_ros.profile import TopicSpec

    bad = dataclasses.replace(profile, extra_topics=(
        TopicSpec(topic='/weird', type='acme_msgs/msg/Gadget'),))
    out = tmp_path / 'bags'
    with pytest.raises(ConfigError, match=r"topic '/weird' has unknown message type "
                                          r"'acme_msgs/msg/Gadget'"):
        RecordingSession(RecorderConfig(output_dir=str(out)), bad)
    assert not out.exists()


def test_disk_guard(tmp_path: Path, profile) -> None:  # noqa: ANN001
    free = {'bytes': 5_000 * 10**6}
    s = _session(tmp_path, profile, min_free=1000, free=lambda _p: free['bytes'])
    bag = s.open(T0)
    s.start_episode(T0)
    t = _feed(s, T0, 60, profile)
    free['bytes'] = 900 * 10**6
    t += 1500 * MS
    notes = s.tick(t)
    assert not s.recording
    assert any('disk space low: 900 MB free' in n.text for n in notes)
    with pytest.raises(RecordError, match='not starting an episode: disk space low'):
        s.start_episode(t)
    assert 'disk space low' in s.status(t)['refusing']
    s.close(t)
    ev = _events(bag)[-1]
    assert ev[1:4] == (1, 0, False) and ev[5].startswith('disk space low')

    s2 = _session(tmp_path / 'b', profile, min_free=1000, free=lambda _p: 10 * 10**6)
    with pytest.raises(RecordError, match='not recording: disk space low'):
        s2.open(T0)
    assert not (tmp_path / 'b').exists() or not any((tmp_path / 'b').iterdir())


def test_joy_buttons_rising_edges(tmp_path: Path, profile) -> None:  # noqa: ANN001
    s = _session(tmp_path, profile, joy_topic='/joy', joy_start_button=0,
                 joy_stop_success_button=1, joy_discard_button=3)
    s.open(T0)
    s.on_message('/joy', T0, joy_cdr([1, 0, 0, 0]))
    s.tick(T0)
    assert s.recording and s.episode_index == 0
    s.on_message('/joy', T0 + 1, joy_cdr([1, 0, 0, 0]))     # held: no second start
    t = _feed(s, T0, 50, profile)
    assert s.episode_index == 0
    s.on_message('/joy', t, joy_cdr([0, 1, 0, 0]))
    notes = s.tick(t)
    assert not s.recording and 'episode 0 stopped: success' in notes[0].text


def test_close_mid_episode_writes_stop(tmp_path: Path, profile) -> None:  # noqa: ANN001
    s = _session(tmp_path, profile)
    bag = s.open(T0)
    s.start_episode(T0)
    t = _feed(s, T0, 40, profile)
    s.close(t, reason='SIGINT')
    ev = _events(bag)[-1]
    assert ev[1:4] == (1, 0, False) and ev[5] == 'SIGINT'
    status = s.status(t)
    assert status['episodes_kept'] == 1 and not status['recording']
