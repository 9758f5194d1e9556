"""``RecordingSession.on_record``: the records the session writes itself, handed out for live
publication (the recorder node publishes them on ``/episode_events`` and
``/intervention_events``).

Pinned:
- every record written to ``/episode_events`` and ``/intervention_events`` goes to
  ``on_record`` once, with the bytes written into the bag, in the same order;
- profile topics never go to ``on_record`` (the recorder republishes nothing it records);
- an ``on_record`` that raises does not stop recording: the bag stays complete and ``tick``
  reports one warning per failed publication.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest
from rosbags.highlevel import AnyReader

from imitation_ros.profile import load_profile
from imitation_ros.record import RecorderConfig, RecordingSession
from imitation_ros.record.synthetic import joint_state_cdr
from imitation_ros.resources import config_path

if TYPE_CHECKING:
    from pathlib import Path

T0 = 1_790_000_000_000_000_000
MS = 1_000_000
OWN = ('/episode_events', '/intervention_events')


@pytest.fixture
def session(tmp_path: Path) -> RecordingSession:
    profile = dataclasses.replace(load_profile(config_path('sim_arm.yaml')), cameras=())
    cfg = RecorderConfig(output_dir=str(tmp_path / 'bags'), min_free_disk_mb=0,
                         min_episode_frames=2)
    return RecordingSession(cfg, profile, free_bytes=lambda _p: 10**12)


def _episode(s: RecordingSession, t: int, *, control: bool | None = None) -> int:
    s.start_episode(t)
    for i in range(30):
        t += 10 * MS
        names = s.profile.joint_names
        s.on_message('/joint_states', t, joint_state_cdr(t, names))
        s.on_message('/leader/joint_states', t, joint_state_cdr(t, names, 0.1))
        if control is not None and i == 10:
            s.on_control(t, control)
    s.stop_episode(t + MS, success=True)
    return t + MS


def _own_records(bag: Path) -> list[tuple[str, bytes]]:
    with AnyReader([bag]) as reader:
        conns = [c for c in reader.connections if c.topic in OWN]
        return [(c.topic, bytes(raw)) for c, _t, raw in reader.messages(connections=conns)]


def test_on_record_gets_every_own_record_with_the_bag_bytes(session: RecordingSession) -> None:
    got: list[tuple[str, bytes]] = []
    session.on_record = lambda topic, data: got.append((topic, data))
    bag = session.open(T0)
    session.on_control(T0, False)             # the gate's state before the first episode
    t = _episode(session, T0 + 100 * MS, control=True)
    _episode(session, t + 100 * MS)
    session.close(t + 10**9)
    written = _own_records(bag)
    assert [topic for topic, _ in got] == [
        '/episode_events', '/intervention_events', '/intervention_events', '/episode_events',
        '/episode_events', '/intervention_events', '/episode_events']
    assert sorted(got) == sorted(written)         # the same bytes, nothing else
    assert all(isinstance(data, bytes) for _, data in got)   # rclpy publishes bytes raw


def test_failing_publication_does_not_stop_recording(session: RecordingSession) -> None:
    def fail(topic: str, data: bytes) -> None:
        raise RuntimeError('no subscriber transport')

    session.on_record = fail
    bag = session.open(T0)
    t = _episode(session, T0 + 100 * MS)
    notices = session.tick(t + MS)
    session.close(t + 10**9)
    warnings = [n.text for n in notices if n.level == 'warn' and 'live publication' in n.text]
    assert len(warnings) == 2 and 'no subscriber transport' in warnings[0], notices
    assert [topic for topic, _ in _own_records(bag)] == ['/episode_events'] * 2
    assert session.episodes[0]['kept'] is True
