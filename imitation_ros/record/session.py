"""A recording session: raw messages in, one rosbag2 bag out, episode by episode.

ROS-free core of the recorder node. The node hands every received message as
``on_message(topic, receive_ns, cdr_bytes)`` and calls ``tick()`` on a timer; services map to
``start_episode`` / ``stop_episode`` / ``discard_episode``.

Bag layout (one bag per session, ``<output_dir>/<prefix>_<YYYYmmdd_HHMMSS>/``):

* every profile topic (state, action, cameras, extras, the Joy topic if mapped) with its
  type and message definition, log time = receive time;
* ``/episode_events`` (``imitation_ros/msg/EpisodeEvent``): START, then STOP (success flag)
  or DISCARD (reason) for every episode, stamped with the event time. Each record the session
  writes itself (this one and ``/intervention_events``) also goes to ``on_record``, so the
  node publishes the same bytes live on the topic of that name;
* ``/intervention_events`` (``imitation_ros/msg/InterventionEvent``), when the recorder
  follows a DAgger gate's control stream (``intervention_topic``, ``std_msgs/Bool``, latched:
  true while a person commands): one record at each episode's START with the state in force
  (once one was received), and one at every change during the episode, stamped with the
  receive time (the recorder's clock, like the episode events). The topic is registered with
  the first record, so bags of sessions without a gate do not have it;
* data is written only while an episode is active, plus a pre-roll: the last ``preroll_s``
  of messages before START (received after the previous episode ended) are written when the
  episode starts, so the first frame has a joint state and image in its past. Pre-roll
  messages keep their receive times, i.e. they lie before the START stamp;
* an episode whose action stream fills fewer than ``min_episode_frames`` frames (distinct
  1/fps slots holding at least one action message) ends with DISCARD and reason
  ``too short ...`` instead of STOP. Discarded data stays in the bag (it is on disk within a
  second); readers skip START..DISCARD spans;
* ``metadata.yaml`` custom_data: ``imitation_ros.closed``, ``imitation_ros.episodes``
  (JSON list), ``imitation_ros.health`` (JSON per-topic counters), ``imitation_ros.profile``,
  ``imitation_ros.recorder`` (JSON config); the same in the sidecar ``health.json``.
"""
from __future__ import annotations

import json
import logging
import shutil
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from imitation_ros.errors import BagError, ConfigError, MessageError, RecordError
from imitation_ros.messages import normalize_type, typestore
from imitation_ros.record.bag_writer import BagWriter
from imitation_ros.record.health import HealthMonitor, diff_totals
from imitation_ros.record.joy import JoyButtons, JoyMapper
from imitation_ros.record.qos import choose_qos

if TYPE_CHECKING:
    from collections.abc import Callable

    from imitation_ros.profile import RobotProfile
    from imitation_ros.record.config import RecorderConfig
    from imitation_ros.record.health import StatusEntry
    from imitation_ros.record.qos import Kind, Role

logger = logging.getLogger(__name__)

EVENTS_TOPIC = '/episode_events'
EVENT_TYPE = 'imitation_ros/msg/EpisodeEvent'
INTERVENTION_TOPIC = '/intervention_events'
INTERVENTION_TYPE = 'imitation_ros/msg/InterventionEvent'
START, STOP, DISCARD = 0, 1, 2
JOY_TYPE = 'sensor_msgs/msg/Joy'
CONTROL_TYPE = 'std_msgs/msg/Bool'


def episode_event_cdr(t_ns: int, kind: int, episode_index: int, *, success: bool, task: str,
                      reason: str) -> bytes:
    """Return the CDR of an ``imitation_ros/msg/EpisodeEvent`` stamped ``t_ns``."""
    types = typestore().types
    msg = types[EVENT_TYPE](
        header=types['std_msgs/msg/Header'](
            stamp=types['builtin_interfaces/msg/Time'](
                sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000),
            frame_id=''),
        event=kind, episode_index=episode_index, success=success, task=task, reason=reason)
    return bytes(typestore().serialize_cdr(msg, EVENT_TYPE))


