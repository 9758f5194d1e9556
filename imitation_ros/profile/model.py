"""Robot profile model and YAML loader.

A profile says which topics carry the arm's state, the teleop command (the action) and the
cameras, how joints are named and limited, and at which fps frames are built. The recorder,
the converter, the trainer and the policy node all read the same file, so the mapping from
topics to dataset features exists once.

Example (``config/sim_arm.yaml``)::

    name: sim_arm
    fps: 30
    joints:
      names: [shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, wrist_roll, gripper]
      lower_rad: [-2.0, -1.6, -1.6, -1.7, -2.8, 0.0]
      upper_rad: [2.0, 1.6, 1.6, 1.7, 2.8, 1.0]
      max_velocity_rad_s: [2.0, 2.0, 2.0, 2.5, 3.0, 8.0]   # required to command the arm
    state: {topic: /joint_states, type: sensor_msgs/msg/JointState}
    action: {topic: /leader/joint_states, type: sensor_msgs/msg/JointState}
    cameras:
      front: {topic: /camera/color/image_raw, type: sensor_msgs/msg/Image,
              height: 120, width: 160}
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from imitation_ros.errors import ConfigError
from imitation_ros.profile.keys import ACTION, OBS_STATE, image_key

if TYPE_CHECKING:
    from collections.abc import Mapping

QosName = Literal['sensor_data', 'reliable', 'auto']
StampSource = Literal['header', 'receive']

JOINT_TYPES = (
    'sensor_msgs/msg/JointState',
    'std_msgs/msg/Float64MultiArray',
    'trajectory_msgs/msg/JointTrajectory',
)
IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicSpec:
    """A topic recorded as it is (not mapped to a feature)."""

    topic: str
    type: str
    qos: QosName = 'auto'
    expected_hz: float | None = None     # health check: warn below 80 % of this rate


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamSpec:
    """A joint stream mapped to a vector feature (state or action)."""

    topic: str
    type: str = 'sensor_msgs/msg/JointState'
    field: Literal['position', 'velocity', 'effort'] = 'position'   # JointState field read
    max_age_s: float = 0.1        # a frame whose newest message is older is dropped
    shift_s: float = 0.0          # read the stream at t + shift_s (action only; never > 0 live)
    qos: QosName = 'auto'
    expected_hz: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraSpec:
    """A camera mapped to ``observation.images.<name>``."""

    name: str
    topic: str
    type: str = 'sensor_msgs/msg/Image'
    height: int = 120             # frames are resized to height x width (pixels)
    width: int = 160
    max_age_s: float = 0.1
    qos: QosName = 'sensor_data'
    expected_hz: float | None = None

    @property
    def key(self) -> str:
        """Feature key of this camera."""
        return image_key(self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class JointLimits:
    """Position and velocity limits, in the profile's joint order."""

    lower_rad: tuple[float, ...]
    upper_rad: tuple[float, ...]
    max_velocity_rad_s: tuple[float, ...]
    # False: the profile did not state max_velocity_rad_s and it holds a placeholder (2.0)
    # that recording and simulation may use; commanding an arm refuses such a profile.
    velocity_stated: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSpec:
    """Where joint commands go (the ros2_control controllers of the arm)."""

    trajectory_topic: str = '/arm_controller/joint_trajectory'
    forward_topic: str = '/forward_position_controller/commands'
    mode: Literal['trajectory', 'forward'] = 'trajectory'


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeSplitSpec:
    """Optional: cut a bag without episode events into episodes on a Joy button."""

    topic: str | None = None
    button: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RobotProfile:
    """Everything the suite needs to know about one robot setup."""

    name: str
    fps: float
    joint_names: tuple[str, ...]
    limits: JointLimits
    state: StreamSpec
    action: StreamSpec
    cameras: tuple[CameraSpec, ...] = ()
    extra_topics: tuple[TopicSpec, ...] = ()
    command: CommandSpec = field(default_factory=CommandSpec)
    episodes: EpisodeSplitSpec = field(default_factory=EpisodeSplitSpec)
    stamp_source: StampSource = 'header'
    task: str = ''                 # default task text when an episode carries none
    path: str = ''                 # file the profile was loaded from ('' when built in code)

    @property
    def n_joints(self) -> int:
        """Number of joints (length of state and action vectors)."""
        return len(self.joint_names)

    def features(self, *, use_videos: bool = True) -> dict[str, dict[str, Any]]:
        """Return the lerobot ``features`` dict of a dataset recorded with this profile."""
        names = list(self.joint_names)
        feats: dict[str, dict[str, Any]] = {
            OBS_STATE: {'dtype': 'float32', 'shape': (self.n_joints,), 'names': names},
            ACTION: {'dtype': 'float32', 'shape': (self.n_joints,), 'names': names},
        }
        for cam in self.cameras:
            feats[cam.key] = {
                'dtype': 'video' if use_videos else 'image',
                'shape': (cam.height, cam.width, 3),
                'names': ['height', 'width', 'channels'],
            }
        return feats

    def topics(self) -> dict[str, str]:
        """Return every topic the profile names, mapped to its message type."""
        out = {self.state.topic: self.state.type, self.action.topic: self.action.type}
        out.update({c.topic: c.type for c in self.cameras})
        out.update({t.topic: t.type for t in self.extra_topics})
        if self.episodes.topic:
            out.setdefault(self.episodes.topic, 'sensor_msgs/msg/Joy')
        return out


