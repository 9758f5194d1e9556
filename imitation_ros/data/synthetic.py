"""Synthetic bags with known stamps, gaps, offsets and lags (for tests and benchmarks).

Every value is a known function of its header stamp, so a test can recompute what the
converter must output frame by frame:

- joint streams: ``joint_values(kind, t_s)[j] = sign * (0.1 * (j + 1) + t_s)`` where ``t_s`` is
  the header stamp in seconds since the bag start and ``sign`` is +1 for the state, -1 for
  the action. JointState names are written in a shuffled order with an extra joint, so a
  converter that maps by index gets it wrong.
- images: message ``k`` of a camera is a constant image of colour ``image_colour(k)`` (RGB),
  written as rgb8, bgr8, mono8 (grey level ``k % 250``), jpeg or png.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from imitation_ros.errors import BagError
from imitation_ros.frames.resample import NS_PER_S
from imitation_ros.messages import typestore

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from imitation_ros.profile.model import RobotProfile

Encoding = Literal['rgb8', 'bgr8', 'mono8', 'jpeg', 'png']
T0_NS = 1_700_000_000 * NS_PER_S


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthStream:
    """How one topic is published.

    Attributes:
        rate_hz: Publishing rate.
        phase_s: Header stamp of the first message, seconds after the bag start.
        lag_s: Receive time minus header stamp.
        gaps_s: ``(start, end)`` windows (seconds after the bag start) with no message.
        stop_s: No message stamped after this (None: until the end).
        encoding: Image encoding (cameras only).
    """

    rate_hz: float
    phase_s: float = 0.0
    lag_s: float = 0.0
    gaps_s: tuple[tuple[float, float], ...] = ()
    stop_s: float | None = None
    encoding: Encoding = 'rgb8'

    def stamps_s(self, duration_s: float) -> NDArray[np.float64]:
        """Header stamps (seconds after the bag start)."""
        t = self.phase_s + np.arange(0, duration_s * self.rate_hz + 1) / self.rate_hz
        t = t[t <= duration_s]
        if self.stop_s is not None:
            t = t[t <= self.stop_s]
        for a, b in self.gaps_s:
            t = t[(t < a) | (t > b)]
        return t


@dataclass(slots=True)
class SynthBag:
    """What was written: per topic, header stamps and receive times (ns)."""

    path: Path
    t0_ns: int
    header_ns: dict[str, NDArray[np.int64]] = field(default_factory=dict)
    receive_ns: dict[str, NDArray[np.int64]] = field(default_factory=dict)


def joint_values(kind: Literal['state', 'action'], t_s: float, n: int) -> NDArray[np.float64]:
    """Value of each joint (profile order) at header time ``t_s`` (see module docstring)."""
    sign = 1.0 if kind == 'state' else -1.0
    return sign * (0.1 * (np.arange(n) + 1) + t_s)


def image_colour(k: int) -> tuple[int, int, int]:
    """RGB colour of camera message ``k``."""
    return (k * 7) % 250, 100, 250 - (k * 3) % 250


def _ns(t_s: float, t0_ns: int) -> int:
    return t0_ns + int(round(t_s * NS_PER_S))


def _header(store: Any, ns: int, frame_id: str = '') -> Any:
    t = store.types
    return t['std_msgs/msg/Header'](
        stamp=t['builtin_interfaces/msg/Time'](sec=ns // NS_PER_S, nanosec=ns % NS_PER_S),
        frame_id=frame_id)


def _joint_msg(store: Any, msg_type: str, names: Sequence[str], values: NDArray[np.float64],
               ns: int, rng: np.random.Generator) -> Any:
    t = store.types
    if msg_type.endswith('Float64MultiArray'):
        layout = t['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
        return t['std_msgs/msg/Float64MultiArray'](layout=layout,
                                                   data=np.asarray(values, np.float64))
    order = list(names) + ['extra_joint']
    vals = list(values) + [99.0]
    perm = rng.permutation(len(order))
    return t['sensor_msgs/msg/JointState'](
        header=_header(store, ns), name=[order[i] for i in perm],
        position=np.array([vals[i] for i in perm], np.float64),
        velocity=np.zeros(len(order)), effort=np.zeros(0))


def make_image(store: Any, encoding: Encoding, colour: tuple[int, int, int], height: int,
               width: int, ns: int) -> tuple[str, Any]:
    """Build a constant Image or CompressedImage message; returns (type name, message)."""
    import cv2

    t = store.types
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[:] = colour
    if encoding in ('jpeg', 'png'):
        ok, buf = cv2.imencode('.jpg' if encoding == 'jpeg' else '.png', rgb[:, :, ::-1])
        if not ok:
            msg = f'cannot encode {encoding}'
            raise BagError(msg)
        return 'sensor_msgs/msg/CompressedImage', t['sensor_msgs/msg/CompressedImage'](
            header=_header(store, ns, 'cam'), format=f'rgb8; {encoding} compressed bgr8',
            data=buf.reshape(-1))
    if encoding == 'mono8':
        data, step = np.full((height, width), colour[0], np.uint8), width
    elif encoding == 'bgr8':
        data, step = rgb[:, :, ::-1], width * 3
    else:
        data, step = rgb, width * 3
    return 'sensor_msgs/msg/Image', t['sensor_msgs/msg/Image'](
        header=_header(store, ns, 'cam'), height=height, width=width, encoding=encoding,
        is_bigendian=0, step=step, data=np.ascontiguousarray(data).reshape(-1))


def write_synthetic_bag(
    path: str | Path,
    profile: RobotProfile,
    *,
    duration_s: float = 2.0,
    storage: Literal['mcap', 'sqlite3'] = 'mcap',
    streams: dict[str, SynthStream] | None = None,
    image_size: tuple[int, int] | None = None,
    events: Sequence[tuple[float, int, int, bool, str, str]] = (),
    joy: tuple[str, Sequence[tuple[float, bool]]] | None = None,
    interventions: Sequence[tuple[float, bool, int, str]] = (),
    extra_topic: bool = True,
    seed: int = 0,
    t0_ns: int = T0_NS,
) -> SynthBag:
    """Write a bag with the profile's topics and known content.

    Args:
        path: Bag directory to create.
        profile: Topics, joint names and cameras to write.
        duration_s: Length of the recording.
        storage: ``mcap`` or ``sqlite3``.
        streams: Topic -> publishing pattern (default: state 100 Hz, action 50 Hz, cameras
            30 Hz, no lag, no gap).
        image_size: ``(height, width)`` of written images (default: each camera's size).
        events: ``(t_s, event, episode_index, success, task, reason)`` episode events.
        joy: ``(topic, [(t_s, button 0 pressed), ...])`` Joy messages.
        interventions: ``(t_s, human_in_control, episode_index, source)`` records on
            ``/intervention_events`` (``imitation_ros/msg/InterventionEvent``).
        extra_topic: Also write an unrelated ``/diagnostics_text`` String topic.
        seed: Seed of the joint-name shuffling.
        t0_ns: Bag start time.

    Returns:
        What was written (header stamps and receive times per topic).
    """
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = typestore()
    rng = np.random.default_rng(seed)
    streams = dict(streams or {})
    defaults = {profile.state.topic: SynthStream(rate_hz=100.0),
                profile.action.topic: SynthStream(rate_hz=50.0, phase_s=0.005)}
    defaults.update({c.topic: SynthStream(rate_hz=30.0, phase_s=0.002,
                                          encoding='jpeg' if c.type.endswith('Compressed'
                                                                             'Image') else 'rgb8')
                     for c in profile.cameras})
    for topic, spec in defaults.items():
        streams.setdefault(topic, spec)
    out = SynthBag(path=Path(path), t0_ns=t0_ns)
    rows: list[tuple[int, str, Any, str]] = []   # (receive ns, topic, message, type)
    n = profile.n_joints
    kinds = {profile.state.topic: ('state', profile.state.type),
             profile.action.topic: ('action', profile.action.type)}
    cams = {c.topic: c for c in profile.cameras}
    for topic, spec in streams.items():
        stamps = spec.stamps_s(duration_s)
        hdr = np.array([_ns(t, t0_ns) for t in stamps], np.int64)
        rcv = hdr + int(round(spec.lag_s * NS_PER_S))
        out.header_ns[topic], out.receive_ns[topic] = hdr, rcv
        for k, (t_s, h, r) in enumerate(zip(stamps, hdr.tolist(), rcv.tolist(), strict=True)):
            if topic in kinds:
                kind, msg_type = kinds[topic]
                msg = _joint_msg(store, msg_type, profile.joint_names,
                                 joint_values(kind, float(t_s), n), h, rng)
            elif topic in cams:
                cam = cams[topic]
                hh, ww = image_size or (cam.height, cam.width)
                msg_type, msg = make_image(store, spec.encoding, image_colour(k), hh, ww, h)
            else:
                continue
            rows.append((r, topic, msg, msg_type))
    for t_s, event, index, success, task, reason in events:
        ns = _ns(t_s, t0_ns)
        msg = store.types['imitation_ros/msg/EpisodeEvent'](
            header=_header(store, ns), event=event, episode_index=index, success=success,
            task=task, reason=reason)
        rows.append((ns, '/episode_events', msg, 'imitation_ros/msg/EpisodeEvent'))
    for t_s, human, index, source in interventions:
        ns = _ns(t_s, t0_ns)
        msg = store.types['imitation_ros/msg/InterventionEvent'](
            header=_header(store, ns), human_in_control=human, episode_index=index,
            source=source)
        rows.append((ns, '/intervention_events', msg, 'imitation_ros/msg/InterventionEvent'))
    if joy is not None:
        jtopic, presses = joy
        for t_s, pressed in presses:
            ns = _ns(t_s, t0_ns)
            msg = store.types['sensor_msgs/msg/Joy'](
                header=_header(store, ns), axes=np.zeros(2, np.float32),
                buttons=np.array([int(pressed), 0], np.int32))
            rows.append((ns, jtopic, msg, 'sensor_msgs/msg/Joy'))
    if extra_topic:
        for k in range(int(duration_s)):
            rows.append((_ns(k + 0.5, t0_ns), '/diagnostics_text',
                         store.types['std_msgs/msg/String'](data=f'diag {k}'),
                         'std_msgs/msg/String'))
    rows.sort(key=lambda r: r[0])
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        conns: dict[str, Any] = {}
        for r, topic, msg, msg_type in rows:
            if topic not in conns:
                conns[topic] = writer.add_connection(topic, msg_type, typestore=store)
            writer.write(conns[topic], r, store.serialize_cdr(msg, msg_type))
    return out


def synthetic_profile(
    *,
    fps: float = 10.0,
    cameras: dict[str, tuple[str, str]] | None = None,
    size: tuple[int, int] = (24, 32),
    max_age_s: float = 0.1,
    camera_max_age_s: float = 0.1,
    action_shift_s: float = 0.0,
    stamp_source: Literal['header', 'receive'] = 'header',
    action_type: str = 'sensor_msgs/msg/JointState',
    task: str = 'synthetic task',
    split_topic: str | None = None,
) -> RobotProfile:
    """A small profile (3 joints) for synthetic bags.

    Args:
        fps: Frame rate.
        cameras: Camera name -> (topic, type); default one raw and one compressed camera.
        size: ``(height, width)`` of every camera.
        max_age_s: Maximum age of the state and action.
        camera_max_age_s: Maximum age of every camera.
        action_shift_s: Action shift.
        stamp_source: ``header`` or ``receive``.
        action_type: Message type of the action stream.
        task: Default task text.
        split_topic: Joy topic that cuts event-less bags.
    """
    from imitation_ros.profile import profile_from_dict

    if cameras is None:
        cameras = {'front': ('/front/image_raw', 'sensor_msgs/msg/Image'),
                   'wrist': ('/wrist/image_raw/compressed', 'sensor_msgs/msg/CompressedImage')}
    return profile_from_dict({
        'name': 'synthetic',
        'fps': fps,
        'stamp_source': stamp_source,
        'task': task,
        'joints': {'names': ['j_a', 'j_b', 'j_c'], 'lower_rad': [-9.0] * 3,
                   'upper_rad': [9.0] * 3},
        'state': {'topic': '/joint_states', 'max_age_s': max_age_s},
        'action': {'topic': '/leader/joint_states', 'type': action_type,
                   'max_age_s': max_age_s, 'shift_s': action_shift_s},
        'cameras': {name: {'topic': topic, 'type': typ, 'height': size[0], 'width': size[1],
                           'max_age_s': camera_max_age_s}
                    for name, (topic, typ) in cameras.items()},
        'episodes': {'topic': split_topic, 'button': 0},
    })
