"""Reading rosbag2 bags (mcap or sqlite3) for conversion, with errors that name the bag.

``scan_bag`` makes one pass over the topics the profile names: joint streams are decoded
(by joint name) and kept, camera messages only leave their stamps (images are decoded later,
and only those a frame uses, by ``read_images``). Episode events and the optional split
button are collected too.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.errors import BagError, ImitationRosError, MessageError
from imitation_ros.messages import normalize_type, typestore
from imitation_ros.messages.codecs import stamp_ns

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import NDArray

    from imitation_ros.frames import FrameAssembler

logger = logging.getLogger(__name__)

EVENTS_TOPIC = '/episode_events'
EVENT_TYPE = 'imitation_ros/msg/EpisodeEvent'
INTERVENTION_TOPIC = '/intervention_events'
#: custom_data key the recorder sets to 'true' when it closes a bag properly.
CLOSED_KEY = 'imitation_ros.closed'


@dataclass(slots=True)
class Track:
    """Everything scanned from one profile stream.

    Attributes:
        key: Feature key.
        topic: Topic in the bag.
        stamps_ns: The time each message counts at (header or receive, as chosen).
        header_ns: Header stamps (0 where a message has none).
        receive_ns: Receive (log) times.
        values: Decoded joint vectors; for cameras, None (images are read in a second pass).
    """

    key: str
    topic: str
    stamps_ns: NDArray[np.int64]
    header_ns: NDArray[np.int64]
    receive_ns: NDArray[np.int64]
    values: list[NDArray[np.float32]] | None


@dataclass(frozen=True, slots=True)
class BagEvent:
    """One ``imitation_ros/msg/EpisodeEvent`` record."""

    t_ns: int
    event: int
    episode_index: int
    success: bool
    task: str
    reason: str


@dataclass(slots=True)
class BagScan:
    """Result of ``scan_bag``."""

    path: Path
    storage: str
    tracks: dict[str, Track]
    events: list[BagEvent] = field(default_factory=list)
    button: list[tuple[int, bool]] = field(default_factory=list)
    interventions: list[tuple[int, bool]] = field(default_factory=list)


def resolve_bag(path: str | Path) -> Path:
    """Return the rosbag2 directory of ``path`` (a bag directory or a file inside one).

    Raises:
        BagError: Not a rosbag2 directory, or one without ``metadata.yaml`` (not closed).
    """
    path = Path(path)
    if path.is_file() and path.suffix in ('.mcap', '.db3'):
        path = path.parent
    if not path.is_dir():
        msg = f'{path}: not a rosbag2 bag directory (no such directory)'
        raise BagError(msg)
    meta = path / 'metadata.yaml'
    if not meta.is_file():
        data = sorted(p.name for p in path.iterdir() if p.suffix in ('.mcap', '.db3'))
        if data:
            msg = (f'{path}: no metadata.yaml next to {data}: the bag was not closed '
                   f'(recorder stopped hard?); repair it first with '
                   f'`imitation-ros bag recover {path}` (or `ros2 bag reindex {path}`)')
        else:
            msg = f'{path}: not a rosbag2 bag (no metadata.yaml and no .mcap/.db3 file)'
        raise BagError(msg)
    if _closed_flag(meta) == 'false':
        msg = (f'{path}: the recorder never closed this bag (killed or crashed while '
               f'recording); repair it first with `imitation-ros bag recover {path}`')
        raise BagError(msg)
    return path


def _closed_flag(meta: Path) -> str | None:
    """Return ``custom_data['imitation_ros.closed']`` of a recorder bag (None otherwise)."""
    import yaml

    try:
        doc = yaml.safe_load(meta.read_text(encoding='utf-8'))
        custom = doc['rosbag2_bagfile_information'].get('custom_data') or {}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return None  # rosbags will report what is wrong with it
    value = custom.get(CLOSED_KEY)
    return None if value is None else str(value)


def bag_fingerprint(path: Path) -> str:
    """Return a content hash of a bag: metadata.yaml, file names, sizes, head and tail bytes.

    Cheap for large bags (reads at most 128 KiB per file) yet changes when a bag is
    rewritten, truncated or replaced.
    """
    digest = hashlib.sha256()
    for f in sorted(p for p in path.iterdir() if p.is_file()):
        size = f.stat().st_size
        digest.update(f'{f.name}\0{size}\0'.encode())
        with f.open('rb') as fh:
            digest.update(fh.read(65536))
            if size > 65536:
                fh.seek(max(65536, size - 65536))
                digest.update(fh.read(65536))
    return digest.hexdigest()


def _open(path: Path) -> Any:
    from rosbags.highlevel import AnyReader

    reader = AnyReader([path], default_typestore=typestore())
    try:
        reader.open()
    except Exception as err:  # rosbags raises many error types for broken files
        msg = f'{path}: cannot open bag (truncated, not closed or not a rosbag2 bag?): {err}'
        raise BagError(msg) from err
    return reader


def _check_topics(reader: Any, path: Path, asm: FrameAssembler) -> dict[str, Any]:
    conns: dict[str, Any] = {}
    present = {c.topic: c for c in reader.connections}
    where = f'profile {asm.profile.path}' if asm.profile.path else 'the profile'
    for key, topic in asm.key_topic.items():
        conn = present.get(topic)
        if conn is None:
            msg = (f'{path}: topic {topic!r} is not in the bag ({where} maps it to {key!r}); '
                   f'the bag has {sorted(present)}')
            raise BagError(msg)
        have, want = normalize_type(conn.msgtype), asm.key_type[key]
        if have != want:
            msg = (f'{path}: topic {topic!r} has type {have}, but {where} expects {want} for '
                   f'{key!r}')
            raise BagError(msg)
        if not conn.msgcount:
            msg = f'{path}: topic {topic!r} has 0 messages; {where} maps it to {key!r}'
            raise BagError(msg)
        conns[topic] = conn
    return conns


def scan_bag(
    path: str | Path, asm: FrameAssembler, *, split_topic: str | None = None,
    split_button: int = 0,
) -> BagScan:
    """Read a bag's joint streams, camera stamps, episode events and split button.

    Args:
        path: The bag directory.
        asm: The frame assembler (gives topics, stamp source and decoding).
        split_topic: Topic of a ``sensor_msgs/Joy`` whose button cuts episodes, if any.
        split_button: Index of that button.

    Returns:
        The scan, with one track per feature key.

    Raises:
        BagError: The bag cannot be read, a topic is missing or has the wrong type, or a
            message does not decode (e.g. unknown joint names); the message names the bag.
    """
    path = resolve_bag(path)
    reader = _open(path)
    try:
        return _scan(reader, path, asm, split_topic, split_button)
    except BagError:
        raise
    except MessageError as err:
        msg = f'{path}: {err}'
        raise BagError(msg) from err
    except ImitationRosError:
        raise
    except Exception as err:  # truncated chunks, bad CDR, sqlite errors, ...
        msg = f'{path}: cannot read bag (corrupt or truncated?): {type(err).__name__}: {err}'
        raise BagError(msg) from err
    finally:
        try:
            reader.close()
        except Exception:  # noqa: BLE001 - closing a broken bag must not hide the real error
            logger.debug('%s: error while closing', path, exc_info=True)


def _scan(
    reader: Any, path: Path, asm: FrameAssembler, split_topic: str | None, split_button: int,
) -> BagScan:
    conns = _check_topics(reader, path, asm)
    extra = {}
    for conn in reader.connections:
        if conn.topic == EVENTS_TOPIC and normalize_type(conn.msgtype) == EVENT_TYPE:
            extra[conn.topic] = conn
        elif conn.topic == INTERVENTION_TOPIC:
            extra[conn.topic] = conn
        elif split_topic and conn.topic == split_topic:
            extra[conn.topic] = conn
    if split_topic and split_topic not in extra:
        msg = f'{path}: split topic {split_topic!r} is not in the bag'
        raise BagError(msg)
    cams = {asm.key_topic[k] for k in asm.keys if asm.key_type[k].endswith('Image')}
    raw: dict[str, list[tuple[int, int, int, Any]]] = {k: [] for k in asm.keys}
    scan = BagScan(path=path, storage=_storage(path), tracks={})
    wanted = list(conns.values()) + list(extra.values())
    for conn, t_ns, data in reader.messages(connections=wanted):
        msg = reader.deserialize(data, conn.msgtype)
        topic = conn.topic
        if topic == EVENTS_TOPIC:
            stamp = asm.stamp_of(msg, t_ns)       # same clock as the alignment
            scan.events.append(BagEvent(stamp, int(msg.event), int(msg.episode_index),
                                        bool(msg.success), str(msg.task), str(msg.reason)))
            continue
        if topic == INTERVENTION_TOPIC:
            # InterventionEvent; a std_msgs/Bool where rclpy has no generated msg/ (dagger_node)
            human = getattr(msg, 'human_in_control', None)
            scan.interventions.append((asm.stamp_of(msg, t_ns),
                                       bool(msg.data if human is None else human)))
            continue
        if topic == split_topic:
            scan.button.append((asm.stamp_of(msg, t_ns), _pressed(msg, split_button)))
            if topic not in asm.topic_keys:
                continue
        header = stamp_ns(msg)
        stamp = asm.stamp_of(msg, t_ns)
        for key in asm.topic_keys[topic]:
            value = None if topic in cams else asm.decode(key, msg)
            raw[key].append((stamp, header, t_ns, value))
    for key, rows in raw.items():
        topic = asm.key_topic[key]
        is_cam = topic in cams
        scan.tracks[key] = Track(
            key=key, topic=topic,
            stamps_ns=np.array([r[0] for r in rows], dtype=np.int64),
            header_ns=np.array([r[1] for r in rows], dtype=np.int64),
            receive_ns=np.array([r[2] for r in rows], dtype=np.int64),
            values=None if is_cam else [r[3] for r in rows],
        )
    return scan


def _pressed(msg: Any, button: int) -> bool:
    buttons = list(msg.buttons)
    return button < len(buttons) and bool(buttons[button])


def _storage(path: Path) -> str:
    if any(path.glob('*.mcap')):
        return 'mcap'
    if any(path.glob('*.db3')):
        return 'sqlite3'
    return 'unknown'


def read_images(
    path: Path, asm: FrameAssembler, needed: dict[str, set[int]],
) -> Iterator[tuple[str, int, NDArray[np.uint8]]]:
    """Decode the camera messages that frames use, in bag order.

    Args:
        path: The bag directory.
        asm: The frame assembler (decoding and resizing).
        needed: Feature key -> ordinal indices (receive order within the topic) to decode.

    Yields:
        ``(key, index, rgb)`` for every needed message.

    Raises:
        BagError: The bag cannot be read or an image does not decode (names bag and topic).
    """
    reader = _open(path)
    try:
        topics = {asm.key_topic[k] for k in needed}
        conns = [c for c in reader.connections if c.topic in topics]
        count = dict.fromkeys(topics, 0)
        for conn, _t_ns, data in reader.messages(connections=conns):
            i = count[conn.topic]
            count[conn.topic] = i + 1
            keys = [k for k in asm.topic_keys[conn.topic] if i in needed.get(k, ())]
            if not keys:
                continue
            msg = reader.deserialize(data, conn.msgtype)
            for key in keys:
                yield key, i, asm.decode(key, msg)
    except BagError:
        raise
    except MessageError as err:
        msg_ = f'{path}: {err}'
        raise BagError(msg_) from err
    except Exception as err:
        msg_ = f'{path}: cannot read images (corrupt or truncated?): {type(err).__name__}: {err}'
        raise BagError(msg_) from err
    finally:
        try:
            reader.close()
        except Exception:  # noqa: BLE001
            logger.debug('%s: error while closing', path, exc_info=True)
