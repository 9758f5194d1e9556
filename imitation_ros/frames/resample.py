"""StreamBuffer and FrameAssembler: the one place where streams are aligned to frame ticks.

Rule (the converter and the policy node both follow it, because both call this code): the
frame at tick ``t`` takes, for every stream, the newest message stamped at or before ``t``
(the action at ``t + shift``), never one from the future. If that message is older than the
stream's ``max_age_s``, or there is none, the frame is dropped and the drop is counted for
that stream; nothing is filled in.

::

    stream   --m0-------m1----------m2------------------m3-->  time
    ticks         t0        t1         t2        t3
    at(t)         m0        m1         m2        m2 (age = t3 - stamp(m2); stale if > max age)
"""
from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from imitation_ros.errors import ConfigError
from imitation_ros.messages.codecs import any_image_to_rgb, joint_vector, resize_rgb, stamp_ns
from imitation_ros.profile.keys import ACTION, OBS_STATE

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from imitation_ros.profile.model import RobotProfile, StampSource

NS_PER_S = 1_000_000_000

MissReason = Literal['ok', 'no_message', 'stale']


@dataclass(frozen=True, slots=True)
class Lookup:
    """Answer of ``StreamBuffer.at``: the value used at a tick, or why there is none.

    Attributes:
        value: The value pushed with the chosen message (None unless ``ok``).
        stamp_ns: Stamp of the newest message at or before the tick (None if there is none).
        age_ns: Tick time minus ``stamp_ns`` (None if there is no message).
        reason: ``'ok'``, ``'no_message'`` (nothing stamped at or before the tick) or
            ``'stale'`` (the newest message is older than the stream's maximum age).
        index: Position of the chosen message among the buffered ones (-1 if none).
    """

    value: Any
    stamp_ns: int | None
    age_ns: int | None
    reason: MissReason
    index: int = -1

    @property
    def ok(self) -> bool:
        """True when the value may be used in a frame."""
        return self.reason == 'ok'


class StreamBuffer:
    """Stamped values of one stream, answering "newest at or before t" lookups.

    Values may be pushed out of stamp order (header stamps can arrive late); they are kept
    sorted by stamp. Of several values with the same stamp, the last pushed wins.

    Args:
        name: Stream name used in messages (a feature key or a topic).
        max_age_ns: A value older than this at a tick is stale.
        keep_ns: If set (live use), values older than the newest stamp minus ``keep_ns`` are
            forgotten, always keeping at least the newest one. None keeps everything (offline).
    """

    __slots__ = ('_stamps', '_values', 'keep_ns', 'max_age_ns', 'name')

    def __init__(self, name: str, max_age_ns: int, *, keep_ns: int | None = None) -> None:
        if max_age_ns <= 0:
            msg = f'stream {name!r}: max_age_ns must be > 0, got {max_age_ns}'
            raise ConfigError(msg)
        self.name = name
        self.max_age_ns = int(max_age_ns)
        self.keep_ns = keep_ns
        self._stamps: list[int] = []
        self._values: list[Any] = []

    def __len__(self) -> int:
        return len(self._stamps)

    @property
    def stamps_ns(self) -> NDArray[np.int64]:
        """All buffered stamps, ascending (a copy)."""
        return np.asarray(self._stamps, dtype=np.int64)

    def value(self, index: int) -> Any:
        """Return the value at ``index`` (as given by ``Lookup.index``)."""
        return self._values[index]

    def push(self, t_ns: int, value: Any) -> None:
        """Add a value stamped ``t_ns`` (integer nanoseconds)."""
        t_ns = int(t_ns)
        if not self._stamps or t_ns >= self._stamps[-1]:
            self._stamps.append(t_ns)
            self._values.append(value)
        else:
            i = bisect.bisect_right(self._stamps, t_ns)
            self._stamps.insert(i, t_ns)
            self._values.insert(i, value)
        if self.keep_ns is not None:
            cut = bisect.bisect_left(self._stamps, self._stamps[-1] - self.keep_ns)
            cut = min(cut, len(self._stamps) - 1)
            if cut > 0:
                del self._stamps[:cut]
                del self._values[:cut]

    def at(self, t_ns: int) -> Lookup:
        """Return the newest value stamped at or before ``t_ns``, or why there is none."""
        i = bisect.bisect_right(self._stamps, int(t_ns)) - 1
        if i < 0:
            return Lookup(None, None, None, 'no_message')
        stamp = self._stamps[i]
        age = int(t_ns) - stamp
        if age > self.max_age_ns:
            return Lookup(None, stamp, age, 'stale', i)
        return Lookup(self._values[i], stamp, age, 'ok', i)

    def clear(self) -> None:
        """Forget every value."""
        self._stamps.clear()
        self._values.clear()


