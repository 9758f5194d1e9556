"""Turn a bag left open by a crash (kill -9, power loss) back into a complete, readable one.

mcap: the recorder writes one chunk (plus its message indexes) at least every second, and the
first chunk starts with every schema and channel. After a kill -9 the file simply ends: no
summary, no footer, maybe half a chunk. ``recover_bag`` reads every complete record (chunks
are decompressed and checked against their size and CRC; reading stops at the first
truncated or corrupt record), writes the messages into a new mcap with rosbags' ``Writer``
(same topics, types, definitions, QoS and chunk compression), swaps it in place of the broken
file and writes ``metadata.yaml`` with the real counts.

sqlite3: opening the database rolls back the half-written transaction (sqlite's journal);
every committed row is kept and ``metadata.yaml`` is rewritten from the tables.

In both: an episode left open (START without STOP/DISCARD) gets a STOP event, success false,
reason ``recorder stopped without closing the bag; recovered``, one nanosecond after the last
message, and custom_data gets ``imitation_ros.closed: 'true'`` and
``imitation_ros.recovered`` (JSON report).
"""
from __future__ import annotations

import json
import os
import shutil
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from imitation_ros.errors import BagError
from imitation_ros.messages import typestore
from imitation_ros.record.bag_writer import (
    CLOSED_KEY,
    build_metadata,
    fsync_dir,
    read_metadata,
    write_metadata,
)
from imitation_ros.record.session import STOP, episode_event_cdr

if TYPE_CHECKING:
    from rosbags.interfaces import Connection

MAGIC = b'\x89MCAP0\r\n'
EVENTS_TOPIC = '/episode_events'
EVENT_TYPE = 'imitation_ros/msg/EpisodeEvent'
RECOVER_REASON = 'recorder stopped without closing the bag; recovered'
_U64 = struct.Struct('<Q')


@dataclass(slots=True)
class RecoverReport:
    """What ``recover_bag`` found and kept."""

    bag: str
    storage: str
    was_closed: bool
    messages_kept: int = 0
    per_topic: dict[str, int] = field(default_factory=dict)
    chunks_kept: int = 0
    bytes_discarded: int = 0
    messages_unknown_channel: int = 0
    snapshot_messages: int | None = None     # count in the last metadata.yaml snapshot
    closed_episode: int | None = None        # index of the episode given a STOP event
    start_ns: int = 0
    end_ns: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return asdict(self)


def _data_file(bag: Path, meta: dict[str, Any] | None) -> Path:
    if meta and meta.get('relative_file_paths'):
        cand = bag / Path(str(meta['relative_file_paths'][0])).name
        if cand.exists():
            return cand
    files = sorted([*bag.glob('*.mcap'), *bag.glob('*.db3')])
    if not files:
        msg = f'{bag}: no .mcap or .db3 file in the bag directory'
        raise BagError(msg)
    if len(files) > 1:
        msg = f'{bag}: several data files {[f.name for f in files]}; recover handles one'
        raise BagError(msg)
    return files[0]


def mcap_is_complete(path: Path) -> bool:
    """Whether an mcap file ends with a valid footer (i.e. it was closed)."""
    try:
        size = path.stat().st_size
        if size < 8 + 37:
            return False
        with path.open('rb') as fh:
            fh.seek(-37, os.SEEK_END)
            tail = fh.read(37)
    except OSError:
        return False
    return tail[-8:] == MAGIC and tail[0] == 0x02


def is_closed(bag: str | os.PathLike[str]) -> bool:
    """Whether a bag directory was closed properly (metadata says so and the file is whole)."""
    bag = Path(bag)
    meta = read_metadata(bag)
    if meta is None:
        return False
    custom = meta.get('custom_data') or {}
    if custom.get(CLOSED_KEY) == 'false':
        return False
    try:
        data = _data_file(bag, meta)
    except BagError:
        return False
    if data.suffix == '.mcap':
        return mcap_is_complete(data)
    return not data.with_name(data.name + '-journal').exists()