def _where(path: str | Path | None, section: str) -> str:
    return f'{path}: {section}' if path else section


def _check_keys(data: Mapping[str, Any], allowed: set[str], ctx: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        msg = f'{ctx}: unknown key(s) {unknown}; allowed: {sorted(allowed)}'
        raise ConfigError(msg)


def _build(cls: type, data: Any, ctx: str, **extra: Any) -> Any:
    if not isinstance(data, dict):
        msg = f'{ctx}: expected a mapping, got {type(data).__name__}'
        raise ConfigError(msg)
    allowed = {f.name for f in fields(cls)} - set(extra)
    _check_keys(data, allowed, ctx)
    try:
        return cls(**data, **extra)
    except TypeError as err:
        msg = f'{ctx}: {err}'
        raise ConfigError(msg) from None


def _floats(values: Any, n: int, ctx: str) -> tuple[float, ...]:
    if not isinstance(values, (list, tuple)) or len(values) != n:
        msg = f'{ctx}: expected a list of {n} numbers (one per joint), got {values!r}'
        raise ConfigError(msg)
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        msg = f'{ctx}: expected numbers, got {values!r}'
        raise ConfigError(msg) from None
    if not all(math.isfinite(v) for v in out):
        msg = f'{ctx}: values must be finite, got {values!r}'
        raise ConfigError(msg)
    return out


def _check_topic(topic: Any, ctx: str) -> None:
    if not isinstance(topic, str) or not topic or ' ' in topic:
        msg = f'{ctx}: topic must be a non-empty name without spaces, got {topic!r}'
        raise ConfigError(msg)


def profile_from_dict(data: Mapping[str, Any], path: str | Path | None = None) -> RobotProfile:
    """Build and validate a profile from a parsed YAML mapping.

    Args:
        data: The parsed YAML document.
        path: File the data came from, used in error messages.

    Returns:
        The validated profile.

    Raises:
        ConfigError: An unknown key, a missing field, a wrong length or value; the message
            names the file and the section.
    """
    top = {
        'name', 'fps', 'joints', 'state', 'action', 'cameras', 'extra_topics', 'command',
        'episodes', 'stamp_source', 'task',
    }
    if not isinstance(data, dict):
        msg = f'{_where(path, "profile")}: expected a mapping at the top level'
        raise ConfigError(msg)
    _check_keys(data, top, _where(path, 'profile'))
    for key in ('name', 'fps', 'joints', 'state', 'action'):
        if key not in data:
            msg = f'{_where(path, "profile")}: missing required key {key!r}'
            raise ConfigError(msg)
    fps = data['fps']
    if not isinstance(fps, (int, float)) or not 0 < fps <= 1000:
        msg = f'{_where(path, "fps")}: must be a number in (0, 1000], got {fps!r}'
        raise ConfigError(msg)

    joints = data['joints']
    jctx = _where(path, 'joints')
    if not isinstance(joints, dict):
        msg = f'{jctx}: expected a mapping with names, lower_rad, upper_rad'
        raise ConfigError(msg)
    _check_keys(joints, {'names', 'lower_rad', 'upper_rad', 'max_velocity_rad_s'}, jctx)
    names = joints.get('names')
    if (not isinstance(names, list) or not names
            or not all(isinstance(n, str) and n for n in names)):
        msg = f'{jctx}.names: expected a non-empty list of joint names, got {names!r}'
        raise ConfigError(msg)
    if len(set(names)) != len(names):
        msg = f'{jctx}.names: duplicate joint names in {names}'
        raise ConfigError(msg)
    n = len(names)
    lower = _floats(joints.get('lower_rad'), n, f'{jctx}.lower_rad')
    upper = _floats(joints.get('upper_rad'), n, f'{jctx}.upper_rad')
    bad = [names[i] for i in range(n) if lower[i] >= upper[i]]
    if bad:
        msg = f'{jctx}: lower_rad must be < upper_rad for joint(s) {bad}'
        raise ConfigError(msg)
    velocity_stated = 'max_velocity_rad_s' in joints
    vel = _floats(joints.get('max_velocity_rad_s', [2.0] * n), n, f'{jctx}.max_velocity_rad_s')
    if any(v <= 0 for v in vel):
        msg = f'{jctx}.max_velocity_rad_s: must be > 0, got {list(vel)}'
        raise ConfigError(msg)

    streams = {}
    for key in ('state', 'action'):
        ctx = _where(path, key)
        spec = _build(StreamSpec, data[key], ctx)
        _check_topic(spec.topic, ctx)
        if spec.type not in JOINT_TYPES:
            msg = f'{ctx}: type {spec.type!r} is not a joint stream; use one of {JOINT_TYPES}'
            raise ConfigError(msg)
        if spec.max_age_s <= 0:
            msg = f'{ctx}.max_age_s: must be > 0, got {spec.max_age_s}'
            raise ConfigError(msg)
        streams[key] = spec
    if streams['state'].shift_s != 0.0:
        msg = f'{_where(path, "state")}.shift_s: only the action may be shifted'
        raise ConfigError(msg)

    cams_data = data.get('cameras') or {}
    if not isinstance(cams_data, dict):
        msg = f'{_where(path, "cameras")}: expected a mapping camera name -> spec'
        raise ConfigError(msg)
    cameras = []
    for cname, cdata in cams_data.items():
        ctx = _where(path, f'cameras.{cname}')
        if not isinstance(cname, str) or not cname.isidentifier():
            msg = f'{ctx}: camera name must be an identifier, got {cname!r}'
            raise ConfigError(msg)
        cam = _build(CameraSpec, cdata, ctx, name=cname)
        _check_topic(cam.topic, ctx)
        if cam.type not in IMAGE_TYPES:
            msg = f'{ctx}: type {cam.type!r} is not an image; use one of {IMAGE_TYPES}'
            raise ConfigError(msg)
        if cam.height <= 0 or cam.width <= 0:
            msg = f'{ctx}: height and width must be > 0, got {cam.height}x{cam.width}'
            raise ConfigError(msg)
        cameras.append(cam)

    extras = []
    for i, edata in enumerate(data.get('extra_topics') or []):
        ctx = _where(path, f'extra_topics[{i}]')
        spec = _build(TopicSpec, edata, ctx)
        _check_topic(spec.topic, ctx)
        extras.append(spec)

    command = _build(CommandSpec, data.get('command') or {}, _where(path, 'command'))
    episodes = _build(EpisodeSplitSpec, data.get('episodes') or {}, _where(path, 'episodes'))
    stamp = data.get('stamp_source', 'header')
    if stamp not in ('header', 'receive'):
        msg = f'{_where(path, "stamp_source")}: must be header or receive, got {stamp!r}'
        raise ConfigError(msg)

    return RobotProfile(
        name=str(data['name']),
        fps=float(fps),
        joint_names=tuple(names),
        limits=JointLimits(lower_rad=lower, upper_rad=upper, max_velocity_rad_s=vel,
                          velocity_stated=velocity_stated),
        state=streams['state'],
        action=streams['action'],
        cameras=tuple(cameras),
        extra_topics=tuple(extras),
        command=command,
        episodes=episodes,
        stamp_source=stamp,
        task=str(data.get('task', '')),
        path=str(path) if path else '',
    )


def load_profile(path: str | Path) -> RobotProfile:
    """Load a robot profile from a YAML file.

    Args:
        path: The profile file.

    Returns:
        The validated profile.

    Raises:
        ConfigError: The file is missing, is not YAML, or fails validation.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as err:
        msg = f'{path}: cannot read profile: {err.strerror or err}'
        raise ConfigError(msg) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        msg = f'{path}: not valid YAML: {err}'
        raise ConfigError(msg) from None
    return profile_from_dict(data, path)