@dataclass(slots=True)
class FrameResult:
    """One tick of ``FrameAssembler.assemble``.

    Attributes:
        t_ns: The tick.
        values: Feature key -> value, or None when the frame is dropped.
        lookups: Feature key -> the lookup made for it (stamps and ages of every stream).
        missing: Feature key -> reason, for each stream that made the frame drop.
    """

    t_ns: int
    values: dict[str, Any] | None
    lookups: dict[str, Lookup]
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every stream had a fresh enough value."""
        return self.values is not None


def frame_times_ns(start_ns: int, end_ns: int, fps: float) -> NDArray[np.int64]:
    """Return the ticks ``start_ns + k / fps`` (k = 0, 1, ...) that are ``<= end_ns``.

    Ticks are rounded to whole nanoseconds from ``k`` (no accumulated error).
    """
    if fps <= 0:
        msg = f'fps must be > 0, got {fps}'
        raise ConfigError(msg)
    if end_ns < start_ns:
        return np.zeros(0, dtype=np.int64)
    period = NS_PER_S / fps
    n = int((end_ns - start_ns) // period) + 1
    ticks = start_ns + np.round(np.arange(n, dtype=np.float64) * period).astype(np.int64)
    return ticks[ticks <= end_ns]


class FrameAssembler:
    """Profile-driven frame builder: one ``StreamBuffer`` per feature key.

    Keys are the profile's feature keys (``observation.state``, ``action``,
    ``observation.images.<camera>``). The action is looked up at ``t + shift``; every other
    stream at ``t``. A frame is complete only if every stream is fresh; otherwise it is
    dropped and ``dropped[key]`` counts each stream that made it drop.

    Live use: ``push_msg(topic, msg, receive_ns)`` on every message, ``assemble(now_ns)`` on
    every tick. Offline use may push anything as value (e.g. a message index, decoded later
    with ``decode``) through ``push(key, t_ns, value)``.

    Args:
        profile: The robot profile.
        stamp_source: ``'header'`` or ``'receive'``; default the profile's.
        action_shift_s: Read the action at ``t + action_shift_s``; default the profile's.
        keep_s: Live use: forget values older than this (seconds); None keeps all.
    """

    def __init__(
        self,
        profile: RobotProfile,
        *,
        stamp_source: StampSource | None = None,
        action_shift_s: float | None = None,
        keep_s: float | None = None,
    ) -> None:
        self.profile = profile
        self.stamp_source: StampSource = stamp_source or profile.stamp_source
        if self.stamp_source not in ('header', 'receive'):
            msg = f'stamp_source must be header or receive, got {self.stamp_source!r}'
            raise ConfigError(msg)
        shift_s = profile.action.shift_s if action_shift_s is None else float(action_shift_s)
        keep_ns = None if keep_s is None else int(keep_s * NS_PER_S)
        self.buffers: dict[str, StreamBuffer] = {}
        self.shift_ns: dict[str, int] = {}
        self.topic_keys: dict[str, list[str]] = {}
        self.key_topic: dict[str, str] = {}
        self.key_type: dict[str, str] = {}
        specs: list[tuple[str, str, str, float]] = [
            (OBS_STATE, profile.state.topic, profile.state.type, profile.state.max_age_s),
            (ACTION, profile.action.topic, profile.action.type, profile.action.max_age_s),
        ]
        specs += [(c.key, c.topic, c.type, c.max_age_s) for c in profile.cameras]
        for key, topic, msg_type, max_age_s in specs:
            max_age_ns = int(round(max_age_s * NS_PER_S))
            self.buffers[key] = StreamBuffer(key, max_age_ns, keep_ns=keep_ns)
            self.shift_ns[key] = int(round(shift_s * NS_PER_S)) if key == ACTION else 0
            self.topic_keys.setdefault(topic, []).append(key)
            self.key_topic[key] = topic
            self.key_type[key] = msg_type
        self._cameras = {c.key: c for c in profile.cameras}
        self.dropped: Counter[str] = Counter()
        self.frames_ok = 0
        self.frames_dropped = 0

    @property
    def keys(self) -> tuple[str, ...]:
        """Feature keys, in profile order (state, action, cameras)."""
        return tuple(self.buffers)

    def stamp_of(self, msg: Any, receive_ns: int) -> int:
        """Return the time a message counts at: its header stamp or its receive time.

        A message without a header, or with a zero stamp, counts at its receive time.
        """
        if self.stamp_source == 'header':
            stamp = stamp_ns(msg)
            if stamp > 0:
                return stamp
        return int(receive_ns)

    def decode(self, key: str, msg: Any) -> NDArray[Any]:
        """Decode a message of stream ``key`` into its feature value.

        Joints are mapped by name into the profile's order (float32); images become
        HxWx3 uint8 RGB resized to the camera's size.

        Raises:
            MessageError: The message does not fit (missing joint, bad image); the message
                names the topic.
        """
        topic = self.key_topic[key]
        msg_type = self.key_type[key]
        cam = self._cameras.get(key)
        if cam is not None:
            rgb = any_image_to_rgb(msg, msg_type, topic=topic)
            return resize_rgb(rgb, cam.height, cam.width)
        spec = self.profile.state if key == OBS_STATE else self.profile.action
        return joint_vector(msg, self.profile.joint_names, msg_type=msg_type, field=spec.field,
                            topic=topic)

    def push(self, key: str, t_ns: int, value: Any) -> None:
        """Add a value of stream ``key`` stamped ``t_ns``."""
        self.buffers[key].push(t_ns, value)

    def push_msg(self, topic: str, msg: Any, receive_ns: int) -> list[str]:
        """Decode a message and push it to every stream fed by ``topic``.

        Returns:
            The feature keys the message went to (empty for a topic the profile ignores).
        """
        keys = self.topic_keys.get(topic, [])
        if keys:
            t_ns = self.stamp_of(msg, receive_ns)
            for key in keys:
                self.push(key, t_ns, self.decode(key, msg))
        return keys

    def lookup(self, t_ns: int) -> dict[str, Lookup]:
        """Return each stream's lookup at tick ``t_ns`` (the action at ``t_ns`` + shift)."""
        return {k: b.at(int(t_ns) + self.shift_ns[k]) for k, b in self.buffers.items()}

    def assemble(self, t_ns: int) -> FrameResult:
        """Build the frame at tick ``t_ns``, or drop it and count why.

        Returns:
            The frame (``values`` keyed by feature key) or a dropped frame (``values`` None,
            ``missing`` naming the streams at fault).
        """
        looks = self.lookup(t_ns)
        missing = {k: lk.reason for k, lk in looks.items() if not lk.ok}
        if missing:
            self.frames_dropped += 1
            self.dropped.update(missing.keys())
            return FrameResult(int(t_ns), None, looks, missing)
        self.frames_ok += 1
        return FrameResult(int(t_ns), {k: lk.value for k, lk in looks.items()}, looks)

    def reset(self) -> None:
        """Forget all values and counts (e.g. at the start of an episode)."""
        for buf in self.buffers.values():
            buf.clear()
        self.dropped.clear()
        self.frames_ok = 0
        self.frames_dropped = 0
