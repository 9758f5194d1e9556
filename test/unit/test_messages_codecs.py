"""Message <-> array codecs on rosbags messages (the same code reads rclpy messages).

Regressions pinned:
- joints are mapped by name, never by index, and a missing joint names the topic;
- bgr8 / mono8 / compressed images come out as RGB;
- our msg/ definitions are registered and round-trip through CDR.
"""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.errors import MessageError
from imitation_ros.messages import normalize_type, typestore
from imitation_ros.messages.codecs import (
    compressed_to_rgb,
    image_to_rgb,
    joint_vector,
    resize_rgb,
    stamp_ns,
)

NAMES = ['a', 'b', 'c']


def _js(names, pos):
    ts = typestore()
    JointState = ts.types['sensor_msgs/msg/JointState']
    Header = ts.types['std_msgs/msg/Header']
    Time = ts.types['builtin_interfaces/msg/Time']
    return JointState(header=Header(stamp=Time(sec=3, nanosec=5), frame_id=''), name=names,
                      position=np.array(pos, dtype=np.float64), velocity=np.array([]),
                      effort=np.array([]))


def _img(arr, enc):
    ts = typestore()
    Image = ts.types['sensor_msgs/msg/Image']
    Header = ts.types['std_msgs/msg/Header']
    Time = ts.types['builtin_interfaces/msg/Time']
    ch = 1 if arr.ndim == 2 else arr.shape[2]
    return Image(header=Header(stamp=Time(sec=0, nanosec=0), frame_id='cam'),
                 height=arr.shape[0], width=arr.shape[1], encoding=enc, is_bigendian=0,
                 step=arr.shape[1] * ch, data=arr.reshape(-1).astype(np.uint8))


def test_joint_vector_by_name() -> None:
    msg = _js(['c', 'a', 'b', 'extra'], [3.0, 1.0, 2.0, 9.0])
    assert joint_vector(msg, NAMES).tolist() == [1.0, 2.0, 3.0]
    assert stamp_ns(msg) == 3_000_000_005


def test_joint_vector_missing_joint_names_topic() -> None:
    msg = _js(['a', 'b'], [1.0, 2.0])
    with pytest.raises(MessageError, match=r"topic '/js': joint\(s\) \['c'\]"):
        joint_vector(msg, NAMES, topic='/js')


def test_images_decode_to_rgb() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (4, 5, 3), dtype=np.uint8)
    assert np.array_equal(image_to_rgb(_img(rgb, 'rgb8')), rgb)
    assert np.array_equal(image_to_rgb(_img(rgb[:, :, ::-1].copy(), 'bgr8')), rgb)
    mono = rgb[:, :, 0].copy()
    out = image_to_rgb(_img(mono, 'mono8'))
    assert out.shape == (4, 5, 3) and np.array_equal(out[:, :, 2], mono)
    with pytest.raises(MessageError, match='encoding'):
        image_to_rgb(_img(rgb, '32FC1'))


def test_compressed_png_roundtrip() -> None:
    import cv2

    rgb = np.random.default_rng(1).integers(0, 255, (8, 6, 3), dtype=np.uint8)
    ok, buf = cv2.imencode('.png', rgb[:, :, ::-1])
    assert ok
    ts = typestore()
    msg = ts.types['sensor_msgs/msg/CompressedImage'](
        header=ts.types['std_msgs/msg/Header'](
            stamp=ts.types['builtin_interfaces/msg/Time'](sec=0, nanosec=0), frame_id=''),
        format='png', data=buf.reshape(-1))
    assert np.array_equal(compressed_to_rgb(msg), rgb)
    msg.data = np.zeros(10, dtype=np.uint8)
    with pytest.raises(MessageError, match='cannot decode'):
        compressed_to_rgb(msg, topic='/cam')
    assert resize_rgb(rgb, 4, 3).shape == (4, 3, 3)


def test_own_msg_roundtrip() -> None:
    ts = typestore()
    Ev = ts.types['imitation_ros/msg/EpisodeEvent']
    assert Ev.STOP == 1
    ev = Ev(header=ts.types['std_msgs/msg/Header'](
        stamp=ts.types['builtin_interfaces/msg/Time'](sec=1, nanosec=2), frame_id=''),
        event=Ev.STOP, episode_index=4, success=True, task='lift', reason='operator')
    raw = ts.serialize_cdr(ev, 'imitation_ros/msg/EpisodeEvent')
    back = ts.deserialize_cdr(raw, 'imitation_ros/msg/EpisodeEvent')
    assert (back.episode_index, back.success, back.task) == (4, True, 'lift')


def test_normalize_type() -> None:
    assert normalize_type('sensor_msgs::msg::dds_::JointState_') == 'sensor_msgs/msg/JointState'
    assert normalize_type('sensor_msgs/JointState') == 'sensor_msgs/msg/JointState'
    with pytest.raises(MessageError):
        normalize_type('JointState')
