"""Crash-safe rosbag2 writer on top of rosbags' ``Writer`` (mcap or sqlite3, rosbag2 v9).

rosbags buffers in memory: its mcap storage collects records in a pending chunk and writes it
only when the chunk passes 1 MiB, and its sqlite3 storage commits only at close. A kill -9
would then lose everything not yet written. ``BagWriter.flush()`` therefore

* mcap: closes the pending chunk (when it holds a message), so the chunk record and its
  message indexes are written, then flushes the file object and fsyncs;
* sqlite3: commits the open transaction (sqlite fsyncs on commit);

and refreshes ``metadata.yaml`` with the counts of what is on disk. ``metadata.yaml`` is
written when the bag is opened and after each flush, marked
``custom_data: {imitation_ros.closed: 'false'}`` until ``close()`` writes the final one.
A bag left by a kill -9 is thus discoverable, and ``imitation_ros.record.recover`` makes it
readable again.

Message definitions come from the suite's typestore, so they travel inside the bag (mcap
schemas, sqlite ``message_definitions``).

This module uses two attributes of rosbags 0.11 storages that are not public API
(``McapWriter.chunk`` / ``close_chunk`` / ``bio`` and ``Sqlite3Writer.conn``); the version is
pinned to ``rosbags>=0.11,<0.12`` in setup.py.
"""
from __future__ import annotations

import os
import threading
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from imitation_ros.errors import BagError, MessageError
from imitation_ros.messages import typestore

if TYPE_CHECKING:
    from rosbags.interfaces import Connection, Qos

QosKind = Literal['sensor_data', 'reliable', 'latched']

#: custom_data key that says whether the bag was closed properly.
CLOSED_KEY = 'imitation_ros.closed'


def make_qos(kind: QosKind, depth: int = 10) -> Qos:
    """Return the rosbags ``Qos`` written as ``offered_qos_profiles`` for a subscription kind.

    ``sensor_data`` is best effort / volatile depth 5 (rclpy's ``qos_profile_sensor_data``),
    ``reliable`` is reliable / volatile, ``latched`` is reliable / transient local.
    """
    from rosbags.interfaces import (
        Qos,
        QosDurability,
        QosHistory,
        QosLiveliness,
        QosReliability,
        QosTime,
    )

    infinite = QosTime(9223372036, 854775807)
    best_effort = kind == 'sensor_data'
    return Qos(
        history=QosHistory.KEEP_LAST,
        depth=5 if best_effort else depth,
        reliability=QosReliability.BEST_EFFORT if best_effort else QosReliability.RELIABLE,
        durability=(QosDurability.TRANSIENT_LOCAL if kind == 'latched'
                    else QosDurability.VOLATILE),
        deadline=infinite,
        lifespan=infinite,
        liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=infinite,
        avoid_ros_namespace_conventions=False,
    )


