"""The recorder turns a DAgger gate's standard control stream (``std_msgs/Bool``, latched
``/dagger/human_in_control``) into ``InterventionEvent`` records in the bag (issue 12, item 2:
only standard interfaces on the graph; ``msg/`` holds the schemas of what we write into bags).

Pinned:
- the state in force is written at each START (also when it changed between episodes), every
  change during an episode is written with its receive time, repeats and changes outside
  episodes are not;
- a session that never hears the gate has no ``/intervention_events`` topic at all;
- the records are readable without our msg/ (definition inside the bag) and the converter
  picks them up by itself (``intervention`` feature, flags = the state in force per frame);
- a profile that lists ``/intervention_events`` itself is refused with a message naming it;
  ``intervention_topic: ''`` turns the records off.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from rosbags.highlevel import AnyReader

from imitation_ros.dagger.labels import flags_from_events
from imitation_ros.data.convert import ConvertOptions, bags_have_interventions, convert_bags
from imitation_ros.data.writer import INTERVENTION
from imitation_ros.errors import ConfigError
from imitation_ros.profile import load_profile
from imitation_ros.profile.model import TopicSpec
from imitation_ros.record import RecorderConfig, RecordingSession
from imitation_ros.record.synthetic import joint_state_cdr
from imitation_ros.resources import config_path

if TYPE_CHECKING:
    from pathlib import Path

T0 = 1_790_000_000_000_000_000
MS = 1_000_000


@pytest.fixture
def profile():  # noqa: ANN201
    import dataclasses

    return dataclasses.replace(load_profile(config_path('sim_arm.yaml')), cameras=())


def _session(tmp_path: Path, profile, **kw) -> RecordingSession:  # noqa: ANN001
    cfg = RecorderConfig(output_dir=str(tmp_path / 'bags'), min_free_disk_mb=0,
                         min_episode_frames=2, **kw)
    return RecordingSession(cfg, profile, free_bytes=lambda _p: 10**12)


def _feed(s: RecordingSession, t: int, n: int, profile, control=None) -> int:  # noqa: ANN001
    """n ticks of 10 ms; ``control(i)`` -> the gate's Bool at tick i (None: nothing sent)."""
    for i in range(n):
        t += 10 * MS
        s.on_message('/joint_states', t, joint_state_cdr(t, profile.joint_names))
        s.on_message('/leader/joint_states', t, joint_state_cdr(t, profile.joint_names, 0.1))
        if control is not None and control(i) is not None:
            s.on_control(t, control(i))
        s.tick(t)
    return t


def _records(bag: Path) -> list[tuple[int, int, bool, int, str]]:
    """(log time, header stamp, human_in_control, episode_index, source) per record."""
    out = []
    with AnyReader([bag]) as reader:      # no typestore: the definition comes from the bag
        conns = [c for c in reader.connections if c.topic == '/intervention_events']
        for conn, t, raw in reader.messages(conns):
            m = reader.deserialize(raw, conn.msgtype)
            stamp = m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec
            out.append((t, stamp, bool(m.human_in_control), int(m.episode_index),
                        str(m.source)))
    return out


