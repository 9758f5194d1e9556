"""The bags ROS 2's own ``ros2 bag record`` wrote (test/data/realbags, mcap and sqlite3).

Regressions pinned:
- both storages convert with config/so_arm.yaml into one dataset that lerobot reopens
  (2 episodes: no episode events means one episode per bag), /joy and /diagnostics_text
  are ignored;
- every state/action in the dataset equals, joint by joint, the newest JointState stamped
  at or before the frame's tick, recomputed here straight from rosbags;
- the Joy split (button 0 held the whole time) yields one episode starting at the first press.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest

from imitation_ros.data.align import align_bag, stream_span
from imitation_ros.data.bags import scan_bag
from imitation_ros.data.convert import ConvertOptions, convert_bags
from imitation_ros.data.episodes import cut_episodes
from imitation_ros.frames import FrameAssembler
from imitation_ros.profile import load_profile
from imitation_ros.profile.keys import ACTION, OBS_STATE
from imitation_ros.resources import config_path

if TYPE_CHECKING:
    from pathlib import Path

NAMES = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper']


def _joint_messages(bag: Path, topic: str) -> tuple[np.ndarray, np.ndarray]:
    """(header stamps, positions in NAMES order) of a JointState topic, read with rosbags."""
    from rosbags.highlevel import AnyReader

    from imitation_ros.messages import typestore

    stamps, values = [], []
    with AnyReader([bag], default_typestore=typestore()) as reader:
        conns = [c for c in reader.connections if c.topic == topic]
        for conn, _t, raw in reader.messages(connections=conns):
            msg = reader.deserialize(raw, conn.msgtype)
            stamps.append(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
            pos = dict(zip(msg.name, msg.position, strict=True))
            values.append([pos[n] for n in NAMES])
    order = np.argsort(stamps, kind='stable')
    return np.array(stamps)[order], np.array(values, dtype=np.float32)[order]


def test_realbags_convert_and_match_rosbags(tmp_path: Path, realbags: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    profile = load_profile(config_path('so_arm.yaml'))
    bags = [realbags / 'arm_mcap', realbags / 'arm_sqlite3']
    out = tmp_path / 'real'
    summary = convert_bags(bags, profile, out, ConvertOptions())
    assert not summary.failed and summary.episodes == 2
    ds = LeRobotDataset('local/real', root=out)
    assert ds.num_episodes == 2 and ds.fps == 30
    report = json.loads((out / 'quality' / 'report.json').read_text())['episodes']
    assert [r['frames'] for r in report] == [
        int((ds.hf_dataset['episode_index'] == np.int64(i)).sum()) for i in range(2)]
    for r in report:       # the reference bags hold 1.5 s each (test/data/realbags/README.md)
        assert 1.3 < r['duration_s'] < 1.55 and r['frames'] >= 40
        assert 0 <= r['camera_lag_s']['front'] < 0.005   # README: within a millisecond or so
    start = 0
    for ep, bag in enumerate(bags):
        asm = FrameAssembler(profile)
        scan = scan_bag(bag, asm)
        (aligned,) = align_bag(scan, asm, cut_episodes([], None, *stream_span(scan), ''),
                               profile.fps)
        for topic, key, arr in (('/joint_states', OBS_STATE, 'state'),
                                ('/leader/joint_states', ACTION, 'action')):
            stamps, values = _joint_messages(bag, topic)
            idx = np.searchsorted(stamps, aligned.ticks_ns, side='right') - 1
            assert (idx >= 0).all()
            assert ((aligned.ticks_ns - stamps[idx]) <= 0.05e9).all()
            np.testing.assert_array_equal(getattr(aligned, arr), values[idx])
            col = np.stack(ds.hf_dataset[start: start + len(aligned)][key])
            np.testing.assert_array_equal(col, values[idx], err_msg=f'{bag.name} {key}')
        assert (ds.hf_dataset[start]['episode_index']) == ep
        start += len(aligned)


@pytest.mark.parametrize('bag', ['arm_mcap', 'arm_sqlite3'])
def test_realbag_joy_split(realbags: Path, bag: str) -> None:
    profile = load_profile(config_path('so_arm.yaml'))
    asm = FrameAssembler(profile)
    scan = scan_bag(realbags / bag, asm, split_topic='/joy', split_button=0)
    assert scan.button and all(p for _, p in scan.button)
    eps = cut_episodes([], scan.button, *stream_span(scan), 'demo')
    assert len(eps) == 1 and eps[0].start_ns == scan.button[0][0]
    (aligned,) = align_bag(scan, asm, eps, profile.fps)
    assert len(aligned) >= 40
