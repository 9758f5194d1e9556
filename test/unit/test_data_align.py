"""Alignment of synthetic bags with known gaps, offsets and lags, asserted frame by frame.

Each bag is written with rosbags' Writer (mcap and sqlite3); every value is a known function
of its header stamp (``imitation_ros.data.synthetic``). The expected frames are recomputed
here by brute force from the written stamps, independently of ``frames.StreamBuffer``.

Regressions pinned:
- no frame takes a message stamped after its tick (header or receive time, as selected);
- a camera gap longer than max_age drops exactly the ticks inside it, counted for that camera;
- a lagging camera (receive = header + 40 ms) aligns differently under receive stamps;
- the action shift reads the action ahead, the state not;
- episodes come from START/STOP/DISCARD events; failed/discarded are left out by default;
- data between episodes is not used as frames; an unclosed episode ends with the recording;
- a bag without events is one episode; a Joy button splits it when configured;
- joints come out in profile order although the bag's JointState names are shuffled.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from imitation_ros.data.align import align_bag, stream_span
from imitation_ros.data.bags import scan_bag
from imitation_ros.data.episodes import cut_episodes
from imitation_ros.data.synthetic import (
    SynthStream,
    joint_values,
    synthetic_profile,
    write_synthetic_bag,
)
from imitation_ros.frames import FrameAssembler
from imitation_ros.profile.keys import ACTION, OBS_STATE, image_key

if TYPE_CHECKING:
    from pathlib import Path

    from imitation_ros.data.synthetic import SynthBag
    from imitation_ros.profile.model import RobotProfile

NS = 1_000_000_000
FRONT, WRIST = '/front/image_raw', '/wrist/image_raw/compressed'
EVENTS = [
    (0.20, 0, 0, False, 'pick red', ''),
    (1.00, 1, 0, True, '', 'operator'),     # success
    (1.10, 0, 1, False, 'pick blue', ''),
    (1.40, 1, 1, False, '', 'dropped it'),  # failed
    (1.50, 0, 2, False, '', ''),
    (1.70, 2, 2, False, '', 'bad'),         # discarded
    (1.75, 0, 3, False, 'last', ''),        # unfinished (recording ends)
]
STREAMS = {
    '/joint_states': SynthStream(rate_hz=100.0, phase_s=0.003),
    '/leader/joint_states': SynthStream(rate_hz=50.0, phase_s=0.011),
    FRONT: SynthStream(rate_hz=30.0, phase_s=0.002, gaps_s=((0.45, 0.75),)),
    WRIST: SynthStream(rate_hz=30.0, phase_s=0.017, lag_s=0.04, encoding='jpeg'),
}


def _expected(bag: SynthBag, prof: RobotProfile, ticks: np.ndarray, *, receive: bool,
              shift_s: float = 0.0) -> list[dict[str, object] | None]:
    """Brute force: per tick, newest stamp <= tick per stream, or None if any is too old."""
    streams = {OBS_STATE: ('/joint_states', prof.state.max_age_s, 0.0),
               ACTION: ('/leader/joint_states', prof.action.max_age_s, shift_s)}
    for cam in prof.cameras:
        streams[cam.key] = (cam.topic, cam.max_age_s, 0.0)
    out = []
    for t in ticks.tolist():
        frame: dict[str, object] | None = {}
        for key, (topic, max_age, shift) in streams.items():
            stamps = bag.receive_ns[topic] if receive else bag.header_ns[topic]
            q = t + round(shift * NS)
            older = np.nonzero(stamps <= q)[0]
            if not len(older) or q - stamps[older[-1]] > round(max_age * NS):
                frame = None
                break
            i = int(older[-1])
            if key in (OBS_STATE, ACTION):
                t_s = (int(bag.header_ns[topic][i]) - bag.t0_ns) / NS
                frame[key] = joint_values('state' if key == OBS_STATE else 'action', t_s, 3)
            else:
                frame[key] = i
        out.append(frame)
    return out


def _align(path: Path, prof: RobotProfile, **kw: object) -> tuple[list, FrameAssembler]:
    asm = FrameAssembler(prof, **kw)
    scan = scan_bag(path, asm, split_topic=prof.episodes.topic)
    start, end = stream_span(scan)
    eps = cut_episodes(scan.events, scan.button if prof.episodes.topic else None, start, end,
                       prof.task)
    return align_bag(scan, asm, eps, prof.fps), asm


def _check_frames(aligned, bag, prof, *, receive, shift_s=0.0) -> int:  # noqa: ANN001
    n_checked = 0
    for ep in aligned:
        period = NS / prof.fps
        n = int((ep.episode.end_ns - ep.episode.start_ns) // period) + 1
        ticks = ep.episode.start_ns + np.round(np.arange(n) * period).astype(np.int64)
        ticks = ticks[ticks <= ep.episode.end_ns]
        exp = _expected(bag, prof, ticks, receive=receive, shift_s=shift_s)
        kept = [(t, e) for t, e in zip(ticks.tolist(), exp, strict=True) if e is not None]
        assert ep.ticks_ns.tolist() == [t for t, _ in kept]
        assert ep.quality.ticks == len(ticks)
        assert ep.quality.dropped_frames == len(ticks) - len(kept)
        for f, (_, e) in enumerate(kept):
            np.testing.assert_allclose(ep.state[f], e[OBS_STATE], rtol=0, atol=1e-6)
            np.testing.assert_allclose(ep.action[f], e[ACTION], rtol=0, atol=1e-6)
            for cam in prof.cameras:
                assert ep.cam_index[cam.key][f] == e[cam.key], (f, cam.key)
            n_checked += 1
    return n_checked


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_episodes_from_events_frame_by_frame(tmp_path: Path, storage: str) -> None:
    prof = synthetic_profile(fps=20.0, max_age_s=0.05, camera_max_age_s=0.1)
    bag = write_synthetic_bag(tmp_path / 'b', prof, duration_s=2.0, storage=storage,
                              streams=STREAMS, events=EVENTS)
    aligned, _ = _align(bag.path, prof)
    assert [(a.episode.index, a.episode.status, a.episode.task) for a in aligned] == [
        (0, 'success', 'pick red'), (1, 'failed', 'pick blue'),
        (2, 'discarded', 'synthetic task'), (3, 'unfinished', 'last')]
    assert [a.episode.kept_by_default for a in aligned] == [True, False, False, False]
    assert aligned[0].episode.start_ns == bag.t0_ns + round(0.2 * NS)
    assert aligned[3].episode.end_ns == max(int(v.max()) for v in bag.header_ns.values())
    assert _check_frames(aligned, bag, prof, receive=False) >= 25
    # front camera gap (0.45..0.75 s, max age 0.1 s): the frame stamped 0.4353 s is stale
    # from tick 0.55 to 0.75 (the next one is stamped 0.7687 s): 5 ticks dropped
    q = aligned[0].quality
    assert q.dropped_per_stream[image_key('front')] == 5
    assert q.dropped_per_stream[image_key('wrist')] == 0
    assert q.dropped_frames == 5 and q.frames == 17 - 5
    assert q.largest_gap_s[image_key('front')] == pytest.approx(0.7687 - 0.4353, abs=2e-3)
    assert q.camera_lag_s == {'front': pytest.approx(0.0), 'wrist': pytest.approx(0.04)}
    assert q.status == 'success' and q.reason == 'operator'


def test_receive_stamps_and_action_shift(tmp_path: Path) -> None:
    prof = synthetic_profile(fps=20.0, max_age_s=0.05, camera_max_age_s=0.1)
    bag = write_synthetic_bag(tmp_path / 'b', prof, duration_s=2.0, streams=STREAMS,
                              events=EVENTS[:2])
    by_header, _ = _align(bag.path, prof)
    by_receive, _ = _align(bag.path, prof, stamp_source='receive')
    _check_frames(by_receive, bag, prof, receive=True)
    wrist = image_key('wrist')
    # the wrist camera lags 40 ms: on receive time, ticks see an older image than on header
    assert (by_receive[0].cam_index[wrist] < by_header[0].cam_index[wrist][
        :len(by_receive[0])]).any()
    shifted, _ = _align(bag.path, prof, action_shift_s=0.1)
    _check_frames(shifted, bag, prof, receive=False, shift_s=0.1)
    np.testing.assert_allclose(shifted[0].state, by_header[0].state[:len(shifted[0])])
    assert not np.allclose(shifted[0].action, by_header[0].action[:len(shifted[0])])


def test_no_events_is_one_episode_and_joy_splits(tmp_path: Path) -> None:
    prof = synthetic_profile(fps=10.0, cameras={})
    presses = [(k * 0.1, 0.3 <= k * 0.1 < 0.9 or 1.2 <= k * 0.1 < 1.6) for k in range(20)]
    bag = write_synthetic_bag(tmp_path / 'b', prof, duration_s=2.0, joy=('/joy', presses))
    whole, _ = _align(bag.path, prof)
    assert len(whole) == 1 and whole[0].episode.status == 'unlabelled'
    first = max(int(bag.header_ns['/joint_states'][0]), int(bag.header_ns[
        '/leader/joint_states'][0]))
    assert whole[0].episode.start_ns == first
    _check_frames(whole, bag, prof, receive=False)
    split_prof = synthetic_profile(fps=10.0, cameras={}, split_topic='/joy')
    split, _ = _align(bag.path, split_prof)
    spans = [((a.episode.start_ns - bag.t0_ns) / NS, (a.episode.end_ns - bag.t0_ns) / NS)
             for a in split]
    assert spans == [pytest.approx((0.3, 0.9)), pytest.approx((1.2, 1.6))]
    _check_frames(split, bag, split_prof, receive=False)


def test_float64_multiarray_action_in_order(tmp_path: Path) -> None:
    prof = synthetic_profile(fps=10.0, cameras={}, action_type='std_msgs/msg/Float64MultiArray',
                             stamp_source='receive')
    bag = write_synthetic_bag(tmp_path / 'b', prof, duration_s=1.0)
    aligned, _ = _align(bag.path, prof)
    _check_frames(aligned, bag, prof, receive=True)
