"""Recorder vs ``ros2 bag record``: frames kept per topic under the same rclpy publisher.

    source /opt/ros/jazzy/setup.bash
    ROS_DOMAIN_ID=212 python bench/bench_recorder_vs_ros2.py              # 30 s window
    ROS_DOMAIN_ID=212 python bench/bench_recorder_vs_ros2.py --seconds 8 --width 320 --height 240

Load (``bench_recorder.py``'s, the issue's): three rgb8 cameras (640x480 by default) at 30 Hz,
best effort; 7 joint states at 500 Hz and the teleop command at 100 Hz, reliable. The
publisher is the same process each time (``bench_recorder.py --role publisher`` on real
rclpy). For each recorder in turn -- ``ros2 bag record`` (mcap), our ``recorder_node`` on
rclpy, our ``recorder_node`` on the DDS backend -- the publisher runs ``--warm`` s, then a
window of ``--seconds`` s (ours record it as one episode), then 2 s more. Reported per topic:
messages published inside the window, and how many of them (by header stamp) each recorder's
bag holds. Needs ROS 2 sourced; discovery stays on loopback. Prints a table; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_recorder import _profile_yaml, _streams  # noqa: E402

RECORDERS = ('ros2 bag record', 'ours (rclpy)', 'ours (dds)')


def _env(backend: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env.setdefault('ROS_DOMAIN_ID', '212')
    env['PYTHONUNBUFFERED'] = '1'
    env['PYTHONPATH'] = str(ROOT) + os.pathsep + env.get('PYTHONPATH', '')
    env.pop('IMITATION_ROS_BACKEND', None)
    if backend:
        env['IMITATION_ROS_BACKEND'] = backend
    return env


def _popen(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=log.open('w'), stderr=subprocess.STDOUT,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_text(log: Path, needle: str, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if needle in log.read_text(errors='replace'):
            return True
        time.sleep(0.2)
    return False


def _service(env: dict[str, str], name: str, srv: str, req: str = '{}') -> str:
    res = subprocess.run(['ros2', 'service', 'call', name, srv, req], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    return res.stdout.strip().splitlines()[-1] if res.stdout.strip() else res.stderr[-300:]


def _kept(bag_dir: Path, lo: int, hi: int) -> dict[str, int]:
    from rosbags.highlevel import AnyReader

    from imitation_ros.record.health import header_stamp_ns

    bags = [p for p in bag_dir.iterdir() if p.is_dir()] if not (
        bag_dir / 'metadata.yaml').exists() else [bag_dir]
    counts: dict[str, int] = {}
    with AnyReader(bags) as reader:
        for conn, _t, raw in reader.messages():
            if conn.topic == '/episode_events':
                continue
            if lo <= header_stamp_ns(raw) <= hi:
                counts[conn.topic] = counts.get(conn.topic, 0) + 1
    return counts


def run_one(which: str, args: argparse.Namespace, work: Path) -> tuple[dict, dict]:
    """One recorder under the load; returns (published in window, kept in window) per topic."""
    work.mkdir(parents=True)
    topics = [t for t, _hz, _d in _streams(args.width, args.height)]
    out = work / 'bag'
    if which == 'ros2 bag record':
        env = _env(None)
        rec = _popen(['ros2', 'bag', 'record', '-o', str(out), *topics], env,
                     work / 'recorder.log')
        ready = 'Recording...'
    else:
        env = _env('rclpy' if 'rclpy' in which else 'dds')
        profile = work / 'profile.yaml'
        profile.write_text(_profile_yaml(args.width, args.height))
        rec = _popen([sys.executable, '-m', 'imitation_ros.nodes.recorder_node', '--ros-args',
                      '-p', f'profile:={profile}', '-p', f'output_dir:={out}',
                      '-p', 'min_free_disk_mb:=500.0'], env, work / 'recorder.log')
        ready = 'start an episode with ~/start_episode'
    if not _wait_text(work / 'recorder.log', ready, 60):
        rec.kill()
        raise SystemExit(f'{which}: not ready; see {work / "recorder.log"}')
    sent_file = work / 'sent.json'
    total = args.warm + args.seconds + 2.0
    pub = _popen([sys.executable, str(HERE / 'bench_recorder.py'), '--role', 'publisher',
                  '--sent', str(sent_file), '--seconds', str(total), '--width',
                  str(args.width), '--height', str(args.height)], _env('rclpy'),
                 work / 'publisher.log')
    time.sleep(args.warm)
    svc_env = _env(None)
    if which != 'ros2 bag record':
        print(f'  {which}: start: {_service(svc_env, "/recorder/start_episode", "std_srvs/srv/Trigger")}',
              flush=True)
    lo = time.time_ns()
    time.sleep(args.seconds)
    hi = time.time_ns()
    if which != 'ros2 bag record':
        print(f'  {which}: stop: {_service(svc_env, "/recorder/stop_episode", "std_srvs/srv/SetBool", "{data: true}")}',
              flush=True)
    pub.wait(timeout=total + 60)
    time.sleep(1.0)
    os.killpg(rec.pid, signal.SIGINT)
    try:
        rec.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(rec.pid, signal.SIGKILL)
    sent = json.loads(sent_file.read_text())['sent']
    published = {t: sum(1 for s in v if lo <= s <= hi) for t, v in sent.items()}
    return published, _kept(out, lo, hi)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=30.0, help='measured window, s')
    parser.add_argument('--warm', type=float, default=4.0, help='publishing before the window')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    args = parser.parse_args()
    try:
        import rclpy  # noqa: F401
    except ImportError:
        print('needs ROS 2 sourced (source /opt/ros/<distro>/setup.bash)')
        return 2
    work = Path(tempfile.mkdtemp(prefix='bench_rec_vs_ros2_'))
    rows: dict[str, dict[str, int]] = {}
    published: dict[str, dict[str, int]] = {}
    for which in RECORDERS:
        print(f'{which} ...', flush=True)
        published[which], rows[which] = run_one(which, args, work / which.replace(' ', '_')
                                                .replace('(', '').replace(')', ''))
    topics = sorted(next(iter(published.values())))
    print(f'\nwindow {args.seconds:g} s, cameras {args.width}x{args.height}; '
          f'kept / published in the window (same publisher, one run per recorder)')
    print(f'{"topic":24s}' + ''.join(f'{w:>26s}' for w in RECORDERS))
    for t in topics:
        cells = [f'{rows[w].get(t, 0)}/{published[w][t]} '
                 f'({100 * rows[w].get(t, 0) / max(1, published[w][t]):.1f} %)' for w in RECORDERS]
        print(f'{t:24s}' + ''.join(f'{c:>26s}' for c in cells))
    print(f'\nlogs and bags: {work}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
