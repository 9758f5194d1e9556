"""``imitation-ros convert BAG... --profile PROFILE --out DATASET``: bags -> LeRobotDataset."""
from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imitation_ros.data.convert import BagOutcome


def add_parser(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's type
    """Add the ``convert`` subcommand."""
    p = sub.add_parser(
        'convert', help='convert rosbag2 bags into a LeRobot dataset with a quality report',
        description=(
            'Convert bags (rosbag2 mcap or sqlite3: the recorder\'s or plain `ros2 bag '
            'record`) into one LeRobotDataset v3. Frames at a fixed fps take, per stream, the '
            'newest message stamped at or before the tick; frames with a stream older than its '
            'max_age_s are dropped and counted. A re-run converts only new or changed bags.'),
    )
    p.add_argument('bags', nargs='+', metavar='BAG', help='bag directories')
    p.add_argument('--profile', required=True, help='robot profile YAML (e.g. config/so_arm.yaml)')
    p.add_argument('--out', required=True, help='dataset folder (created or updated)')
    p.add_argument('--fps', type=float, default=None, help='frame rate, Hz (default: profile)')
    p.add_argument('--stamp', choices=('header', 'receive'), default=None,
                   help='align on header stamps or receive times (default: profile)')
    p.add_argument('--action-shift-s', type=float, default=None,
                   help='read the action at t + shift, s (default: profile action.shift_s)')
    p.add_argument('--keep-failed', action='store_true',
                   help='also write failed, discarded and unfinished episodes (flagged in '
                        'the report)')
    p.add_argument('--split-topic', default=None,
                   help='Joy topic cutting bags without episode events (episode = button held)')
    p.add_argument('--split-button', type=int, default=None, help='button index on that topic')
    p.add_argument('-j', '--jobs', type=int, default=1, help='bags converted in parallel')
    p.add_argument('--vcodec', default='libsvtav1', help='video codec (lerobot: libsvtav1, '
                   'h264, hevc)')
    p.add_argument('--streaming-encoding', action='store_true',
                   help='feed frames straight to lerobot\'s video encoder (no PNG round trip; '
                        'about 2x faster)')
    p.add_argument('--image-threads', type=int, default=0,
                   help='threads writing PNG frames before video encoding (default 0)')
    p.add_argument('--repo-id', default=None, help='dataset repo id (default local/<out name>)')
    p.add_argument('--force', action='store_true', help='reconvert bags already converted')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the conversion; exit 0 when every bag converted, 1 when any failed."""
    from tqdm import tqdm

    from imitation_ros.data.convert import ConvertOptions, convert_bags
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import resolve_config

    os.environ.setdefault('SVT_LOG', '2')   # libsvtav1: warnings and errors only
    profile = load_profile(resolve_config(args.profile))
    opts = ConvertOptions(
        fps=args.fps, stamp_source=args.stamp, action_shift_s=args.action_shift_s,
        keep_failed=args.keep_failed, split_topic=args.split_topic,
        split_button=args.split_button, jobs=args.jobs, vcodec=args.vcodec,
        streaming_encoding=args.streaming_encoding, image_writer_threads=args.image_threads,
        repo_id=args.repo_id, force=args.force,
    )
    bar = tqdm(total=len(args.bags), unit='bag', desc='convert', file=sys.stderr)

    def progress(o: BagOutcome) -> None:
        bar.update(1)
        if o.status == 'failed':
            tqdm.write(f'FAILED {o.error}', file=sys.stderr)
        else:
            tqdm.write(f'{o.status:9s} {o.bag}: {o.episodes} episode(s), {o.frames} frames'
                       + (f' in {o.seconds:.1f} s' if o.status == 'converted' else ''),
                       file=sys.stderr)

    try:
        summary = convert_bags(args.bags, profile, args.out, opts, progress=progress)
    finally:
        bar.close()
    state = 'unchanged (all bags already converted)' if summary.unchanged else 'written'
    print(f'{summary.out}: {state}; {summary.episodes} episode(s), {summary.frames} frames')
    print(f'quality report: {summary.report_json} and {summary.report_png}')
    if summary.failed:
        print(f'{len(summary.failed)} bag(s) failed:', file=sys.stderr)
        for o in summary.failed:
            print(f'  {o.error}', file=sys.stderr)
        return 1
    return 0
