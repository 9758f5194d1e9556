"""``imitation-ros demo``: the whole loop on the simulated arm, step by step.

1. record: ``imitation-ros launch sim_record`` — sim, scripted expert and recorder as
   separate processes talking over DDS; the recorder writes one rosbag2 (mcap) bag;
2. convert: the bag into a LeRobot dataset (+ quality report);
3. train: a policy (BC by default) on the dataset;
4. eval-offline: action error on held-out episodes (+ plot);
5. eval-sim: the trained policy driving the simulated arm, closed loop: the success rate.

Each step is the same command a user would type, run as a subprocess, and is skipped when
its output already exists (``--fresh`` redoes everything). A summary lands in
``OUT/summary.json``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser('demo', help='record, convert, train and evaluate on the simulated arm',
                       description=__doc__.split('\n\n', 1)[1] if __doc__ else None,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default='runs/demo', help='folder of everything the demo makes')
    p.add_argument('--episodes', type=int, default=30, help='demonstrations to record')
    p.add_argument('--policy', default='bc', choices=['bc', 'act', 'diffusion'])
    p.add_argument('--steps', type=int, default=2000, help='training steps')
    p.add_argument('--images', action='store_true',
                   help='let the policy see the camera too (default: joint state only, which '
                        'this task needs and a CPU trains in seconds; image policies take '
                        'many minutes on a CPU)')
    p.add_argument('--state-noise', type=float, default=0.05,
                   help='training state noise, rad (0.05 measured best on this task)')
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--eval-episodes', type=int, default=20, help='closed-loop test episodes')
    p.add_argument('--fresh', action='store_true', help='delete OUT first and redo every step')
    p.add_argument('--train-arg', action='append', default=[], metavar='ARG',
                   help='extra argument for `imitation-ros train` (repeatable)')
    p.set_defaults(func=_run)


def _step(title: str, argv: list[str], log: dict[str, Any]) -> None:
    print(f'\n=== {title}\n$ imitation-ros {" ".join(argv)}', flush=True)
    t0 = time.monotonic()
    rc = subprocess.call([sys.executable, '-m', 'imitation_ros.cli.main', *argv])  # noqa: S603
    log[title] = {'seconds': round(time.monotonic() - t0, 1), 'exit_code': rc}
    if rc != 0:
        msg = f'step {title!r} failed with exit code {rc}'
        raise SystemExit(msg)


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    if args.fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    bags, dataset, train = out / 'bags', out / 'dataset', out / 'train'
    log: dict[str, Any] = {}
    if not any(bags.glob('*/metadata.yaml')):
        _step('record', ['launch', 'sim_record', f'episodes:={args.episodes}',
                         f'output_dir:={bags}'], log)
    if not (dataset / 'meta' / 'info.json').is_file():
        _step('convert', ['convert', *map(str, sorted(bags.glob('*/'))), '--profile',
                          'sim_arm', '--out', str(dataset)], log)
    if not (train / 'checkpoints' / 'last').exists():
        extra = ['--batch-size', str(args.batch_size)] if args.batch_size else []
        extra += ['--state-noise', str(args.state_noise)]
        if not args.images:
            extra += ['--inputs', 'state']
        _step('train', ['train', '--dataset', str(dataset), '--policy', args.policy,
                        '--output', str(train), '--steps', str(args.steps), *extra,
                        *args.train_arg], log)
    _step('eval-offline', ['eval-offline', '--checkpoint', str(train), '--dataset', str(dataset)], log)
    result_file = out / 'eval_sim.json'
    _step('eval-sim', ['eval-sim', str(train), '--episodes', str(args.eval_episodes),
                       '--json', str(result_file)], log)
    result = json.loads(result_file.read_text())
    summary = {'out': str(out), 'policy': args.policy, 'demos': args.episodes,
               'train_steps': args.steps, 'success_rate': result['success_rate'],
               'eval_episodes': result['episodes'], 'steps': log}
    (out / 'summary.json').write_text(json.dumps(summary, indent=2))
    print(f'\n=== demo done: {args.policy} from {args.episodes} demos -> success rate '
          f'{result["successes"]}/{result["episodes"]} = {result["success_rate"]:.0%} on the '
          f'simulated arm\n    everything is in {out} (summary.json, dataset/quality/report.png, '
          f'train/loss.png, train/eval/)')
    return 0
