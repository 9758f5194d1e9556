"""Bag/live parity: the converter's frame at tick t equals what a live node builds at t.

The live side replays a real ``ros2 bag record`` bag message by message in receive order
into a ``FrameAssembler`` with a bounded window (``keep_s``), decoding every message as it
arrives (``push_msg``), and assembles a frame at each tick once the clock has passed it, as
the policy node does. The offline side is the converter's alignment plus its image pass.
On receive stamps the two must agree exactly: same kept ticks, same joints, same pixels.

Regressions pinned:
- offline alignment never sees a message the live node could not have had at t;
- the converter decodes the same camera message the live node would use (no off-by-one);
- a dropped tick offline is a dropped tick live.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.data.align import align_bag, stream_span
from imitation_ros.data.bags import scan_bag
from imitation_ros.data.episodes import cut_episodes
from imitation_ros.data.writer import iter_frames
from imitation_ros.frames import FrameAssembler, frame_times_ns
from imitation_ros.messages import typestore
from imitation_ros.profile import load_profile
from imitation_ros.profile.keys import ACTION, OBS_STATE
from imitation_ros.resources import config_path

if TYPE_CHECKING:
    from pathlib import Path


def test_bag_live_parity_on_receive_stamps(realbags: Path) -> None:
    from rosbags.highlevel import AnyReader

    bag = realbags / 'arm_mcap'
    profile = load_profile(config_path('so_arm.yaml'))
    offline = FrameAssembler(profile, stamp_source='receive')
    scan = scan_bag(bag, offline)
    (ep,) = cut_episodes([], None, *stream_span(scan), 'demo')
    (aligned,) = align_bag(scan, offline, [ep], profile.fps)
    images = {f: imgs for _, f, imgs in iter_frames(bag, offline, [aligned])}
    offline_frames = {t: f for f, t in enumerate(aligned.ticks_ns.tolist())}

    live = FrameAssembler(profile, stamp_source='receive', keep_s=1.0)
    ticks = frame_times_ns(ep.start_ns, ep.end_ns, profile.fps).tolist()
    with AnyReader([bag], default_typestore=typestore()) as reader:
        stream = reader.messages()
        pending = next(stream, None)
        matched = dropped = 0
        for t in ticks:
            while pending is not None and pending[1] <= t:
                conn, t_ns, raw = pending
                if conn.topic in live.topic_keys:
                    live.push_msg(conn.topic, reader.deserialize(raw, conn.msgtype), t_ns)
                pending = next(stream, None)
            res = live.assemble(t)
            f = offline_frames.get(t)
            assert res.ok == (f is not None), (t, res.missing)
            if f is None:
                dropped += 1
                continue
            np.testing.assert_array_equal(res.values[OBS_STATE], aligned.state[f])
            np.testing.assert_array_equal(res.values[ACTION], aligned.action[f])
            for cam in profile.cameras:
                np.testing.assert_array_equal(res.values[cam.key], images[f][cam.key])
            matched += 1
    assert matched == len(aligned) >= 40
    assert dropped == aligned.quality.dropped_frames
    assert len(live.buffers[OBS_STATE]) < 400   # the live window stays bounded
