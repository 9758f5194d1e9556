"""Synthetic serialized messages (CDR) for recorder tests and the benchmark; no ROS needed."""
from __future__ import annotations

from typing import Any

import numpy as np

from imitation_ros.messages import typestore


def _header(t_ns: int, frame_id: str = '') -> Any:
    types = typestore().types
    return types['std_msgs/msg/Header'](
        stamp=types['builtin_interfaces/msg/Time'](sec=t_ns // 10**9, nanosec=t_ns % 10**9),
        frame_id=frame_id)


def joint_state_cdr(t_ns: int, names: list[str] | tuple[str, ...], value: float = 0.0) -> bytes:
    """A JointState with ``names`` at position ``value``, stamped ``t_ns``."""
    store = typestore()
    msg = store.types['sensor_msgs/msg/JointState'](
        header=_header(t_ns), name=list(names), position=np.full(len(names), float(value)),
        velocity=np.zeros(0), effort=np.zeros(0))
    return bytes(store.serialize_cdr(msg, 'sensor_msgs/msg/JointState'))


def image_cdr(t_ns: int, height: int = 96, width: int = 128, fill: int | None = None) -> bytes:
    """An rgb8 Image of ``height`` x ``width`` stamped ``t_ns``."""
    store = typestore()
    value = (t_ns // 1_000_000) % 251 if fill is None else fill
    msg = store.types['sensor_msgs/msg/Image'](
        header=_header(t_ns, 'camera'), height=height, width=width, encoding='rgb8',
        is_bigendian=0, step=width * 3, data=np.full(height * width * 3, value, np.uint8))
    return bytes(store.serialize_cdr(msg, 'sensor_msgs/msg/Image'))


def joy_cdr(buttons: list[int], t_ns: int = 1) -> bytes:
    """A Joy message with ``buttons`` pressed (1) or not (0)."""
    store = typestore()
    msg = store.types['sensor_msgs/msg/Joy'](
        header=_header(t_ns), axes=np.zeros(2, np.float32),
        buttons=np.asarray(buttons, np.int32))
    return bytes(store.serialize_cdr(msg, 'sensor_msgs/msg/Joy'))


def restamp(cdr: bytes, t_ns: int) -> bytes:
    """Copy of a header-first message with a new header stamp (patched in the CDR bytes)."""
    out = bytearray(cdr)
    out[4:12] = np.array([t_ns // 10**9, t_ns % 10**9], dtype='<u4').tobytes()
    return bytes(out)
