"""DDS-backend message classes and their CDR, checked against bytes ROS 2 itself wrote.

``serialize()`` *is* rosbags' ``serialize_cdr`` applied to our rclpy-like message classes
(``to_rosbags``), so comparing the two only checks that conversion. The wire format itself
is checked against the reference bags in test/data/realbags, whose payloads ROS 2 Jazzy's
``rmw_cyclonedds_cpp`` serialized: every message there, read back into our classes and
serialized again, gives ROS 2's bytes, except the zero padding rmw_cyclonedds_cpp appends to
a multiple of 4 bytes (CDR readers ignore it; ROS 2 nodes read ours without it).

Regressions pinned:
- default construction with nested defaults, keyword args, constants, __eq__, __repr__,
  get_fields_and_field_types like rclpy; unknown fields raise MessageError naming them.
- JointState, Image, CompressedImage, Joy and String as ROS 2 wrote them: deserialize() then
  serialize() reproduces the bytes (up to the trailing padding); a changed field does not.
- our classes convert to rosbags objects faithfully: serialize() equals rosbags
  serialize_cdr for flat, nested, fixed-array, sequence-of-message types and our
  EpisodeEvent (types ROS 2 did not record for us); deserialize() round-trips.
- uint8[] accepts bytes / bytearray / array.array / numpy and a 640x480 image codes fast.
- service Request/Response classes exist for std_srvs; the service wire header wraps/unwraps.
"""
from __future__ import annotations

import array
import time

import numpy as np
import pytest

from imitation_ros.errors import MessageError
from imitation_ros.graph.dds import wire
from imitation_ros.messages import typestore
from imitation_ros.messages.runtime import (
    deserialize,
    msg_class,
    serialize,
    srv_class,
    to_rosbags,
)


def _rb(name: str):  # noqa: ANN202
    return typestore().types[name]


def _header(sec: int = 5, nsec: int = 6, frame: str = 'f'):  # noqa: ANN202
    return _rb('std_msgs/msg/Header')(
        stamp=_rb('builtin_interfaces/msg/Time')(sec=sec, nanosec=nsec), frame_id=frame)


def test_defaults_constants_eq_repr() -> None:
    js_cls = msg_class('sensor_msgs/msg/JointState')
    a = js_cls()
    assert a.header.stamp.sec == 0 and a.header.frame_id == '' and list(a.name) == []
    b = js_cls(name=['x'], position=[1.0])
    assert a != b and b == js_cls(name=['x'], position=np.array([1.0]))
    assert 'sensor_msgs.msg.JointState(' in repr(b)
    assert js_cls.get_fields_and_field_types()['position'] == 'sequence<double>'
    ev = msg_class('imitation_ros/msg/EpisodeEvent')
    assert (ev.START, ev.STOP, ev.DISCARD) == (0, 1, 2)
    ci = msg_class('sensor_msgs/msg/CameraInfo')()
    assert ci.k.shape == (9,) and ci.get_fields_and_field_types()['k'] == 'double[9]'
    with pytest.raises(MessageError, match='posiiton'):
        js_cls(posiiton=[1.0])
    with pytest.raises(MessageError, match='not in the typestore'):
        msg_class('nope_msgs/msg/Nope')


