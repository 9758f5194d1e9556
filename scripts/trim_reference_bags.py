#!/usr/bin/env python3
"""Cut the reference bags that ROS 2's own ``ros2 bag record`` wrote down to a test-sized window.

    python scripts/trim_reference_bags.py SRC_DIR [--out test/data/realbags] [--start 1.0]
        [--seconds 1.5]

SRC_DIR holds ``arm_mcap/`` and ``arm_sqlite3/`` (rosbag2 folders recorded with ROS 2 Jazzy,
rmw_cyclonedds_cpp). Every message in ``[t0 + start, t0 + start + seconds)`` of the bag's
receive time is copied with rosbags into a new bag of the same storage: the serialized CDR
bytes ROS 2 wrote, the receive timestamps, the connections' message definitions, RIHS01 type
hashes and offered QoS profiles are kept as they were; only the container (file, metadata.yaml)
is rewritten, by rosbags. The committed copies under ``test/data/realbags`` were made with the
defaults. Run once by hand; tests only read the result.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from rosbags.rosbag2 import Reader, StoragePlugin, Writer

STORAGE = {'arm_mcap': StoragePlugin.MCAP, 'arm_sqlite3': StoragePlugin.SQLITE3}


def trim(src: Path, dst: Path, storage: StoragePlugin, start_s: float, seconds: float) -> int:
    """Copy ``src``'s messages of the window into a new bag ``dst``; return how many."""
    if dst.exists():
        shutil.rmtree(dst)
    n = 0
    with Reader(src) as reader, Writer(dst, version=9, storage_plugin=storage) as writer:
        t0 = reader.start_time + int(start_s * 1e9)
        t1 = t0 + int(seconds * 1e9)
        out = {}
        for c in sorted(reader.connections, key=lambda c: c.id):
            out[c.id] = writer.add_connection(
                c.topic, c.msgtype, msgdef=c.msgdef.data, rihs01=c.digest,
                serialization_format=c.ext.serialization_format,
                offered_qos_profiles=c.ext.offered_qos_profiles)
        for conn, t_ns, raw in reader.messages(start=t0, stop=t1):
            writer.write(out[conn.id], t_ns, raw)
            n += 1
    return n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', type=Path)
    p.add_argument('--out', type=Path,
                   default=Path(__file__).resolve().parents[1] / 'test' / 'data' / 'realbags')
    p.add_argument('--start', type=float, default=1.0, help='s after the first message')
    p.add_argument('--seconds', type=float, default=1.5)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, storage in STORAGE.items():
        n = trim(args.src / name, args.out / name, storage, args.start, args.seconds)
        size = sum(f.stat().st_size for f in (args.out / name).iterdir())
        print(f'{args.out / name}: {n} messages, {size / 1e6:.1f} MB')


if __name__ == '__main__':
    main()
