"""``imitation-ros bag recover PATH`` and ``imitation-ros bag info PATH``."""
from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add ``bag`` with its ``recover`` and ``info`` subcommands."""
    parser = subparsers.add_parser('bag', help='inspect or repair rosbag2 bags')
    sub = parser.add_subparsers(dest='bag_command', metavar='ACTION', required=True)
    rec = sub.add_parser(
        'recover', help='make a bag left open by a crash (kill -9) complete and readable')
    rec.add_argument('path', help='bag directory (holds metadata.yaml and the .mcap / .db3)')
    rec.add_argument('--keep-original', action='store_true',
                     help='keep the broken mcap as <name>.mcap.unrecovered')
    rec.add_argument('--force', action='store_true', help='rewrite even a closed bag')
    rec.add_argument('--json', action='store_true', help='print the report as JSON')
    rec.set_defaults(func=_recover)
    info = sub.add_parser('info', help='topics, episodes and recording health of a bag')
    info.add_argument('path', help='bag directory')
    info.add_argument('--json', action='store_true', help='print JSON')
    info.set_defaults(func=_info)


def _recover(args: argparse.Namespace) -> int:
    from imitation_ros.record.recover import recover_bag

    report = recover_bag(args.path, keep_original=args.keep_original, force=args.force)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    if report.was_closed and not args.force:
        print(f'{report.bag}: closed properly, nothing to recover '
              f'({report.messages_kept} messages)')
        return 0
    print(f'{report.bag}: recovered ({report.storage})')
    print(f'  messages kept: {report.messages_kept}'
          + (f' (last metadata snapshot said {report.snapshot_messages})'
             if report.snapshot_messages is not None else ''))
    for topic, n in sorted(report.per_topic.items()):
        print(f'    {topic}: {n}')
    if report.storage == 'mcap':
        print(f'  complete chunks: {report.chunks_kept}, '
              f'bytes dropped at the end: {report.bytes_discarded}')
    if report.messages_unknown_channel:
        print(f'  messages of unknown channels dropped: {report.messages_unknown_channel}')
    if report.closed_episode is not None:
        print(f'  episode {report.closed_episode} was open: closed with STOP (success false)')
    for note in report.notes:
        print(f'  note: {note}')
    return 0


def _info(args: argparse.Namespace) -> int:
    from imitation_ros.record.info import bag_summary

    summary = bag_summary(args.path)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    print(f'bag: {summary["bag"]}  storage: {summary.get("storage")}  '
          f'closed: {"yes" if summary["closed"] else "NO"}')
    print(f'messages: {summary.get("message_count")}  duration: {summary.get("duration_s")} s')
    if summary.get('hint'):
        print(summary['hint'])
    print('topics:')
    for topic, t in sorted((summary.get('topics') or {}).items()):
        print(f'  {topic:40s} {t["type"]:40s} {t["count"]:>8}')
    episodes = summary.get('episodes') or []
    print(f'episodes: {len(episodes)} '
          f'({sum(1 for e in episodes if e.get("kept"))} kept)')
    for ep in episodes:
        state = ('kept' if ep.get('kept') else 'dropped') if ep.get('kept') is not None else '?'
        ok = 'success' if ep.get('success') else 'failure'
        print(f'  #{ep.get("index")}: {state}, {ok}, {ep.get("duration_s")} s, '
              f'frames {ep.get("frames")}, task {ep.get("task")!r}, {ep.get("reason")!r}')
    health = summary.get('health') or {}
    if health:
        print('health (whole session):')
        for topic, h in sorted(health.items()):
            print(f'  {topic:40s} count {h["count"]:>7}  gaps {h["gaps"]:>4}  '
                  f'est. dropped {h["est_dropped"]:>5}  late {h["late"]:>5}  '
                  f'max gap {h["max_gap_s"]} s')
    return 0