class _Events:
    """Tracks episode events while messages stream past."""

    def __init__(self) -> None:
        self.open_index: int | None = None
        self.open_task = ''
        self.episodes: list[dict[str, Any]] = []

    def feed(self, data: bytes) -> None:
        try:
            ev = typestore().deserialize_cdr(data, EVENT_TYPE)
        except Exception:  # noqa: BLE001 - a broken event is reported, not fatal
            return
        if ev.event == 0:
            self.open_index, self.open_task = int(ev.episode_index), str(ev.task)
        else:
            self.episodes.append({
                'index': int(ev.episode_index), 'kept': ev.event == 1,
                'success': bool(ev.success), 'task': str(ev.task), 'reason': str(ev.reason)})
            self.open_index = None

    def stop_event(self, t_ns: int) -> bytes:
        data = episode_event_cdr(t_ns, STOP, self.open_index or 0, success=False,
                                 task=self.open_task, reason=RECOVER_REASON)
        self.episodes.append({'index': self.open_index, 'kept': True, 'success': False,
                              'task': self.open_task, 'reason': RECOVER_REASON})
        return data


def _read_record(fh: BinaryIO) -> tuple[int, bytes] | None:
    head = fh.read(9)
    if len(head) < 9:
        return None
    (length,) = _U64.unpack_from(head, 1)
    body = fh.read(length)
    if len(body) < length:
        return None
    return head[0], body