def test_cdr_reproduces_bytes_ros2_wrote(realbags) -> None:  # noqa: ANN001
    from rosbags.highlevel import AnyReader

    seen: dict[str, int] = {}
    for bag in (realbags / 'arm_mcap', realbags / 'arm_sqlite3'):
        with AnyReader([bag], default_typestore=typestore()) as reader:
            for conn, _t, raw in reader.messages():
                ros2 = bytes(raw)
                ours = serialize(deserialize(ros2, conn.msgtype), conn.msgtype)
                pad = -len(ours) % 4
                assert len(ros2) % 4 == 0, conn.topic
                assert ros2 == ours + bytes(pad), (bag.name, conn.topic)
                seen[conn.msgtype] = seen.get(conn.msgtype, 0) + 1
    assert set(seen) == {'sensor_msgs/msg/JointState', 'sensor_msgs/msg/Image',
                         'sensor_msgs/msg/CompressedImage', 'sensor_msgs/msg/Joy',
                         'std_msgs/msg/String'}, seen
    assert seen['sensor_msgs/msg/JointState'] > 500
    # the comparison can fail: one changed value changes the bytes
    with AnyReader([realbags / 'arm_mcap'], default_typestore=typestore()) as reader:
        conn = next(c for c in reader.connections if c.topic == '/joint_states')
        _c, _t, raw = next(reader.messages(connections=[conn]))
    msg = deserialize(bytes(raw), conn.msgtype)
    pos = np.array(msg.position)
    pos[2] += 1e-9
    msg.position = pos
    changed = serialize(msg, conn.msgtype)
    assert len(changed) == len(bytes(raw)) - (-len(changed) % 4)
    assert changed != bytes(raw)[:len(changed)]


def _check_identity(name: str, rosbags_msg, ours) -> None:  # noqa: ANN001
    want = bytes(typestore().serialize_cdr(rosbags_msg, name))
    got = serialize(ours, name)
    assert got == want
    back = deserialize(got, name)
    assert back == ours
    assert serialize(back, name) == want


def test_cdr_identity_joint_state_and_event() -> None:
    rb = _rb('sensor_msgs/msg/JointState')(
        header=_header(), name=['a', 'bb', 'ccc'], position=np.array([1.0, -2.5, 3.25]),
        velocity=np.array([], dtype=np.float64), effort=np.array([0.5], dtype=np.float64))
    ours = msg_class('sensor_msgs/msg/JointState')(
        name=['a', 'bb', 'ccc'], position=[1.0, -2.5, 3.25], effort=array.array('d', [0.5]))
    ours.header.stamp.sec, ours.header.stamp.nanosec, ours.header.frame_id = 5, 6, 'f'
    _check_identity('sensor_msgs/msg/JointState', rb, ours)
    ev_rb = _rb('imitation_ros/msg/EpisodeEvent')(
        header=_header(1, 2, ''), event=1, episode_index=7, success=True, task='pick cube',
        reason='operator')
    ev = msg_class('imitation_ros/msg/EpisodeEvent')(event=1, episode_index=7, success=True,
                                                     task='pick cube', reason='operator')
    ev.header.stamp.sec, ev.header.stamp.nanosec = 1, 2
    _check_identity('imitation_ros/msg/EpisodeEvent', ev_rb, ev)


