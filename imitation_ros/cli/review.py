"""``imitation-ros review PATH``: look at the episodes in a browser and mark them.

``review`` serves a local page (127.0.0.1, a free port unless ``--port``) with one row per
episode (thumbnails, duration, task, success, the converter's quality figures, jerk, static
time, duration outliers, action-state lag, frames a person drove) and an episode view (every
camera in sync with the joint plots, interventions and stale frames on the timeline). Marks
(discard, success, trim, task) go to ``<dataset>.edits.json`` beside the dataset, never into
it. ``review-apply`` writes the dataset with the marks applied into a new folder.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``review`` and ``review-apply`` subcommands."""
    p = sub.add_parser('review', help='browse episodes and their quality in a browser; mark them',
                       description=__doc__.split('\n\n', 1)[1])
    p.add_argument('path', help='a converted dataset, a dagger-round output, a recorder bag or '
                                'a folder of bags')
    p.add_argument('--port', type=int, default=0, help='port (default: a free one)')
    p.add_argument('--host', default='127.0.0.1',
                   help='address to bind (default loopback; anything else exposes the data)')
    p.add_argument('--open', action='store_true', help='open the page in a browser')
    p.add_argument('--profile', help='robot profile, for bags (converted first)')
    p.add_argument('--dataset-out', help='where bags are converted (default <PATH>.review)')
    p.set_defaults(func=run)
    a = sub.add_parser('review-apply', help='write a dataset with its review marks applied',
                       description='Apply the edit file of DATASET (discard, trim, task, '
                                   'success) into a new dataset; DATASET stays untouched.')
    a.add_argument('dataset', help='the reviewed dataset (or dagger-round folder)')
    a.add_argument('--out', required=True, help='new dataset folder (must not exist)')
    a.add_argument('--edits', help='edit file (default <DATASET>.edits.json)')
    a.add_argument('--dry-run', action='store_true', help='print the marks, write nothing')
    a.set_defaults(func=apply)


def run(args: argparse.Namespace) -> int:
    """Serve the review page until Ctrl-C."""
    from imitation_ros.review.server import make_server, url_of
    from imitation_ros.review.sources import resolve_source

    src = resolve_source(args.path, profile=args.profile, dataset_out=args.dataset_out)
    server = make_server(src.root, host=args.host, port=args.port, title=src.title,
                         notes=src.notes)
    url = url_of(server)
    for note in src.notes:
        print(note)
    print(f'reviewing {src.root}; marks go to {server.review_state.edit_file}')
    print(f'open {url}  (Ctrl-C to stop)', flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def apply(args: argparse.Namespace) -> int:
    """Apply the edit file into a new dataset."""
    from pathlib import Path

    from imitation_ros.data.edits import Edits, apply_edits, edits_path
    from imitation_ros.review.sources import resolve_source

    root = resolve_source(args.dataset).root
    path = Path(args.edits) if args.edits else edits_path(root)
    if not path.is_file():
        print(f'imitation-ros review-apply: error: {path}: no edit file (mark episodes with '
              f'`imitation-ros review {args.dataset}` first)', file=sys.stderr)
        return 1
    edits = Edits.load(path, dataset=root.name)
    print(f'{path}: {len(edits.episodes)} episode(s) marked; discard {edits.discarded()}')
    for ep, marks in sorted(edits.episodes.items()):
        print(f'  episode {ep}: {json.dumps(marks)}')
    if args.dry_run:
        return 0
    summary = apply_edits(root, args.out, edits)
    print(f'{args.out}: {summary["episodes"]} episode(s); deleted {summary["deleted"]}, '
          f'trimmed {summary["trimmed"]}, task set {summary["retasked"]}, success set '
          f'{summary["relabelled"]} (old indices); {root} unchanged')
    return 0