def _string(buf: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from('<I', buf, pos)
    return buf[pos + 4:pos + 4 + n].decode(), pos + 4 + n


def _bytes(buf: bytes, pos: int) -> tuple[bytes, int]:
    (n,) = struct.unpack_from('<I', buf, pos)
    return buf[pos + 4:pos + 4 + n], pos + 4 + n


class _McapRewriter:
    """Streams the records of a (truncated) mcap into a new rosbags Writer."""

    def __init__(self, writer: Any, report: RecoverReport, meta: dict[str, Any] | None) -> None:
        self.writer = writer
        self.report = report
        self.schemas: dict[int, tuple[str, str, str]] = {}
        self.conns: dict[int, Connection] = {}
        self.events = _Events()
        self.hashes: dict[str, str] = {}
        for entry in (meta or {}).get('topics_with_message_count') or []:
            tm = entry.get('topic_metadata') or {}
            if tm.get('type') and tm.get('type_description_hash'):
                self.hashes[tm['type']] = tm['type_description_hash']
        self.t_min = 2**63 - 1
        self.t_max = 0

    def _schema(self, body: bytes) -> None:
        (sid,) = struct.unpack_from('<H', body, 0)
        name, pos = _string(body, 2)
        enc, pos = _string(body, pos)
        data, _ = _bytes(body, pos)
        self.schemas[sid] = (name, enc, data.decode())

    def _channel(self, body: bytes) -> None:
        from rosbags.rosbag2.storage_mcap import get_qos

        cid, sid = struct.unpack_from('<HH', body, 0)
        topic, pos = _string(body, 4)
        _enc, pos = _string(body, pos)
        (mlen,) = struct.unpack_from('<I', body, pos)
        metadata = body[pos + 4:pos + 4 + mlen]
        if cid in self.conns or sid not in self.schemas:
            return
        msgtype, _fmt, msgdef = self.schemas[sid]
        store = typestore()
        rihs = self.hashes.get(msgtype)
        if not rihs and msgtype in store.fielddefs:
            rihs = store.hash_rihs01(msgtype)
        self.conns[cid] = self.writer.add_connection(
            topic, msgtype, msgdef=msgdef, rihs01=rihs or 'RIHS01_' + '0' * 64,
            offered_qos_profiles=get_qos(metadata))

    def _message(self, body: bytes) -> None:
        cid, _seq, log_time, _pub = struct.unpack_from('<HIQQ', body, 0)
        conn = self.conns.get(cid)
        if conn is None:
            self.report.messages_unknown_channel += 1
            return
        data = body[22:]
        self.writer.write(conn, log_time, data)
        self.report.messages_kept += 1
        self.report.per_topic[conn.topic] = self.report.per_topic.get(conn.topic, 0) + 1
        self.t_min = min(self.t_min, log_time)
        self.t_max = max(self.t_max, log_time)
        if conn.topic == EVENTS_TOPIC:
            self.events.feed(data)

    def _records(self, buf: bytes) -> None:
        pos, end = 0, len(buf)
        while pos + 9 <= end:
            op = buf[pos]
            (length,) = _U64.unpack_from(buf, pos + 1)
            body = buf[pos + 9:pos + 9 + length]
            pos += 9 + length
            self._dispatch(op, body)

    def _dispatch(self, op: int, body: bytes) -> None:
        if op == 0x03:
            self._schema(body)
        elif op == 0x04:
            self._channel(body)
        elif op == 0x05:
            self._message(body)

    def _chunk(self, body: bytes) -> bool:
        from rosbags.rosbag2.storage_mcap import decompress

        _start, _end, usize, crc = struct.unpack_from('<QQQI', body, 0)
        comp, pos = _string(body, 28)
        (csize,) = _U64.unpack_from(body, pos)
        pos += 8
        try:
            raw = decompress(body[pos:pos + csize], comp, usize, crc)
        except Exception:  # noqa: BLE001 - corrupt chunk: stop like at a truncation
            return False
        if comp:
            self.compression = comp
        self._records(raw)
        self.report.chunks_kept += 1
        return True

    compression = ''

    def run(self, fh: BinaryIO, size: int) -> None:
        if fh.read(8) != MAGIC:
            msg = f'{fh.name}: not an mcap file (bad magic)'
            raise BagError(msg)
        while True:
            pos = fh.tell()
            rec = _read_record(fh)
            if rec is None:
                self.report.bytes_discarded = size - pos
                if size - pos:
                    self.report.notes.append(
                        f'file ends inside a record at byte {pos}; {size - pos} bytes dropped')
                return
            op, body = rec
            if op == 0x02:   # footer: the file was complete
                return
            if op == 0x06:
                if not self._chunk(body):
                    self.report.bytes_discarded = size - pos
                    self.report.notes.append(f'corrupt chunk at byte {pos}; stopped there')
                    return
            elif op == 0x0F:   # data end: summary follows, nothing new in it
                return
            else:
                self._dispatch(op, body)


def _topics_from_meta(meta: dict[str, Any] | None) -> list[tuple[str, str, list[Any]]]:
    from rosbags.rosbag2.metadata import parse_qos

    out = []
    for entry in (meta or {}).get('topics_with_message_count') or []:
        tm = entry.get('topic_metadata') or {}
        if tm.get('name') and tm.get('type'):
            out.append((tm['name'], tm['type'], parse_qos(tm.get('offered_qos_profiles') or [])))
    return out


def _recover_mcap(bag: Path, data: Path, meta: dict[str, Any] | None, report: RecoverReport,
                  keep_original: bool) -> None:
    from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

    work = bag.parent / f'.{bag.name}.recovering'
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    tmp_bag = work / bag.name
    # First pass only to learn the chunk compression (cheap: reads one chunk header).
    comp = _first_chunk_compression(data)
    writer = Writer(tmp_bag, version=9, storage_plugin=StoragePlugin.MCAP)
    if comp == 'zstd':
        writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    writer.open()
    rw = _McapRewriter(writer, report, meta)
    try:
        with data.open('rb') as fh:
            rw.run(fh, data.stat().st_size)
        known = {c.topic for c in rw.conns.values()}
        store = typestore()
        for topic, mtype, qos in _topics_from_meta(meta):
            if topic not in known and mtype in store.fielddefs:
                writer.add_connection(topic, mtype, typestore=store, offered_qos_profiles=qos)
                report.per_topic.setdefault(topic, 0)
                report.notes.append(f'topic {topic!r} had no complete chunk; kept empty')
        if rw.events.open_index is not None:
            ev_conn = next((c for c in writer.connections if c.topic == EVENTS_TOPIC), None)
            if ev_conn is None:
                ev_conn = writer.add_connection(EVENTS_TOPIC, EVENT_TYPE, typestore=store)
            t_ns = rw.t_max + 1
            report.closed_episode = rw.events.open_index
            writer.write(ev_conn, t_ns, rw.events.stop_event(t_ns))
            report.messages_kept += 1
            report.per_topic[EVENTS_TOPIC] = report.per_topic.get(EVENTS_TOPIC, 0) + 1
            rw.t_max = t_ns
        custom = dict((meta or {}).get('custom_data') or {})
        custom.update(_episode_custom(custom, rw.events.episodes))
        report.start_ns, report.end_ns = (rw.t_min, rw.t_max) if report.messages_kept else (0, 0)
        custom[CLOSED_KEY] = 'true'
        custom['imitation_ros.recovered'] = json.dumps(report.as_dict(), sort_keys=True)
        for key, value in custom.items():
            writer.set_custom_data(str(key), str(value))
        writer.close()
    except BaseException:
        writer.abort()
        shutil.rmtree(work, ignore_errors=True)
        raise
    new_file = tmp_bag / f'{bag.name}.mcap'
    if keep_original:
        data.replace(data.with_name(data.name + '.unrecovered'))
    else:
        data.unlink()
    new_file.replace(bag / f'{bag.name}.mcap')
    with (bag / f'{bag.name}.mcap').open('rb+') as fh:
        os.fsync(fh.fileno())
    (tmp_bag / 'metadata.yaml').replace(bag / 'metadata.yaml')
    shutil.rmtree(work, ignore_errors=True)
    fsync_dir(bag)


def _first_chunk_compression(data: Path) -> str:
    with data.open('rb') as fh:
        if fh.read(8) != MAGIC:
            msg = f'{data}: not an mcap file (bad magic)'
            raise BagError(msg)
        while True:
            head = fh.read(9)
            if len(head) < 9:
                return ''
            op = head[0]
            (length,) = _U64.unpack_from(head, 1)
            if op == 0x06:
                body = fh.read(min(length, 4096))
                if len(body) < 32:
                    return ''
                comp, _ = _string(body, 28)
                return comp
            fh.seek(length, os.SEEK_CUR)


def _episode_custom(custom: dict[str, Any], episodes: list[dict[str, Any]]) -> dict[str, str]:
    """custom_data ``imitation_ros.episodes`` rebuilt from the events, keeping known frames."""
    try:
        old = {int(e['index']): e for e in json.loads(custom.get('imitation_ros.episodes', '[]'))}
    except (ValueError, TypeError, KeyError):
        old = {}
    out = []
    for ep in episodes:
        prev = old.get(int(ep['index'] or 0), {})
        out.append({**ep, 'frames': prev.get('frames'), 'duration_s': prev.get('duration_s')})
    return {'imitation_ros.episodes': json.dumps(out)}


def _recover_sqlite(bag: Path, data: Path, meta: dict[str, Any] | None,
                    report: RecoverReport) -> None:
    import sqlite3

    from rosbags.interfaces import Connection, ConnectionExtRosbag2, MessageDefinition
    from rosbags.interfaces import MessageDefinitionFormat as Fmt
    from rosbags.rosbag2.metadata import parse_qos

    try:
        conn = sqlite3.connect(str(data))   # rolls back a hot journal
        cur = conn.cursor()
        ok = cur.execute('PRAGMA integrity_check').fetchone()
        if ok and ok[0] != 'ok':
            report.notes.append(f'sqlite integrity_check: {ok[0]}')
        topics = cur.execute(
            'SELECT id, name, type, offered_qos_profiles, type_description_hash FROM topics '
            'ORDER BY id').fetchall()
        counts = dict(cur.execute(
            'SELECT topic_id, COUNT(*) FROM messages GROUP BY topic_id').fetchall())
        tmin, tmax = cur.execute('SELECT MIN(timestamp), MAX(timestamp) FROM messages').fetchone()
    except sqlite3.DatabaseError as err:
        msg = f'{data}: cannot read the sqlite3 database: {err}'
        raise BagError(msg) from err
    compressed = (meta or {}).get('compression_mode') == 'message'
    ev_id = next((tid for tid, name, *_ in topics if name == EVENTS_TOPIC), None)
    events = _Events()
    if ev_id is not None:
        for (blob,) in cur.execute(
                'SELECT data FROM messages WHERE topic_id = ? ORDER BY timestamp, id', (ev_id,)):
            events.feed(_maybe_unzstd(bytes(blob), compressed))
        if events.open_index is not None:
            t_ns = int(tmax or 0) + 1
            report.closed_episode = events.open_index
            blob = events.stop_event(t_ns)
            cur.execute('INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)',
                        (ev_id, t_ns, _maybe_zstd(blob, compressed)))
            counts[ev_id] = counts.get(ev_id, 0) + 1
            tmax = t_ns
    conns = []
    for tid, name, mtype, qos, rihs in topics:
        c = Connection(id=tid, topic=name, msgtype=mtype,
                       msgdef=MessageDefinition(Fmt.NONE, ''), digest=rihs, msgcount=0,
                       ext=ConnectionExtRosbag2('cdr', parse_qos(qos)), owner=None)
        conns.append((c, int(counts.get(tid, 0))))
        report.per_topic[name] = int(counts.get(tid, 0))
    report.messages_kept = sum(report.per_topic.values())
    report.start_ns, report.end_ns = int(tmin or 0), int(tmax or 0)
    custom = dict((meta or {}).get('custom_data') or {})
    custom.update(_episode_custom(custom, events.episodes))
    custom[CLOSED_KEY] = 'true'
    custom['imitation_ros.recovered'] = json.dumps(report.as_dict(), sort_keys=True)
    doc = build_metadata(
        storage='sqlite3', file_name=data.name, topics=conns,
        start_ns=report.start_ns, end_ns=report.end_ns,
        compression_format='zstd' if compressed else '',
        compression_mode='message' if compressed else '',
        custom_data={str(k): str(v) for k, v in custom.items()})
    # rosbag2 keeps a copy of the metadata in the database (schema 4+), as rosbags' close does.
    import yaml

    has_table = cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                            "name = 'metadata'").fetchone()
    if has_table and not cur.execute('SELECT COUNT(*) FROM metadata').fetchone()[0]:
        cur.execute('INSERT INTO metadata(metadata_version, metadata) VALUES(?, ?)',
                    (9, yaml.safe_dump(doc['rosbag2_bagfile_information'],
                                       default_flow_style=False, sort_keys=False).strip()))
    conn.commit()
    conn.close()
    write_metadata(bag, doc, sync=True)


