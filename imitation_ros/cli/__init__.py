"""The ``imitation-ros`` command line: argparse -> cores. Never imports ``graph`` at module
level (node-running subcommands import it lazily); only this room prints."""