def intervention_event_cdr(t_ns: int, human: bool, episode_index: int, source: str) -> bytes:
    """Return the CDR of an ``imitation_ros/msg/InterventionEvent`` stamped ``t_ns``."""
    types = typestore().types
    msg = types[INTERVENTION_TYPE](
        header=types['std_msgs/msg/Header'](
            stamp=types['builtin_interfaces/msg/Time'](
                sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000),
            frame_id=''),
        human_in_control=bool(human), episode_index=episode_index, source=source)
    return bytes(typestore().serialize_cdr(msg, INTERVENTION_TYPE))


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """One recorded topic: type, role in the profile, declared QoS and expected rate."""

    topic: str
    type: str
    role: Role
    qos: str
    expected_hz: float | None
    record: bool = True

    def choose_qos(self, offered: list[str] | None = None) -> Kind:
        """Subscription QoS given the reliabilities the publishers offer (see ``qos``)."""
        return choose_qos(self.role, self.qos, offered)


@dataclass(frozen=True, slots=True)
class Notice:
    """A line for the operator, logged by the node at ``level``."""

    level: Literal['info', 'warn', 'error']
    text: str


@dataclass(frozen=True, slots=True)
class EpisodeResult:
    """How an episode ended."""

    index: int
    kept: bool
    success: bool
    frames: int
    duration_s: float
    task: str
    reason: str


def plan_topics(profile: RobotProfile, cfg: RecorderConfig) -> dict[str, TopicPlan]:
    """Return the topics to record, checked before anything is created.

    Raises:
        ConfigError: A type unknown to the typestore, or one topic with two types; the
            message names the profile file, the topic and the type.
    """
    where = profile.path or f'profile {profile.name!r}'
    plans: dict[str, TopicPlan] = {}

    def add(topic: str, mtype: str, role: Role, qos: str, hz: float | None,
            record: bool = True) -> None:
        try:
            norm = normalize_type(mtype)
        except MessageError as err:
            msg = f'{where}: topic {topic!r}: {err}'
            raise ConfigError(msg) from None
        if norm not in typestore().fielddefs:
            msg = (f'{where}: topic {topic!r} has unknown message type {mtype!r}; the recorder '
                   f'only records types it knows (ROS 2 standard messages and msg/)')
            raise ConfigError(msg)
        old = plans.get(topic)
        if old is not None:
            if old.type != norm:
                msg = f'{where}: topic {topic!r} listed as {old.type!r} and as {norm!r}'
                raise ConfigError(msg)
            return
        plans[topic] = TopicPlan(topic, norm, role, qos, hz, record)

    add(profile.state.topic, profile.state.type, 'state', profile.state.qos,
        profile.state.expected_hz)
    add(profile.action.topic, profile.action.type, 'action', profile.action.qos,
        profile.action.expected_hz)
    for cam in profile.cameras:
        add(cam.topic, cam.type, 'camera', cam.qos, cam.expected_hz)
    for extra in profile.extra_topics:
        add(extra.topic, extra.type, 'extra', extra.qos, extra.expected_hz)
    if profile.episodes.topic:
        add(profile.episodes.topic, JOY_TYPE, 'joy', 'auto', None)
    if cfg.joy_topic:
        if cfg.joy_topic in plans and plans[cfg.joy_topic].type != JOY_TYPE:
            msg = (f'joy_topic {cfg.joy_topic!r} is recorded as {plans[cfg.joy_topic].type!r} '
                   f'in {where}, not as {JOY_TYPE}')
            raise ConfigError(msg)
        # The Joy stream drives the episodes; it is recorded only if the profile names it.
        add(cfg.joy_topic, JOY_TYPE, 'joy', 'auto', None, record=False)
    if EVENTS_TOPIC in plans:
        msg = f'{where}: {EVENTS_TOPIC} is written by the recorder; remove it from the profile'
        raise ConfigError(msg)
    if INTERVENTION_TOPIC in plans:
        msg = (f'{where}: {INTERVENTION_TOPIC} is written by the recorder (from the gate\'s '
               f'std_msgs/Bool control stream, parameter intervention_topic); remove it from '
               f'the profile')
        raise ConfigError(msg)
    if cfg.intervention_topic and cfg.intervention_topic in plans and \
            plans[cfg.intervention_topic].type != CONTROL_TYPE:
        msg = (f'intervention_topic {cfg.intervention_topic!r} is recorded as '
               f'{plans[cfg.intervention_topic].type!r} in {where}, not as {CONTROL_TYPE}')
        raise ConfigError(msg)
    return plans


