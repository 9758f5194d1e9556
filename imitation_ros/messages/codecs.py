"""Messages <-> numpy arrays. Works on rosbags dataclasses and on rclpy / DDS-backend messages.

Only attributes are read (``msg.name``, ``msg.position``, ``msg.data`` ...), so every message
flavour the suite meets goes through the same code: this is the one path from topics to
dataset features, shared by the converter and the policy node.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.errors import MessageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray


def stamp_ns(msg: Any) -> int:
    """Return ``msg.header.stamp`` in integer nanoseconds (0 when the message has no header)."""
    header = getattr(msg, 'header', None)
    if header is None:
        return 0
    stamp = header.stamp
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def joint_vector(
    msg: Any,
    names: Sequence[str],
    *,
    msg_type: str = 'sensor_msgs/msg/JointState',
    field: str = 'position',
    topic: str = '?',
) -> NDArray[np.float32]:
    """Return the joint values of ``msg`` in the order of ``names``.

    JointState is mapped by joint name, never by index. Float64MultiArray is taken in order
    (it has no names) and must have exactly ``len(names)`` values. JointTrajectory takes its
    first point, mapped by ``joint_names``.

    Raises:
        MessageError: A joint is missing, a length is wrong or the type is not a joint stream;
            the message names the topic and the joints.
    """
    if msg_type.endswith('JointState') or msg_type.endswith('JointTrajectory'):
        if msg_type.endswith('JointTrajectory'):
            if not len(msg.points):
                msg_ = f'topic {topic!r}: JointTrajectory has no points'
                raise MessageError(msg_)
            have = list(msg.joint_names)
            values = np.asarray(getattr(msg.points[0], 'positions'), dtype=np.float64)
        else:
            have = list(msg.name)
            values = np.asarray(getattr(msg, field), dtype=np.float64)
        if len(values) != len(have):
            msg_ = (f'topic {topic!r}: {field} has {len(values)} values for {len(have)} joint '
                    f'names')
            raise MessageError(msg_)
        index = {n: i for i, n in enumerate(have)}
        missing = [n for n in names if n not in index]
        if missing:
            msg_ = f'topic {topic!r}: joint(s) {missing} not in message joints {have}'
            raise MessageError(msg_)
        return values[[index[n] for n in names]].astype(np.float32)
    if msg_type.endswith('Float64MultiArray') or msg_type.endswith('Float32MultiArray'):
        values = np.asarray(msg.data, dtype=np.float64)
        if len(values) != len(names):
            msg_ = f'topic {topic!r}: {len(values)} values, expected {len(names)} ({list(names)})'
            raise MessageError(msg_)
        return values.astype(np.float32)
    msg_ = f'topic {topic!r}: type {msg_type!r} is not a joint stream'
    raise MessageError(msg_)


_CHANNELS = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1, '8UC1': 1, '8UC3': 3}


def image_to_rgb(msg: Any, *, topic: str = '?') -> NDArray[np.uint8]:
    """Decode a ``sensor_msgs/Image`` into an HxWx3 uint8 RGB array.

    Supports rgb8, bgr8, rgba8, bgra8, mono8 (8UC1, 8UC3 taken as bgr8 like cv_bridge).

    Raises:
        MessageError: Unsupported encoding or a data length that does not match the header.
    """
    enc = str(msg.encoding)
    ch = _CHANNELS.get(enc)
    if ch is None:
        msg_ = f'topic {topic!r}: image encoding {enc!r} not supported; use one of {list(_CHANNELS)}'
        raise MessageError(msg_)
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = msg.data
    buf = np.frombuffer(data if isinstance(data, (bytes, bytearray, memoryview)) else
                        np.asarray(data, dtype=np.uint8), dtype=np.uint8)
    if step < w * ch or buf.size < h * step:
        msg_ = (f'topic {topic!r}: image {w}x{h} {enc} step {step} needs {h * step} bytes, '
                f'has {buf.size}')
        raise MessageError(msg_)
    img = buf[: h * step].reshape(h, step)[:, : w * ch].reshape(h, w, ch)
    if ch == 1:
        return np.repeat(img, 3, axis=2)
    if enc in ('bgr8', 'bgra8', '8UC3'):
        img = img[:, :, 2::-1]
    return np.ascontiguousarray(img[:, :, :3])


def compressed_to_rgb(msg: Any, *, topic: str = '?') -> NDArray[np.uint8]:
    """Decode a ``sensor_msgs/CompressedImage`` (jpeg or png) into HxWx3 uint8 RGB.

    Raises:
        MessageError: The data is not an image OpenCV can decode.
    """
    import cv2

    data = msg.data
    buf = np.frombuffer(bytes(data) if not isinstance(data, np.ndarray) else data.tobytes(),
                        dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if img is None:
        msg_ = f'topic {topic!r}: cannot decode compressed image (format {msg.format!r})'
        raise MessageError(msg_)
    return np.ascontiguousarray(img[:, :, ::-1])


def any_image_to_rgb(msg: Any, msg_type: str, *, topic: str = '?') -> NDArray[np.uint8]:
    """Decode an Image or CompressedImage, by type name."""
    if msg_type.endswith('CompressedImage'):
        return compressed_to_rgb(msg, topic=topic)
    return image_to_rgb(msg, topic=topic)


def resize_rgb(img: NDArray[np.uint8], height: int, width: int) -> NDArray[np.uint8]:
    """Resize to ``height`` x ``width`` (area interpolation when shrinking); no-op if equal."""
    if img.shape[0] == height and img.shape[1] == width:
        return img
    import cv2

    shrink = img.shape[0] > height or img.shape[1] > width
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(img, (width, height), interpolation=interp)


def set_stamp(header: Any, ns: int) -> None:
    """Set ``header.stamp`` from integer nanoseconds (works on rclpy and DDS-backend messages)."""
    header.stamp.sec = int(ns // 1_000_000_000)
    header.stamp.nanosec = int(ns % 1_000_000_000)


def fill_joint_state(
    msg: Any,
    names: Sequence[str],
    position: Sequence[float] | NDArray[Any],
    stamp_ns: int,
    *,
    velocity: Sequence[float] | NDArray[Any] | None = None,
    frame_id: str = '',
) -> Any:
    """Fill a JointState in place (names, float positions, stamp) and return it."""
    set_stamp(msg.header, stamp_ns)
    msg.header.frame_id = frame_id
    msg.name = list(names)
    msg.position = [float(v) for v in position]
    msg.velocity = [float(v) for v in velocity] if velocity is not None else []
    msg.effort = []
    return msg


def fill_image(msg: Any, rgb: NDArray[np.uint8], stamp_ns: int, frame_id: str) -> Any:
    """Fill a ``sensor_msgs/Image`` in place from an HxWx3 uint8 RGB array and return it.

    ``data`` is set as ``array.array('B')``, the fast path of rclpy's generated setters (as
    cv_bridge does); the DDS backend accepts the same.
    """
    import array

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    set_stamp(msg.header, stamp_ns)
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = 'rgb8'
    msg.is_bigendian = 0
    msg.step = int(rgb.shape[1]) * 3
    data = array.array('B')
    data.frombytes(rgb.tobytes())
    msg.data = data
    return msg
