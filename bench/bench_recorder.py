"""Recorder benchmark: the issue's load through the DDS backend, and the core vs rosbags alone.

    python bench/bench_recorder.py                 # 60 s live + 10 s offline, full load
    python bench/bench_recorder.py --quick         # 8 s live + 3 s offline, 320x240 cameras
    python bench/bench_recorder.py --seconds 20 --storage sqlite3 --compression zstd

Load (the issue's): three 640x480 rgb8 cameras at 30 Hz, 7 joint states at 500 Hz, the
teleop command at 100 Hz: about 83 MB/s.

1. live: a publisher process sends the load over DDS (loopback), ``recorder_node`` (a real
   process, DDS backend) records one episode of ``--seconds``; reported: messages published
   during the episode and missing from the bag (dropped, by header stamp), the recorder's CPU
   share (its user+system time / wall time, 100 % = one core), the rate it recorded, and
   whether the publisher kept up with the nominal load.
2. offline: the same serialized messages through the recorder core (``RecordingSession``:
   pre-roll, health, flush + fsync every second) and through rosbags ``Writer`` alone
   (no flush); throughput of each (median of ``--repeat`` alternating runs) and the ratio.

Prints one line per metric; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 1e6
JOINTS7 = [f'joint_{i}' for i in range(7)]
CAMS = ('cam0', 'cam1', 'cam2')


def _streams(width: int, height: int) -> list[tuple[str, float, bytes]]:
    """(topic, rate Hz, one serialized message) of the load."""
    from imitation_ros.record.synthetic import image_cdr, joint_state_cdr

    now = time.time_ns()
    out = [(f'/{c}/image_raw', 30.0, image_cdr(now, height, width, fill=i * 40))
           for i, c in enumerate(CAMS)]
    out.append(('/joint_states', 500.0, joint_state_cdr(now, JOINTS7, 0.1)))
    out.append(('/leader/joint_states', 100.0, joint_state_cdr(now, JOINTS7, 0.2)))
    return out


def _profile_yaml(width: int, height: int) -> str:
    cams = '\n'.join(
        f'  {c}: {{topic: /{c}/image_raw, type: sensor_msgs/msg/Image, height: {height}, '
        f'width: {width}, expected_hz: 30}}' for c in CAMS)
    return (f'name: bench_arm\nfps: 30\njoints:\n  names: {JOINTS7}\n'
            f'  lower_rad: {[-3.0] * 7}\n  upper_rad: {[3.0] * 7}\n'
            'state: {topic: /joint_states, type: sensor_msgs/msg/JointState, expected_hz: 500}\n'
            'action: {topic: /leader/joint_states, type: sensor_msgs/msg/JointState, '
            'expected_hz: 100}\n'
            f'cameras:\n{cams}\n')


def _schedule(streams: list[tuple[str, float, bytes]], seconds: float):  # noqa: ANN202
    """Yield (offset_ns, topic, data) in time order for ``seconds``."""
    events = []
    for topic, hz, data in streams:
        n = int(seconds * hz)
        events += [(int(i * 1e9 / hz), topic, data) for i in range(n)]
    events.sort(key=lambda e: e[0])
    return events


# ------------------------------------------------------------------------------ publisher
def run_publisher(args: argparse.Namespace) -> int:
    """Publisher process: the load in real time; writes the stamps it sent to args.sent."""
    from imitation_ros import graph
    from imitation_ros.graph import Node, msg_type, qos_profile
    from imitation_ros.record.synthetic import restamp

    graph.init([sys.argv[0]])
    node = Node('bench_publisher')
    streams = _streams(args.width, args.height)
    pubs = {}
    for topic, _hz, _data in streams:
        kind = 'sensor_data' if 'image' in topic else 'reliable'
        mtype = 'sensor_msgs/msg/Image' if 'image' in topic else 'sensor_msgs/msg/JointState'
        pubs[topic] = node.create_publisher(msg_type(mtype), topic, qos_profile(kind))
    data = {t: d for t, _h, d in streams}
    sent: dict[str, list[int]] = {t: [] for t in pubs}
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))
    period = {t: int(1e9 / h) for t, h, _d in streams}
    t0 = time.monotonic_ns() + 200_000_000
    due = {t: t0 for t in pubs}
    end = t0 + int(args.seconds * 1e9)
    late_ns = 0
    while not stop[0]:
        topic = min(due, key=due.__getitem__)
        when = due[topic]
        if when >= end:
            break
        wait = when - time.monotonic_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        else:
            late_ns = max(late_ns, -wait)
        now = time.time_ns()
        pubs[topic].publish(restamp(data[topic], now))
        sent[topic].append(now)
        due[topic] = when + period[topic]
    Path(args.sent).write_text(json.dumps({'sent': sent, 'max_late_s': late_ns / 1e9}))
    node.destroy_node()
    graph.try_shutdown()
    return 0


# ------------------------------------------------------------------------------ live
def _cpu_s(pid: int) -> float:
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _call(node, client, request, timeout_s: float = 20.0):  # noqa: ANN001, ANN202
    from imitation_ros.graph import spin_once

    fut = client.call_async(request)
    end = time.monotonic() + timeout_s
    while not fut.done() and time.monotonic() < end:
        spin_once(node, timeout_sec=0.02)
    return fut.result() if fut.done() else None


def run_live(args: argparse.Namespace, work: Path) -> None:
    """Publisher + recorder processes over DDS; one episode of args.seconds."""
    from imitation_ros import graph
    from imitation_ros.graph import Node, srv_type
    from imitation_ros.record.health import header_stamp_ns

    env = dict(os.environ)
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    env.setdefault('ROS_DOMAIN_ID', str(random.randint(201, 230)))
    env['IMITATION_ROS_BACKEND'] = 'dds'
    env['PYTHONUNBUFFERED'] = '1'
    os.environ.update({k: env[k] for k in ('ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_DOMAIN_ID',
                                           'IMITATION_ROS_BACKEND')})
    profile = work / 'bench_profile.yaml'
    profile.write_text(_profile_yaml(args.width, args.height))
    out = work / 'live'
    rec = subprocess.Popen(
        [sys.executable, '-m', 'imitation_ros.nodes.recorder_node', '--ros-args',
         '-p', f'profile:={profile}', '-p', f'output_dir:={out}', '-p', 'min_free_disk_mb:=500.0',
         '-p', f'storage:={args.storage}', '-p', f'compression:={args.compression}'],
        env=env, stdout=(work / 'recorder.log').open('w'), stderr=subprocess.STDOUT)
    sent_file = work / 'sent.json'
    total_s = args.seconds + 6.0
    pub = subprocess.Popen(
        [sys.executable, __file__, '--role', 'publisher', '--sent', str(sent_file),
         '--seconds', str(total_s), '--width', str(args.width), '--height', str(args.height)],
        env=env, stdout=(work / 'publisher.log').open('w'), stderr=subprocess.STDOUT)
    graph.init([sys.argv[0]])
    node = Node('bench_operator')
    trigger, setbool = srv_type('std_srvs/srv/Trigger'), srv_type('std_srvs/srv/SetBool')
    start_cli = node.create_client(trigger, '/recorder/start_episode')
    stop_cli = node.create_client(setbool, '/recorder/stop_episode')
    try:
        if not start_cli.wait_for_service(timeout_sec=60):
            print('live: recorder did not come up; see', work / 'recorder.log')
            return
        time.sleep(2.0)                       # discovery of the publisher's topics
        res = _call(node, start_cli, trigger.Request())
        t_start = time.time_ns()
        cpu0, wall0 = _cpu_s(rec.pid), time.monotonic()
        print(f'live: episode started ({res.message if res else "no answer"}); '
              f'{args.seconds:g} s ...', flush=True)
        time.sleep(args.seconds)
        t_stop = time.time_ns()
        cpu1, wall1 = _cpu_s(rec.pid), time.monotonic()
        req = setbool.Request()
        req.data = True
        res = _call(node, stop_cli, req)
        print(f'live: {res.message if res else "stop: no answer"}', flush=True)
    finally:
        node.destroy_node()
        graph.try_shutdown()
        rec.send_signal(signal.SIGINT)
        rc = rec.wait(timeout=120)
        pub.send_signal(signal.SIGINT)
        pub.wait(timeout=60)
    if rc != 0:
        print(f'live: recorder exited with {rc}; see {work / "recorder.log"}')
    info = json.loads(sent_file.read_text())
    sent = info['sent']
    from rosbags.highlevel import AnyReader

    [bag] = list(out.iterdir())
    got: dict[str, set[int]] = {t: set() for t in sent}
    nbytes = 0
    with AnyReader([bag]) as reader:
        conns = [c for c in reader.connections if c.topic in sent]
        for conn, t_ns, raw in reader.messages(conns):
            got[conn.topic].add(header_stamp_ns(raw))
            if t_start <= t_ns <= t_stop:
                nbytes += len(raw)
    lo, hi = t_start + 200_000_000, t_stop - 500_000_000     # margins for transport latency
    dropped = total = 0
    per = []
    for topic in sorted(sent):
        want = [t for t in sent[topic] if lo <= t <= hi]
        miss = sum(1 for t in want if t not in got[topic])
        dropped += miss
        total += len(want)
        per.append(f'{topic} {miss}/{len(want)}')
    wall = wall1 - wall0
    offered = sum(len(d) * hz for _t, hz, d in _streams(args.width, args.height)) / MB
    pub_rate = sum(1 for t in sent for s in sent[t] if t_start <= s <= t_stop) / wall
    nominal = sum(hz for _t, hz, _d in _streams(args.width, args.height))
    health = json.loads((bag / 'health.json').read_text())['topics']
    est = sum(h['est_dropped'] for h in health.values())
    print(f'live messages dropped: {dropped} of {total} published during the episode '
          f'({"; ".join(per)}) | recorder health est. dropped (gaps) {est}')
    print(f'live recorder CPU: {100 * (cpu1 - cpu0) / wall:.0f} % of one core '
          f'({os.cpu_count()} cores on this machine)')
    print(f'live throughput: recorded {nbytes / MB / wall:.1f} MB/s | offered nominal '
          f'{offered:.1f} MB/s | {nbytes / MB / wall / offered:.2f}x | cpu')
    print(f'live publisher: {pub_rate:.0f} msg/s of nominal {nominal:.0f} msg/s, '
          f'max lateness {info["max_late_s"] * 1e3:.0f} ms')
    print(f'live bag: {bag} ({args.storage}, compression {args.compression})')


# ------------------------------------------------------------------------------ offline
def run_offline(args: argparse.Namespace, work: Path) -> None:
    """Same messages through RecordingSession and through rosbags Writer alone."""
    from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

    from imitation_ros.messages import typestore
    from imitation_ros.profile import load_profile
    from imitation_ros.record import RecorderConfig, RecordingSession

    streams = _streams(args.width, args.height)
    events = _schedule(streams, args.offline_seconds)
    total = sum(len(d) for _o, _t, d in events) / MB
    types = {t: ('sensor_msgs/msg/Image' if 'image' in t else 'sensor_msgs/msg/JointState')
             for t, _h, _d in streams}
    t0 = time.time_ns()
    profile = work / 'bench_profile.yaml'
    profile.write_text(_profile_yaml(args.width, args.height))
    plugin = StoragePlugin.MCAP if args.storage == 'mcap' else StoragePlugin.SQLITE3

    def rosbags_alone() -> float:
        path = work / 'offline_rosbags'
        writer = Writer(path, version=9, storage_plugin=plugin)
        if args.compression == 'zstd':
            writer.set_compression(CompressionMode.STORAGE if args.storage == 'mcap'
                                   else CompressionMode.MESSAGE, CompressionFormat.ZSTD)
        tic = time.perf_counter()
        writer.open()
        conns = {t: writer.add_connection(t, mt, typestore=typestore())
                 for t, mt in types.items()}
        for off, topic, data in events:
            writer.write(conns[topic], t0 + off, data)
        writer.close()
        took = time.perf_counter() - tic
        shutil.rmtree(path)
        return took

    def recorder_core() -> float:
        cfg = RecorderConfig(output_dir=str(work / 'offline_recorder'), storage=args.storage,
                             compression=args.compression, min_free_disk_mb=500.0)
        tic = time.perf_counter()
        session = RecordingSession(cfg, load_profile(profile))
        session.open(t0)
        session.start_episode(t0)
        next_tick = t0
        for off, topic, data in events:
            t = t0 + off
            session.on_message(topic, t, data)
            if t >= next_tick:
                session.tick(t)
                next_tick = t + 100_000_000
        session.stop_episode(t0 + events[-1][0] + 1, success=True)
        session.close(t0 + events[-1][0] + 2)
        took = time.perf_counter() - tic
        shutil.rmtree(work / 'offline_recorder')
        return took

    base, core = [], []
    for _ in range(args.repeat):          # alternate, keep the median of each
        base.append(rosbags_alone())
        core.append(recorder_core())
    base_s, core_s = sorted(base)[len(base) // 2], sorted(core)[len(core) // 2]
    print(f'offline throughput ({args.offline_seconds:g} s of load, {total:.0f} MB, '
          f'{len(events)} messages, median of {args.repeat}): recorder core {total / core_s:.0f} MB/s | rosbags Writer '
          f'alone {total / base_s:.0f} MB/s | {base_s / core_s:.2f}x | cpu')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=60.0, help='live episode length (s)')
    parser.add_argument('--offline-seconds', type=float, default=10.0,
                        help='seconds of load written offline by each writer')
    parser.add_argument('--repeat', type=int, default=3,
                        help='offline runs per writer (the median is printed)')
    parser.add_argument('--quick', action='store_true',
                        help='8 s live, 3 s offline, 320x240 cameras')
    parser.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap')
    parser.add_argument('--compression', choices=('none', 'zstd'), default='none')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--skip-live', action='store_true')
    parser.add_argument('--keep', action='store_true', help='keep the recorded bag')
    parser.add_argument('--skip-offline', action='store_true')
    parser.add_argument('--role', default='main', help=argparse.SUPPRESS)
    parser.add_argument('--sent', default='', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == 'publisher':
        return run_publisher(args)
    if args.quick:
        args.seconds, args.offline_seconds, args.width, args.height = 8.0, 3.0, 320, 240
    work = Path(tempfile.mkdtemp(prefix='bench_recorder_'))
    print(f'bench_recorder: {args.width}x{args.height} x3 @30 Hz + 7 joints @500 Hz + teleop '
          f'@100 Hz, {args.storage}/{args.compression}, work dir {work}', flush=True)
    try:
        if not args.skip_offline:
            run_offline(args, work)
        if not args.skip_live:
            run_live(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work / 'live', ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