def build_metadata(
    *,
    storage: str,
    file_name: str,
    topics: list[tuple[Connection, int]],
    start_ns: int,
    end_ns: int,
    compression_format: str = '',
    compression_mode: str = '',
    custom_data: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return a rosbag2 v9 ``metadata.yaml`` document, as rosbags' ``Writer.close`` writes it.

    Args:
        storage: ``mcap`` or ``sqlite3``.
        file_name: The data file, relative to the bag directory.
        topics: (connection, message count) per topic.
        start_ns: Smallest message timestamp (ns); ignored when there are no messages.
        end_ns: Largest message timestamp (ns).
        compression_format: ``zstd`` for message compression, else ''.
        compression_mode: ``message`` for message compression, else ''.
        custom_data: String key/values stored under ``custom_data``.
    """
    from rosbags.rosbag2.metadata import dump_qos_v9

    count = sum(n for _, n in topics)
    if not count:
        start_ns, end_ns = 2**63 - 1, 0
    duration = max(0, end_ns - start_ns)
    return {
        'rosbag2_bagfile_information': {
            'version': 9,
            'storage_identifier': storage,
            'relative_file_paths': [file_name],
            'duration': {'nanoseconds': duration},
            'starting_time': {'nanoseconds_since_epoch': start_ns},
            'message_count': count,
            'topics_with_message_count': [
                {
                    'topic_metadata': {
                        'name': conn.topic,
                        'type': conn.msgtype,
                        'serialization_format': 'cdr',
                        'offered_qos_profiles': dump_qos_v9(
                            list(getattr(conn.ext, 'offered_qos_profiles', []))),
                        'type_description_hash': conn.digest,
                    },
                    'message_count': n,
                }
                for conn, n in topics
            ],
            'compression_format': compression_format,
            'compression_mode': compression_mode,
            'files': [
                {
                    'path': file_name,
                    'starting_time': {'nanoseconds_since_epoch': start_ns},
                    'duration': {'nanoseconds': duration},
                    'message_count': count,
                },
            ],
            'custom_data': dict(custom_data) if custom_data else None,
            'ros_distro': 'rosbags',
        },
    }


def write_metadata(bag: Path, metadata: dict[str, Any], *, sync: bool = False) -> None:
    """Write ``metadata.yaml`` atomically (temp file + rename).

    Uses libyaml (PyYAML's C dumper) when available: ruamel's pure-Python dumper takes tens of
    milliseconds per document, too slow for a snapshot every second on the recording thread.
    Long scalars (``type_description_hash``, JSON ``custom_data``) stay on one line, as
    rosbag2's own writer (yaml-cpp) emits them.
    """
    try:
        import yaml

        text = yaml.dump(metadata, Dumper=getattr(yaml, 'CSafeDumper', yaml.SafeDumper),
                         default_flow_style=False, sort_keys=False, width=1 << 30)
    except ImportError:  # pragma: no cover - pyyaml is a dependency
        from ruamel.yaml import YAML

        ryaml = YAML(typ='safe')
        ryaml.default_flow_style = False
        ryaml.width = 1 << 30
        out = StringIO()
        ryaml.dump(metadata, out)
        text = out.getvalue()
    tmp = bag / 'metadata.yaml.tmp'
    with tmp.open('w', encoding='utf-8') as fh:
        fh.write(text)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())
    tmp.replace(bag / 'metadata.yaml')


def read_metadata(bag: Path) -> dict[str, Any] | None:
    """Return ``rosbag2_bagfile_information`` of ``bag/metadata.yaml``, None if absent/broken."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = bag / 'metadata.yaml'
    try:
        data = YAML(typ='safe').load(path.read_text(encoding='utf-8'))
    except (OSError, YAMLError):
        return None
    if not isinstance(data, dict) or not isinstance(
            data.get('rosbag2_bagfile_information'), dict):
        return None
    return data['rosbag2_bagfile_information']


def fsync_dir(path: Path) -> None:
    """fsync a directory so that new file names in it survive a crash."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class BagWriter:
    """A rosbag2 bag that reaches the disk on every ``flush()``.

    Use: ``open()``, ``add_topic()`` for every topic, then ``write()`` / ``flush()`` and
    finally ``close()`` (or ``abort()`` after an error), like rosbags' ``Writer``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        storage: Literal['mcap', 'sqlite3'] = 'mcap',
        compression: Literal['none', 'zstd'] = 'none',
    ) -> None:
        """Prepare a bag at ``path`` (a directory that must not exist yet).

        Raises:
            BagError: ``path`` exists, or the storage / compression is unknown.
        """
        from rosbags.rosbag2 import StoragePlugin, Writer

        self.path = Path(path)
        if self.path.exists():
            msg = f'{self.path} exists already; a recorder never overwrites a bag'
            raise BagError(msg)
        if storage not in ('mcap', 'sqlite3'):
            msg = f'{self.path}: unknown storage {storage!r}; use mcap or sqlite3'
            raise BagError(msg)
        if compression not in ('none', 'zstd'):
            msg = f'{self.path}: unknown compression {compression!r}; use none or zstd'
            raise BagError(msg)
        self.storage = storage
        self.compression = compression
        plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        self._conns: dict[str, Connection] = {}
        self._written: dict[str, int] = {}     # messages handed to the writer
        self._on_disk: dict[str, int] = {}     # messages covered by the last flush
        self._t_min = 2**63 - 1
        self._t_max = 0
        self._disk_t = (2**63 - 1, 0)
        self._pending = 0
        self._new_topics = False
        self.bytes_written = 0
        self.custom_data: dict[str, str] = {}
        self._open = False
        self._sync_thread: threading.Thread | None = None
        self.sync_s_max = 0.0          # longest fsync so far (s), for diagnostics

    @property
    def file_name(self) -> str:
        """Name of the data file inside the bag directory."""
        return f'{self.path.name}.{"mcap" if self.storage == "mcap" else "db3"}'

    @property
    def is_open(self) -> bool:
        """Whether the bag is open for writing."""
        return self._open

    def open(self) -> None:
        """Create the bag directory and data file, and write a first ``metadata.yaml``.

        Raises:
            BagError: The directory cannot be created.
        """
        from rosbags.rosbag2 import CompressionFormat, CompressionMode, WriterError

        if self.compression == 'zstd':
            mode = CompressionMode.STORAGE if self.storage == 'mcap' else CompressionMode.MESSAGE
            self._writer.set_compression(mode, CompressionFormat.ZSTD)
        try:
            self._writer.open()
        except (WriterError, OSError) as err:
            msg = f'{self.path}: cannot create bag: {err}'
            raise BagError(msg) from err
        self._open = True
        self.custom_data[CLOSED_KEY] = 'false'
        self._write_snapshot(sync=True)
        fsync_dir(self.path)
        fsync_dir(self.path.parent)

    def add_topic(self, topic: str, msgtype: str, *, qos: QosKind = 'reliable') -> None:
        """Register a topic; its message definition is taken from the suite's typestore.

        Raises:
            MessageError: ``msgtype`` is not known to the typestore.
            BagError: The bag is not open or the topic is registered already.
        """
        if not self._open:
            msg = f'{self.path}: add_topic({topic!r}) before open()'
            raise BagError(msg)
        if topic in self._conns:
            msg = f'{self.path}: topic {topic!r} registered twice'
            raise BagError(msg)
        store = typestore()
        if msgtype not in store.fielddefs:
            msg = f'topic {topic!r}: unknown message type {msgtype!r} (not in the typestore)'
            raise MessageError(msg)
        self._conns[topic] = self._writer.add_connection(
            topic, msgtype, typestore=store, offered_qos_profiles=[make_qos(qos)])
        self._written[topic] = 0
        self._on_disk[topic] = 0
        self._new_topics = True

    def has_topic(self, topic: str) -> bool:
        """Whether ``topic`` was registered."""
        return topic in self._conns

    def write(self, topic: str, t_ns: int, data: bytes | memoryview) -> None:
        """Write one serialized message (CDR with its 4-byte encapsulation header).

        Raises:
            BagError: Unknown topic or closed bag.
        """
        conn = self._conns.get(topic)
        if conn is None or not self._open:
            msg = (f'{self.path}: topic {topic!r} not registered' if self._open
                   else f'{self.path}: write after close')
            raise BagError(msg)
        self._writer.write(conn, t_ns, data)
        self._written[topic] += 1
        self._pending += 1
        self.bytes_written += len(data)
        if t_ns < self._t_min:
            self._t_min = t_ns
        if t_ns > self._t_max:
            self._t_max = t_ns

    def counts(self) -> dict[str, int]:
        """Messages written per topic (including those not flushed yet)."""
        return dict(self._written)

    def flush(self) -> None:
        """Hand everything written so far to the OS, fsync it, refresh ``metadata.yaml``.

        mcap: the pending chunk is closed and written (``write(2)``, so a kill -9 of this
        process loses nothing after this call); the fsync that protects against power loss
        runs on a helper thread so the caller (the executor thread) never waits for the disk.
        sqlite3: the transaction is committed (sqlite fsyncs on commit).
        """
        if not self._open:
            return
        if self._pending or (self._new_topics and self.storage == 'sqlite3'):
            storage = self._writer.storage
            if self.storage == 'mcap':
                if storage.chunk.msgs:
                    storage.close_chunk()
                storage.bio.flush()
                self._fsync_async(storage.bio.fileno())
            else:
                storage.conn.commit()
            self._pending = 0
            self._new_topics = False
            self._on_disk = dict(self._written)
            self._disk_t = (self._t_min, self._t_max)
        self._write_snapshot()

    def _fsync_async(self, fd: int) -> None:
        if self._sync_thread is not None and self._sync_thread.is_alive():
            return      # the previous fsync is still running; it covers most of this data

        def run() -> None:
            import time

            tic = time.monotonic()
            try:
                os.fsync(fd)
            except OSError:
                pass
            self.sync_s_max = max(self.sync_s_max, time.monotonic() - tic)

        self._sync_thread = threading.Thread(target=run, name='bag-fsync', daemon=True)
        self._sync_thread.start()

    def _join_sync(self) -> None:
        if self._sync_thread is not None:
            self._sync_thread.join()
            self._sync_thread = None

    def _write_snapshot(self, *, sync: bool = False) -> None:
        topics = [(conn, self._on_disk[t]) for t, conn in self._conns.items()]
        comp_fmt = 'zstd' if self.compression == 'zstd' and self.storage == 'sqlite3' else ''
        meta = build_metadata(
            storage=self.storage, file_name=self.file_name, topics=topics,
            start_ns=self._disk_t[0], end_ns=self._disk_t[1],
            compression_format=comp_fmt, compression_mode='message' if comp_fmt else '',
            custom_data=self.custom_data)
        write_metadata(self.path, meta, sync=sync)

    def close(self, custom_data: dict[str, str] | None = None) -> None:
        """Write the index, footer and final ``metadata.yaml`` (``imitation_ros.closed: true``).

        Raises:
            BagError: rosbags could not finish the bag.
        """
        if not self._open:
            return
        self.custom_data.update(custom_data or {})
        self.custom_data[CLOSED_KEY] = 'true'
        for key, value in self.custom_data.items():
            self._writer.set_custom_data(key, value)
        self._open = False
        self._join_sync()
        try:
            self._writer.close()
        except Exception as err:  # rosbags / OSError on a full disk
            msg = f'{self.path}: cannot close bag: {err}'
            raise BagError(msg) from err
        data_file = self.path / self.file_name
        try:
            with data_file.open('rb+') as fh:
                os.fsync(fh.fileno())
        except OSError:
            pass
        fsync_dir(self.path)

    def abort(self) -> None:
        """Stop writing without an index (the bag stays recoverable)."""
        if self._open:
            self._open = False
            self._join_sync()
            self._writer.abort()