def _has_header(mtype: str) -> bool:
    fields = typestore().fielddefs[mtype][1]
    return bool(fields) and fields[0][0] == 'header' and fields[0][1][1] == 'std_msgs/msg/Header'


def default_free_bytes(path: Path) -> int:
    """Free bytes on the file system holding ``path`` (or its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


class RecordingSession:
    """Episodes into one crash-safe rosbag2 bag (see the module docstring for the layout)."""

    def __init__(
        self,
        cfg: RecorderConfig,
        profile: RobotProfile,
        *,
        free_bytes: Callable[[Path], int] = default_free_bytes,
    ) -> None:
        """Check the profile and config; nothing is created until ``open()``.

        Raises:
            ConfigError: Unknown topic type or conflicting topics (see ``plan_topics``).
        """
        self.cfg = cfg
        self.profile = profile
        self.plans = plan_topics(profile, cfg)
        self._free_bytes = free_bytes
        self.output_dir = Path(cfg.output_dir).expanduser()
        self.bag: BagWriter | None = None
        self.task = cfg.task or profile.task
        self._action_topic = profile.action.topic
        self._period_ns = 1e9 / profile.fps
        self._preroll_ns = int(cfg.preroll_s * 1e9)
        self._preroll: deque[tuple[str, int, bytes]] = deque()
        self._record = {t for t, p in self.plans.items() if p.record}
        self.health = HealthMonitor(
            {t: (p.expected_hz, _has_header(p.type)) for t, p in self.plans.items()},
            window_s=cfg.health_window_s, rate_tolerance=cfg.rate_tolerance,
            silent_after_s=cfg.silent_after_s, late_threshold_s=cfg.late_threshold_s,
            check_late=profile.stamp_source == 'header')
        self.joy = JoyMapper(JoyButtons(cfg.joy_start_button, cfg.joy_stop_success_button,
                                        cfg.joy_stop_fail_button, cfg.joy_discard_button))
        self._joy_topic = cfg.joy_topic or None
        self._pending_joy: list[str] = []
        self._pending_notices: list[Notice] = []
        # episode state
        self.recording = False
        self.episode_index = -1          # index of the current / last episode
        self._ep_start_ns = 0
        self._ep_task = ''
        self._ep_slots: set[int] = set()
        self._ep_counts: dict[str, int] = {}
        self._ep_health0: dict[str, dict[str, Any]] = {}
        self.episodes: list[dict[str, Any]] = []
        self.refuse_reason = ''
        self.free_mb = float('nan')
        self._next_flush_ns = 0
        self._next_disk_ns = 0
        self._closed = False
        self.human_in_control: bool | None = None     # the gate's state (None: never heard)
        self.intervention_records = 0
        #: Called with ``(topic, cdr)`` after each record the session writes itself
        #: (``/episode_events``, ``/intervention_events``): the node publishes the same bytes
        #: live. An exception it raises is logged, never stops recording.
        self.on_record: Callable[[str, bytes], None] | None = None

    # ---------------------------------------------------------------- lifecycle
    def open(self, now_ns: int, qos: dict[str, Kind] | None = None) -> Path:
        """Create the bag ``<output_dir>/<prefix>_<YYYYmmdd_HHMMSS>`` and register topics.

        Args:
            now_ns: Wall clock (names the bag).
            qos: Subscription QoS per topic (written as the offered QoS); default per plan.

        Raises:
            RecordError: Not enough free disk space.
            BagError: The bag cannot be created.
        """
        qos = qos or {}
        self._check_disk(now_ns, opening=True)
        stamp = datetime.fromtimestamp(now_ns / 1e9, tz=timezone.utc).strftime('%Y%m%d_%H%M%S')
        path = self.output_dir / f'{self.cfg.prefix}_{stamp}'
        n = 1
        while path.exists():
            path = self.output_dir / f'{self.cfg.prefix}_{stamp}_{n}'
            n += 1
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            msg = f'{self.output_dir}: cannot create output_dir: {err.strerror or err}'
            raise BagError(msg) from None
        bag = BagWriter(path, storage=self.cfg.storage, compression=self.cfg.compression)
        bag.open()
        try:
            for topic in sorted(self._record):
                plan = self.plans[topic]
                bag.add_topic(topic, plan.type, qos=qos.get(topic) or plan.choose_qos())
            bag.add_topic(EVENTS_TOPIC, EVENT_TYPE, qos='reliable')
        except Exception:
            bag.abort()
            raise
        bag.custom_data.update({
            'imitation_ros.profile': self.profile.path or self.profile.name,
            'imitation_ros.recorder': json.dumps(self.cfg.as_dict(), sort_keys=True),
            'imitation_ros.episodes': '[]',
        })
        bag.flush()
        self.bag = bag
        self._next_flush_ns = now_ns + int(0.9 * self.cfg.flush_period_s * 1e9)
        logger.info('recording session bag %s (%s)', path, self.cfg.storage)
        return path

    def close(self, now_ns: int, reason: str = 'recorder shut down') -> list[Notice]:
        """End an active episode (STOP, success false, ``reason``), then finish the bag.

        Safe to call twice. Writes ``health.json`` next to ``metadata.yaml``.
        """
        notices: list[Notice] = []
        if self._closed or self.bag is None:
            return notices
        self._closed = True
        if self.recording:
            res = self._end(now_ns, success=False, reason=reason, discard=False)
            notices.append(self._result_notice(res))
        custom = self._custom_data(now_ns)
        try:
            self.bag.close(custom)
        except BagError as err:
            notices.append(Notice('error', str(err)))
            return notices
        self._write_sidecar(now_ns)
        kept = sum(1 for e in self.episodes if e['kept'])
        notices.append(Notice('info', f'bag closed: {self.bag.path} ({kept} episode(s) kept, '
                                      f'{len(self.episodes) - kept} dropped)'))
        return notices

    # ---------------------------------------------------------------- data path
    def on_message(self, topic: str, t_ns: int, data: bytes) -> None:
        """Take one received message (CDR bytes incl. the 4-byte encapsulation header)."""
        self.health.observe(topic, t_ns, data)
        if topic == self._joy_topic:
            self._on_joy(data)
        if topic not in self._record or self.bag is None or self._closed:
            return
        if self.recording:
            try:
                self.bag.write(topic, t_ns, data)
            except OSError as err:
                self._fail_write(t_ns, err)
                return
            self._ep_counts[topic] = self._ep_counts.get(topic, 0) + 1
            if topic == self._action_topic and t_ns >= self._ep_start_ns:
                self._ep_slots.add(int((t_ns - self._ep_start_ns) // self._period_ns))
        elif self._preroll_ns:
            pre = self._preroll
            pre.append((topic, t_ns, data))
            limit = t_ns - self._preroll_ns
            while pre and pre[0][1] < limit:
                pre.popleft()

    def _on_joy(self, data: bytes) -> None:
        try:
            msg = typestore().deserialize_cdr(data, JOY_TYPE)
        except Exception:  # noqa: BLE001 - a malformed Joy message must not stop recording
            return
        self._pending_joy.extend(self.joy.update([int(b) for b in msg.buttons]))

    def on_control(self, t_ns: int, human: bool) -> None:
        """The DAgger gate's control state arrived (``std_msgs/Bool``: true = a person).

        While an episode records, a change writes an ``InterventionEvent`` record stamped
        ``t_ns``; the state in force is also written at each START (see the module docstring).
        """
        if not self.cfg.intervention_topic:        # records off
            return
        human = bool(human)
        changed = human != self.human_in_control
        self.human_in_control = human
        if changed and self.recording and self.bag is not None and not self._closed:
            try:
                self._intervention(t_ns)
            except OSError as err:
                self._fail_write(t_ns, err)

    def _intervention(self, t_ns: int) -> None:
        assert self.bag is not None and self.human_in_control is not None
        if not self.bag.has_topic(INTERVENTION_TOPIC):
            self.bag.add_topic(INTERVENTION_TOPIC, INTERVENTION_TYPE, qos='reliable')
        data = intervention_event_cdr(t_ns, self.human_in_control, max(self.episode_index, 0),
                                      self.cfg.intervention_topic)
        self.bag.write(INTERVENTION_TOPIC, t_ns, data)
        self.intervention_records += 1
        self._announce(INTERVENTION_TOPIC, data)

    def _announce(self, topic: str, data: bytes) -> None:
        """Hand a record the session wrote to ``on_record`` (live publication)."""
        if self.on_record is None:
            return
        try:
            self.on_record(topic, data)
        except Exception as err:  # noqa: BLE001 - live publication must not stop recording
            self._pending_notices.append(
                Notice('warn', f'{topic}: record written, live publication failed: {err}'))

    def _fail_write(self, t_ns: int, err: OSError) -> None:
        self.refuse_reason = f'cannot write to the bag: {err.strerror or err}'
        try:
            res = self._end(t_ns, success=False, reason=self.refuse_reason, discard=False)
            self._pending_notices.append(self._result_notice(res))
        except OSError:
            self.recording = False
        self._pending_notices.append(Notice('error', f'{self.refuse_reason}; new episodes are '
                                                     f'refused'))

    # ---------------------------------------------------------------- episodes
    def set_task(self, text: str) -> None:
        """Task text of the next episodes."""
        self.task = text

    def start_episode(self, now_ns: int, task: str | None = None) -> int:
        """Start an episode; returns its index.

        Raises:
            RecordError: An episode is running, the bag is closed, or the disk is low (the
                message says why).
        """
        if self.bag is None or self._closed:
            msg = 'recorder is not open'
            raise RecordError(msg)
        if self.recording:
            msg = f'episode {self.episode_index} is still recording; stop or discard it first'
            raise RecordError(msg)
        self._check_disk(now_ns)
        if self.refuse_reason:
            msg = f'not starting an episode: {self.refuse_reason}'
            raise RecordError(msg)
        self.episode_index += 1
        self.recording = True
        self._ep_start_ns = now_ns
        self._ep_task = task if task is not None else self.task
        self._ep_slots = set()
        self._ep_counts = {}
        self._ep_health0 = self.health.totals()
        limit = now_ns - self._preroll_ns
        for topic, t_ns, data in self._preroll:
            if t_ns >= limit:
                self.bag.write(topic, t_ns, data)
                self._ep_counts[topic] = self._ep_counts.get(topic, 0) + 1
        self._preroll.clear()
        self._event(now_ns, START, success=False, reason='')
        if self.human_in_control is not None:       # the gate's state in force at START
            self._intervention(now_ns)
        return self.episode_index

    def stop_episode(self, now_ns: int, success: bool, reason: str = 'operator') -> EpisodeResult:
        """Stop the episode: STOP with ``success``, or DISCARD when it is too short.

        Raises:
            RecordError: No episode is recording.
        """
        self._require_recording('stop')
        return self._end(now_ns, success=success, reason=reason, discard=False)

    def discard_episode(self, now_ns: int, reason: str = 'operator') -> EpisodeResult:
        """Discard the episode (DISCARD event; the converter skips it).

        Raises:
            RecordError: No episode is recording.
        """
        self._require_recording('discard')
        return self._end(now_ns, success=False, reason=reason, discard=True)

    def _require_recording(self, what: str) -> None:
        if not self.recording:
            msg = f'cannot {what}: no episode is recording'
            raise RecordError(msg)

    @property
    def frames(self) -> int:
        """Frames of the current episode (1/fps slots with an action message)."""
        return len(self._ep_slots)

    def _end(self, now_ns: int, *, success: bool, reason: str, discard: bool) -> EpisodeResult:
        frames = self.frames
        too_short = not discard and frames < self.cfg.min_episode_frames
        if too_short:
            reason = (f'too short: {frames} frame(s) < min_episode_frames '
                      f'{self.cfg.min_episode_frames} (action topic {self._action_topic})')
            discard = True
        self.recording = False
        kind = DISCARD if discard else STOP
        self._event(now_ns, kind, success=success and not discard, reason=reason)
        self._preroll.clear()
        res = EpisodeResult(
            index=self.episode_index, kept=not discard, success=success and not discard,
            frames=frames, duration_s=round((now_ns - self._ep_start_ns) / 1e9, 3),
            task=self._ep_task, reason=reason)
        entry = asdict(res)
        entry['counts'] = dict(sorted(self._ep_counts.items()))
        entry['health'] = diff_totals(self.health.totals(), self._ep_health0)
        self.episodes.append(entry)
        if self.bag is not None:
            self.bag.custom_data['imitation_ros.episodes'] = json.dumps(
                [{k: e[k] for k in ('index', 'kept', 'success', 'frames', 'duration_s',
                                    'task', 'reason')} for e in self.episodes])
            self.bag.flush()
        return res

    def _event(self, now_ns: int, kind: int, *, success: bool, reason: str) -> None:
        assert self.bag is not None
        data = episode_event_cdr(now_ns, kind, self.episode_index, success=success,
                                 task=self._ep_task, reason=reason)
        self.bag.write(EVENTS_TOPIC, now_ns, data)
        self._announce(EVENTS_TOPIC, data)

    # ---------------------------------------------------------------- timer
    def tick(self, now_ns: int) -> list[Notice]:
        """Flush when due, check disk space and topic health; return lines for the operator."""
        notices = list(self._pending_notices)
        self._pending_notices.clear()
        if self.bag is None or self._closed:
            return notices
        for cmd in self._pending_joy:
            notices.extend(self.command(cmd, now_ns))
        self._pending_joy.clear()
        if now_ns >= self._next_disk_ns:
            was = self.refuse_reason
            self._check_disk(now_ns)
            if self.refuse_reason and not was:
                if self.recording:
                    res = self._end(now_ns, success=False, reason=self.refuse_reason,
                                    discard=False)
                    notices.append(self._result_notice(res))
                notices.append(Notice('error', f'{self.refuse_reason}; new episodes are refused '
                                               f'until space is freed'))
            elif was.startswith('disk space low') and not self.refuse_reason:
                notices.append(Notice('info', 'disk space recovered; episodes can start again'))
        for ev in self.health.check(now_ns):
            level = 'info' if ev.level == 'ok' else ('warn' if ev.level == 'warn' else 'error')
            notices.append(Notice(level, ev.text))
        if now_ns >= self._next_flush_ns:
            # 0.9: the node ticks every 0.1 s, so data waits at most one flush period
            self._next_flush_ns = now_ns + int(0.9 * self.cfg.flush_period_s * 1e9)
            self.bag.custom_data['imitation_ros.health'] = json.dumps(
                self.health.totals(), sort_keys=True)
            try:
                self.bag.flush()
            except OSError as err:
                notices.append(Notice('error', f'{self.bag.path}: flush failed: {err}'))
        return notices

    def command(self, cmd: str, now_ns: int) -> list[Notice]:
        """Run a named command (``start``, ``stop_success``, ``stop_fail``, ``discard``)."""
        try:
            if cmd == 'start':
                idx = self.start_episode(now_ns)
                return [Notice('info', f'episode {idx} started: {self._ep_task!r}')]
            if cmd in ('stop_success', 'stop_fail'):
                res = self.stop_episode(now_ns, success=cmd == 'stop_success')
            elif cmd == 'discard':
                res = self.discard_episode(now_ns)
            else:
                return [Notice('warn', f'unknown command {cmd!r}')]
        except RecordError as err:
            return [Notice('warn', str(err))]
        return [self._result_notice(res)]

    @staticmethod
    def _result_notice(res: EpisodeResult) -> Notice:
        if res.kept:
            return Notice('info', f'episode {res.index} stopped: '
                                  f'{"success" if res.success else "failure"}, {res.frames} '
                                  f'frames, {res.duration_s:.1f} s ({res.reason})')
        return Notice('warn', f'episode {res.index} discarded: {res.reason} '
                              f'({res.frames} frames, {res.duration_s:.1f} s)')

    def _check_disk(self, now_ns: int, *, opening: bool = False) -> None:
        self._next_disk_ns = now_ns + int(self.cfg.disk_check_period_s * 1e9)
        try:
            free = self._free_bytes(self.output_dir)
        except OSError:
            return
        self.free_mb = free / 1e6
        if self.free_mb < self.cfg.min_free_disk_mb:
            self.refuse_reason = (f'disk space low: {self.free_mb:.0f} MB free in '
                                  f'{self.output_dir} < min_free_disk_mb '
                                  f'{self.cfg.min_free_disk_mb:g}')
            if opening:
                msg = f'not recording: {self.refuse_reason}'
                raise RecordError(msg)
        elif self.refuse_reason.startswith('disk space low'):
            self.refuse_reason = ''

    # ---------------------------------------------------------------- reports
    def status(self, now_ns: int) -> dict[str, Any]:
        """The ``~/status`` document (JSON-ready)."""
        kept = sum(1 for e in self.episodes if e['kept'])
        return {
            'recording': self.recording,
            'episode_index': self.episode_index if self.episode_index >= 0 else None,
            'elapsed_s': round((now_ns - self._ep_start_ns) / 1e9, 2) if self.recording else 0.0,
            'frames': self.frames if self.recording else 0,
            'task': self._ep_task if self.recording else self.task,
            'counts': dict(sorted(self._ep_counts.items())) if self.recording else {},
            'episodes_kept': kept,
            'episodes_dropped': len(self.episodes) - kept,
            'bag': str(self.bag.path) if self.bag else '',
            'disk_free_mb': None if self.free_mb != self.free_mb else round(self.free_mb, 1),
            'refusing': self.refuse_reason,
            'last_episode': ({k: self.episodes[-1][k] for k in
                              ('index', 'kept', 'success', 'frames', 'reason')}
                             if self.episodes else None),
        }

    def diagnostics(self, now_ns: int) -> list[StatusEntry]:
        """Per-topic health entries for ``/diagnostics``."""
        return self.health.statuses(now_ns)

    def _custom_data(self, now_ns: int) -> dict[str, str]:
        return {
            'imitation_ros.health': json.dumps(self.health.totals(), sort_keys=True),
            'imitation_ros.episodes': json.dumps(
                [{k: e[k] for k in ('index', 'kept', 'success', 'frames', 'duration_s',
                                    'task', 'reason')} for e in self.episodes]),
        }

    def _write_sidecar(self, now_ns: int) -> None:
        assert self.bag is not None
        doc = {
            'bag': self.bag.path.name,
            'profile': self.profile.path or self.profile.name,
            'topics': self.health.summary(now_ns),
            'episodes': self.episodes,
            'config': self.cfg.as_dict(),
        }
        try:
            (self.bag.path / 'health.json').write_text(json.dumps(doc, indent=2) + '\n',
                                                       encoding='utf-8')
        except OSError as err:
            logger.warning('%s: cannot write health.json: %s', self.bag.path, err)