def test_cdr_identity_nested_arrays() -> None:
    pt_rb = _rb('trajectory_msgs/msg/JointTrajectoryPoint')
    dur_rb = _rb('builtin_interfaces/msg/Duration')
    points = [pt_rb(positions=np.array([0.1 * k, 0.2]), velocities=np.array([1.0, 2.0]),
                    accelerations=np.array([], dtype=np.float64),
                    effort=np.array([], dtype=np.float64),
                    time_from_start=dur_rb(sec=k, nanosec=9)) for k in range(3)]
    rb = _rb('trajectory_msgs/msg/JointTrajectory')(
        header=_header(), joint_names=['j1', 'j2'], points=points)
    pt = msg_class('trajectory_msgs/msg/JointTrajectoryPoint')
    dur = msg_class('builtin_interfaces/msg/Duration')
    ours = msg_class('trajectory_msgs/msg/JointTrajectory')(
        joint_names=['j1', 'j2'],
        points=[pt(positions=[0.1 * k, 0.2], velocities=[1.0, 2.0],
                   time_from_start=dur(sec=k, nanosec=9)) for k in range(3)])
    ours.header.stamp.sec, ours.header.stamp.nanosec, ours.header.frame_id = 5, 6, 'f'
    _check_identity('trajectory_msgs/msg/JointTrajectory', rb, ours)
    # fixed-size arrays and a nested struct after them
    ci_rb = _rb('sensor_msgs/msg/CameraInfo')(
        header=_header(), height=4, width=5, distortion_model='plumb_bob',
        d=np.arange(5, dtype=np.float64), k=np.arange(9, dtype=np.float64),
        r=np.eye(3).ravel(), p=np.arange(12, dtype=np.float64), binning_x=1, binning_y=2,
        roi=_rb('sensor_msgs/msg/RegionOfInterest')(x_offset=1, y_offset=2, height=3, width=4,
                                                    do_rectify=True))
    ci = msg_class('sensor_msgs/msg/CameraInfo')(
        height=4, width=5, distortion_model='plumb_bob', d=list(range(5)), k=list(range(9)),
        r=np.eye(3).ravel().tolist(), p=list(range(12)), binning_x=1, binning_y=2)
    ci.header.stamp.sec, ci.header.stamp.nanosec, ci.header.frame_id = 5, 6, 'f'
    ci.roi.x_offset, ci.roi.y_offset, ci.roi.height, ci.roi.width = 1, 2, 3, 4
    ci.roi.do_rectify = True
    _check_identity('sensor_msgs/msg/CameraInfo', ci_rb, ci)
    with pytest.raises(MessageError, match='k'):
        serialize(msg_class('sensor_msgs/msg/CameraInfo')(k=[1.0]))


@pytest.mark.parametrize('kind', ['bytes', 'bytearray', 'array', 'numpy'])
def test_image_uint8_fast_paths(kind: str) -> None:
    raw = np.random.default_rng(0).integers(0, 255, 640 * 480 * 3, dtype=np.uint8)
    data = {'bytes': raw.tobytes(), 'bytearray': bytearray(raw.tobytes()),
            'array': array.array('B', raw.tobytes()), 'numpy': raw}[kind]
    img = msg_class('sensor_msgs/msg/Image')(height=480, width=640, encoding='rgb8',
                                             step=1920, data=data)
    rb = _rb('sensor_msgs/msg/Image')(header=_header(0, 0, ''), height=480, width=640,
                                      encoding='rgb8', is_bigendian=0, step=1920, data=raw)
    t0 = time.perf_counter()
    cdr = serialize(img)
    back = deserialize(cdr, 'sensor_msgs/msg/Image')
    elapsed = time.perf_counter() - t0
    assert cdr == bytes(typestore().serialize_cdr(rb, 'sensor_msgs/msg/Image'))
    assert isinstance(back.data, np.ndarray) and np.array_equal(back.data, raw)
    assert elapsed < 0.05, f'640x480 image serialize+deserialize took {elapsed * 1e3:.1f} ms'


def test_services_and_request_header() -> None:
    trig = srv_class('std_srvs/srv/Trigger')
    resp = trig.Response(success=True, message='ok')
    setb = srv_class('std_srvs/srv/SetBool')
    assert setb.Request(data=True).data is True
    body = serialize(resp)
    payload = wire.wrap_request((2**63 + 5, 42), body)
    assert payload[:4] == b'\x00\x01\x00\x00' and len(payload) == len(body) + 16
    guid, seq, plain = wire.unwrap_request(payload)
    assert (guid, seq, plain) == (2**63 + 5, 42, body)
    assert deserialize(plain, 'std_srvs/srv/Trigger_Response') == resp
    assert wire.dds_type_name('std_srvs/srv/Trigger_Request') == \
        'std_srvs::srv::dds_::Trigger_Request_'
    with pytest.raises(MessageError, match='unknown'):
        srv_class('nope_srvs/srv/Nope')


def test_to_rosbags_accepts_rosbags_objects() -> None:
    rb = _rb('std_msgs/msg/String')(data='hi')
    assert serialize(to_rosbags(rb), 'std_msgs/msg/String') == bytes(
        typestore().serialize_cdr(rb, 'std_msgs/msg/String'))