def _maybe_unzstd(blob: bytes, compressed: bool) -> bytes:
    if not compressed:
        return blob
    from backports import zstd

    return zstd.decompress(blob)


def _maybe_zstd(blob: bytes, compressed: bool) -> bytes:
    if not compressed:
        return blob
    from backports import zstd

    return zstd.compress(blob)


def recover_bag(path: str | os.PathLike[str], *, keep_original: bool = False,
                force: bool = False) -> RecoverReport:
    """Make the bag at ``path`` complete and readable again.

    Args:
        path: The bag directory (holding ``metadata.yaml`` and/or the data file).
        keep_original: Keep the broken mcap as ``<name>.mcap.unrecovered``.
        force: Rewrite even a bag that looks properly closed.

    Returns:
        What was kept; ``was_closed`` True means nothing needed doing.

    Raises:
        BagError: ``path`` is not a bag directory, or the data cannot be read at all.
    """
    bag = Path(path)
    if not bag.is_dir():
        msg = f'{bag}: not a bag directory'
        raise BagError(msg)
    meta = read_metadata(bag)
    data = _data_file(bag, meta)
    storage = 'mcap' if data.suffix == '.mcap' else 'sqlite3'
    report = RecoverReport(bag=str(bag), storage=storage, was_closed=is_closed(bag))
    if meta is not None:
        report.snapshot_messages = int(meta.get('message_count') or 0)
    else:
        report.notes.append('metadata.yaml missing or unreadable; rebuilt from the data file')
    if report.was_closed and not force:
        report.messages_kept = report.snapshot_messages or 0
        report.notes.append('bag was closed properly; nothing to do')
        return report
    if storage == 'mcap':
        _recover_mcap(bag, data, meta, report, keep_original)
    else:
        _recover_sqlite(bag, data, meta, report)
    return report
