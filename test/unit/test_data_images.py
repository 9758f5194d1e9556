"""Camera images through the converter: encodings, resizing, several cameras, bad images.

Regressions pinned:
- rgb8, bgr8, mono8, jpeg and png decode to the RGB colour that was written (exact for raw
  and png, within a few levels for jpeg), resized from the bag's size to the profile's;
- each frame gets the image of the camera message the alignment chose, for every camera;
- an image in an unsupported encoding fails the bag with a BagError naming bag and topic.
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
    image_colour,
    synthetic_profile,
    write_synthetic_bag,
)
from imitation_ros.data.writer import iter_frames
from imitation_ros.errors import BagError
from imitation_ros.frames import FrameAssembler
from imitation_ros.messages import typestore
from imitation_ros.profile.keys import image_key

if TYPE_CHECKING:
    from pathlib import Path

ENCODINGS = ('rgb8', 'bgr8', 'mono8', 'jpeg', 'png')


def test_every_encoding_decodes_and_resizes(tmp_path: Path) -> None:
    cams = {enc: (f'/cam_{enc}/image' + ('/compressed' if enc in ('jpeg', 'png') else ''),
                  'sensor_msgs/msg/CompressedImage' if enc in ('jpeg', 'png')
                  else 'sensor_msgs/msg/Image') for enc in ENCODINGS}
    prof = synthetic_profile(fps=10.0, cameras=cams, size=(12, 16))
    streams = {topic: SynthStream(rate_hz=30.0, phase_s=0.004 * i, encoding=enc)
               for i, (enc, (topic, _)) in enumerate(cams.items())}
    bag = write_synthetic_bag(tmp_path / 'b', prof, duration_s=1.0, streams=streams,
                              image_size=(24, 32)).path
    asm = FrameAssembler(prof)
    scan = scan_bag(bag, asm)
    (aligned,) = align_bag(scan, asm, cut_episodes([], None, *stream_span(scan), ''), prof.fps)
    frames = list(iter_frames(bag, asm, [aligned]))
    assert len(frames) == len(aligned) >= 9
    for _, f, images in frames:
        for enc in ENCODINGS:
            img = images[image_key(enc)]
            assert img.shape == (12, 16, 3) and img.dtype == np.uint8
            colour = image_colour(int(aligned.cam_index[image_key(enc)][f]))
            want = np.array([colour[0]] * 3 if enc == 'mono8' else colour)
            tol = 3 if enc == 'jpeg' else 0
            assert np.abs(img.reshape(-1, 3).astype(int) - want).max() <= tol, (enc, f)


def test_unsupported_encoding_names_bag_and_topic(tmp_path: Path) -> None:
    from rosbags.rosbag2 import StoragePlugin, Writer

    prof = synthetic_profile(fps=10.0, cameras={'depth': ('/depth', 'sensor_msgs/msg/Image')})
    store = typestore()
    t = store.types
    path = tmp_path / 'depth_bag'
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conns = {topic: writer.add_connection(topic, typ, typestore=store) for topic, typ in (
            ('/joint_states', 'sensor_msgs/msg/JointState'),
            ('/leader/joint_states', 'sensor_msgs/msg/JointState'),
            ('/depth', 'sensor_msgs/msg/Image'))}
        for k in range(10):
            ns = 10**18 + k * 50_000_000
            hdr = t['std_msgs/msg/Header'](
                stamp=t['builtin_interfaces/msg/Time'](sec=ns // 10**9, nanosec=ns % 10**9),
                frame_id='')
            js = t['sensor_msgs/msg/JointState'](header=hdr, name=['j_a', 'j_b', 'j_c'],
                                                 position=np.zeros(3), velocity=np.zeros(0),
                                                 effort=np.zeros(0))
            img = t['sensor_msgs/msg/Image'](header=hdr, height=2, width=2, encoding='16UC1',
                                             is_bigendian=0, step=4,
                                             data=np.zeros(8, np.uint8))
            for topic, msg, typ in (('/joint_states', js, 'sensor_msgs/msg/JointState'),
                                    ('/leader/joint_states', js, 'sensor_msgs/msg/JointState'),
                                    ('/depth', img, 'sensor_msgs/msg/Image')):
                writer.write(conns[topic], ns, store.serialize_cdr(msg, typ))
    asm = FrameAssembler(prof)
    scan = scan_bag(path, asm)
    (aligned,) = align_bag(scan, asm, cut_episodes([], None, *stream_span(scan), ''), prof.fps)
    with pytest.raises(BagError, match=r"depth_bag: topic '/depth': image encoding '16UC1'"):
        list(iter_frames(path, asm, [aligned]))
