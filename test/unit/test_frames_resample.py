"""StreamBuffer / FrameAssembler: newest at or before t, max age, drops counted, shift.

Regressions pinned:
- a value stamped after the tick is never used (no future leak), even by 1 ns;
- a value exactly max_age old is used, 1 ns older is stale;
- out-of-order pushes (late header stamps) are sorted in;
- a dropped frame counts every stream at fault, and nothing is filled in;
- the action is read at t + shift, the state at t;
- joints are mapped by name (shuffled names decode in profile order);
- live buffers (keep_s) forget old values but keep the newest.
"""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.data.synthetic import synthetic_profile
from imitation_ros.errors import ConfigError, MessageError
from imitation_ros.frames import FrameAssembler, StreamBuffer, frame_times_ns
from imitation_ros.messages import typestore
from imitation_ros.profile.keys import ACTION, OBS_STATE, image_key

MS = 1_000_000


def test_newest_at_or_before_never_future() -> None:
    buf = StreamBuffer('s', 50 * MS)
    for t, v in [(10, 'a'), (20, 'b'), (30, 'c')]:
        buf.push(t * MS, v)
    assert buf.at(5 * MS).reason == 'no_message'
    assert buf.at(10 * MS).value == 'a'
    assert buf.at(20 * MS - 1).value == 'a'
    assert buf.at(20 * MS).value == 'b'
    look = buf.at(29 * MS)
    assert (look.value, look.stamp_ns, look.age_ns) == ('b', 20 * MS, 9 * MS)


def test_max_age_is_inclusive() -> None:
    buf = StreamBuffer('s', 50 * MS)
    buf.push(0, 'a')
    assert buf.at(50 * MS).ok
    stale = buf.at(50 * MS + 1)
    assert stale.reason == 'stale' and stale.value is None and stale.age_ns == 50 * MS + 1


def test_out_of_order_push_and_equal_stamps() -> None:
    buf = StreamBuffer('s', 100 * MS)
    buf.push(30 * MS, 'c')
    buf.push(10 * MS, 'a')
    buf.push(20 * MS, 'b')
    buf.push(20 * MS, 'b2')
    assert buf.stamps_ns.tolist() == [10 * MS, 20 * MS, 20 * MS, 30 * MS]
    assert buf.at(25 * MS).value == 'b2'
    assert buf.at(15 * MS).value == 'a'


def test_keep_window_forgets_old_values_but_keeps_newest() -> None:
    buf = StreamBuffer('s', 10 * MS, keep_ns=100 * MS)
    for t in range(0, 1000, 10):
        buf.push(t * MS, t)
    assert len(buf) <= 11
    assert buf.at(990 * MS).value == 990
    one = StreamBuffer('s', 10 * MS, keep_ns=0)
    one.push(0, 'x')
    one.push(MS, 'y')
    assert len(one) == 1 and one.at(MS).value == 'y'


def test_bad_max_age_rejected() -> None:
    with pytest.raises(ConfigError, match="stream 'x'"):
        StreamBuffer('x', 0)


def test_frame_times_are_exact_multiples() -> None:
    t = frame_times_ns(1_000, 1_000 + 10**9, 30.0)
    assert len(t) == 31 and t[0] == 1_000 and t[-1] == 1_000 + 10**9
    assert t[1] - t[0] == 33_333_333
    assert len(frame_times_ns(10, 5, 30.0)) == 0


def _joint_state(names: list[str], values: list[float], ns: int) -> object:
    t = typestore().types
    return t['sensor_msgs/msg/JointState'](
        header=t['std_msgs/msg/Header'](
            stamp=t['builtin_interfaces/msg/Time'](sec=ns // 10**9, nanosec=ns % 10**9),
            frame_id=''),
        name=names, position=np.array(values), velocity=np.zeros(0), effort=np.zeros(0))


def test_assembler_drops_and_counts_per_stream() -> None:
    prof = synthetic_profile(cameras={}, max_age_s=0.05)
    asm = FrameAssembler(prof)
    asm.push(OBS_STATE, 0, np.zeros(3))
    res = asm.assemble(10 * MS)
    assert not res.ok and res.missing == {ACTION: 'no_message'}
    asm.push(ACTION, 5 * MS, np.ones(3))
    res = asm.assemble(10 * MS)
    assert res.ok and res.values[ACTION].tolist() == [1, 1, 1]
    res = asm.assemble(56 * MS)   # state 56 ms old, action 51 ms old: both stale
    assert res.missing == {OBS_STATE: 'stale', ACTION: 'stale'}
    assert asm.frames_ok == 1 and asm.frames_dropped == 2
    assert asm.dropped == {ACTION: 2, OBS_STATE: 1}


def test_action_shift_reads_ahead_state_does_not() -> None:
    prof = synthetic_profile(cameras={}, max_age_s=1.0)
    asm = FrameAssembler(prof, action_shift_s=0.1)
    for t in range(0, 500, 10):
        asm.push(OBS_STATE, t * MS, t)
        asm.push(ACTION, t * MS, t)
    res = asm.assemble(205 * MS)
    assert res.values[OBS_STATE] == 200 and res.values[ACTION] == 300


def test_push_msg_maps_joints_by_name_and_picks_stamp_source() -> None:
    prof = synthetic_profile(cameras={}, max_age_s=1.0)
    msg = _joint_state(['j_c', 'extra', 'j_a', 'j_b'], [3.0, 9.0, 1.0, 2.0], 100 * MS)
    hdr = FrameAssembler(prof, stamp_source='header')
    assert hdr.push_msg('/joint_states', msg, 400 * MS) == [OBS_STATE]
    assert hdr.buffers[OBS_STATE].stamps_ns.tolist() == [100 * MS]
    assert hdr.buffers[OBS_STATE].at(100 * MS).value.tolist() == [1.0, 2.0, 3.0]
    rcv = FrameAssembler(prof, stamp_source='receive')
    rcv.push_msg('/joint_states', msg, 400 * MS)
    assert rcv.buffers[OBS_STATE].stamps_ns.tolist() == [400 * MS]
    assert rcv.push_msg('/unrelated', msg, 0) == []


def test_unknown_joint_names_raise_naming_topic() -> None:
    prof = synthetic_profile(cameras={})
    asm = FrameAssembler(prof)
    msg = _joint_state(['j_a', 'j_b', 'elbow'], [1.0, 2.0, 3.0], 0)
    with pytest.raises(MessageError, match=r"/joint_states.*\['j_c'\]"):
        asm.push_msg('/joint_states', msg, 0)


def test_camera_decode_resizes_to_profile_size() -> None:
    from imitation_ros.data.synthetic import make_image

    prof = synthetic_profile(cameras={'front': ('/cam', 'sensor_msgs/msg/Image')}, size=(12, 16))
    asm = FrameAssembler(prof)
    _, msg = make_image(typestore(), 'bgr8', (10, 20, 30), 24, 32, 0)
    img = asm.decode(image_key('front'), msg)
    assert img.shape == (12, 16, 3) and img.dtype == np.uint8
    assert img[0, 0].tolist() == [10, 20, 30]
