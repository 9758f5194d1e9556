"""``imitation-ros import-json FILE --out DATASET``: the seed's JSON demos -> LeRobotDataset."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's type
    """Add the ``import-json`` subcommand."""
    p = sub.add_parser(
        'import-json', help='import seed JSON demonstrations into a LeRobot dataset',
        description=('Import a JSON list of episodes (observations, actions, timestamps) as '
                     'written by the seed\'s DemoCollector into a LeRobotDataset v3.'),
    )
    p.add_argument('file', help='JSON file')
    p.add_argument('--out', required=True, help='dataset folder (must not exist)')
    p.add_argument('--profile', default=None, help='robot profile (joint names, fps, task)')
    p.add_argument('--fps', type=float, default=None,
                   help='dataset fps, Hz (default: profile, else median rate of timestamps)')
    p.add_argument('--task', default=None, help='task text of every episode')
    p.add_argument('--resample', action='store_true',
                   help='align rows to ticks at fps (newest row at or before each tick) '
                        'instead of one frame per row')
    p.add_argument('--max-age-s', type=float, default=None,
                   help='with --resample: oldest row a tick may use, s (default 1.5/fps)')
    p.add_argument('--repo-id', default=None, help='dataset repo id (default local/<out name>)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the import."""
    from imitation_ros.data.json_import import import_json
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import resolve_config

    profile = load_profile(resolve_config(args.profile)) if args.profile else None
    res = import_json(args.file, args.out, fps=args.fps, task=args.task, profile=profile,
                      resample=args.resample, max_age_s=args.max_age_s, repo_id=args.repo_id)
    print(f'{res["out"]}: {res["episodes"]} episode(s), {res["frames"]} frames at '
          f'{res["fps"]:g} fps ({res["dropped"]} ticks dropped)')
    print(f'quality report: {res["report"]}')
    return 0