def test_records_at_start_and_on_change_only(tmp_path: Path, profile) -> None:  # noqa: ANN001
    s = _session(tmp_path, profile)
    bag = s.open(T0)
    t = _feed(s, T0, 10, profile, lambda i: False)            # latched False before START
    s.start_episode(t)
    t_start0 = t
    # episode 0: person takes over at tick 20 (repeated True every tick), hands back at 50
    t = _feed(s, t, 80, profile, lambda i: 20 <= i < 50)
    t_on, t_off = t_start0 + 21 * 10 * MS, t_start0 + 51 * 10 * MS
    s.stop_episode(t, success=True)
    t = _feed(s, t, 10, profile, lambda i: True if i == 5 else None)   # taken between episodes
    s.start_episode(t)
    t_start1 = t
    t = _feed(s, t, 30, profile, lambda i: False if i == 10 else None)
    t_off1 = t_start1 + 11 * 10 * MS
    s.stop_episode(t, success=False)
    s.close(t)
    recs = _records(bag)
    assert [(r[0], r[2], r[3]) for r in recs] == [
        (t_start0, False, 0), (t_on, True, 0), (t_off, False, 0),
        (t_start1, True, 1), (t_off1, False, 1)], recs
    assert all(r[0] == r[1] for r in recs)                   # stamp = receive time
    assert {r[4] for r in recs} == {'/dagger/human_in_control'}
    assert s.intervention_records == 5

    # the converter finds the records by itself and flags each frame by the state in force
    assert bags_have_interventions([bag])
    out = tmp_path / 'ds'
    summary = convert_bags([bag], profile, out, ConvertOptions(keep_failed=True))
    assert not summary.failed and summary.episodes == 2, summary
    df = pd.concat([pd.read_parquet(p) for p in sorted((out / 'data').rglob('*.parquet'))])
    df = df.sort_values('index')
    flags = np.array([bool(np.asarray(v).reshape(-1)[0]) for v in df[INTERVENTION]])
    from imitation_ros.data.align import align_bag, stream_span
    from imitation_ros.data.bags import scan_bag
    from imitation_ros.data.episodes import cut_episodes
    from imitation_ros.frames import FrameAssembler

    asm = FrameAssembler(profile)
    scan = scan_bag(bag, asm)
    eps = cut_episodes(scan.events, None, *stream_span(scan), profile.task)
    ticks = np.concatenate([a.ticks_ns for a in align_bag(scan, asm, eps, profile.fps)])
    assert len(ticks) == len(flags)
    want = flags_from_events([(r[1], r[2]) for r in recs], ticks)
    assert np.array_equal(flags, want)
    ep = df.episode_index.to_numpy()
    assert flags[ep == 0].any() and not flags[ep == 0].all()
    assert flags[ep == 1][0], 'episode 1 starts under the person (taken between episodes)'


def test_no_gate_no_topic_and_off_switch(tmp_path: Path, profile) -> None:  # noqa: ANN001
    s = _session(tmp_path / 'a', profile)
    bag = s.open(T0)
    s.start_episode(T0)
    t = _feed(s, T0, 30, profile)
    s.stop_episode(t, success=True)
    s.close(t)
    with AnyReader([bag]) as reader:
        assert '/intervention_events' not in {c.topic for c in reader.connections}
    assert not bags_have_interventions([bag])
    out = tmp_path / 'ds'
    convert_bags([bag], profile, out, ConvertOptions())
    files = sorted((out / 'data').rglob('*.parquet'))
    assert INTERVENTION not in pd.read_parquet(files[0]).columns

    s = _session(tmp_path / 'b', profile, intervention_topic='')
    bag = s.open(T0)
    s.start_episode(T0)
    t = _feed(s, T0, 30, profile, lambda i: i > 10)
    s.stop_episode(t, success=True)
    s.close(t)
    assert s.intervention_records == 0
    with AnyReader([bag]) as reader:
        assert '/intervention_events' not in {c.topic for c in reader.connections}


def test_profile_listing_the_records_is_refused(tmp_path: Path, profile) -> None:  # noqa: ANN001
    import dataclasses

    bad = dataclasses.replace(profile, extra_topics=(
        TopicSpec(topic='/intervention_events', type='imitation_ros/msg/InterventionEvent'),))
    with pytest.raises(ConfigError, match='/intervention_events is written by the recorder'):
        _session(tmp_path, bad)
    wrong = dataclasses.replace(profile, extra_topics=(
        TopicSpec(topic='/dagger/human_in_control', type='std_msgs/msg/String'),))
    with pytest.raises(ConfigError, match='intervention_topic'):
        _session(tmp_path, wrong)
