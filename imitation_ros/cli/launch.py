"""``imitation-ros launch FILE [name:=value ...]``: a launch file's nodes, without ROS 2."""
from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``launch`` subcommand."""
    p = sub.add_parser(
        'launch',
        help="run one of the package's launch files without ROS 2 (nodes on the DDS backend)",
        description='Run a launch file of imitation_ros without ROS 2: each node becomes a '
                    'process on the DDS backend, with the arguments `ros2 launch` would pass. '
                    'With ROS 2 sourced, use `ros2 launch imitation_ros FILE` instead.',
    )
    p.add_argument('file', help='launch file path or name under launch/ (record, sim, ...)')
    p.add_argument('args', nargs='*', metavar='name:=value', help='launch arguments')
    p.add_argument('--print', dest='dry_run', action='store_true',
                   help='print the node command lines and exit')
    p.add_argument('--show-args', action='store_true', help='list the launch arguments')
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from imitation_ros.cli import launcher

    path = launcher.find_launch_file(args.file)
    desc = launcher.load_description(path)
    if args.show_args:
        for ent in desc.entities:
            if isinstance(ent, launcher.DeclareLaunchArgument):
                default = launcher._resolve(ent.default_value, {}) if ent.default_value \
                    is not None else '(required)'
                print(f'{ent.name}:={default}\n    {ent.description}')
        return 0
    procs = launcher.plan(desc, launcher.parse_launch_args(args.args))
    if args.dry_run:
        for proc in procs:
            print(shlex.join(proc.argv))
        return 0
    print(f'[launch] {path} ({len(procs)} nodes)', file=sys.stderr)
    return launcher.run_processes(procs)
