"""``imitation-ros``: one command line for the offline side of the suite.

Each subcommand lives in its own module ``imitation_ros.cli.<module>`` that defines
``add_parser(subparsers)`` (adds its parser and sets ``func``) and is imported only when the
command line is built, so ``imitation-ros --help`` stays fast and torch is never imported by
commands that do not train.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from imitation_ros import __version__
from imitation_ros.errors import ImitationRosError

#: (module under imitation_ros.cli) in the order they appear in --help.
SUBCOMMAND_MODULES = (
    'convert',
    'import_json',
    'train',
    'eval_offline',
    'eval_sim',
    'bag',
    'sim',
    'sim_demos',
    'dagger',
    'review',
    'launch',
    'demo',
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog='imitation-ros',
        description='Teach a ROS 2 arm by demonstration: record, convert, train, evaluate.',
    )
    parser.add_argument('--version', action='version', version=f'imitation_ros {__version__}')
    parser.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f'imitation_ros.cli.{name}')
        except ModuleNotFoundError as err:
            if err.name == f'imitation_ros.cli.{name}':
                continue  # subcommand not built in this version
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``imitation-ros``; returns the process exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # `name:=value` launch / ROS arguments may follow options (`launch f --print a:=1`).
        if isinstance(getattr(args, 'args', None), list) and all(':=' in e for e in extra):
            args.args += extra
        else:
            parser.error(f'unrecognized arguments: {" ".join(extra)}')
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format='%(levelname)s %(name)s: %(message)s',
        stream=sys.stderr,
    )
    if not getattr(args, 'func', None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ImitationRosError as err:
        print(f'imitation-ros {args.command}: error: {err}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f'imitation-ros {args.command}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
