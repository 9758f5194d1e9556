"""``imitation-ros eval-offline``: a checkpoint's action error on held-out episodes.

Example::

    imitation-ros eval-offline --checkpoint outputs/train/pick_cube_act --dataset data/pick_cube
"""
from __future__ import annotations

import argparse
import os


def _episodes(text: str | None) -> list[int] | None:
    from imitation_ros.errors import ConfigError

    if not text:
        return None
    try:
        return [int(x) for x in text.split(',') if x.strip()]
    except ValueError:
        msg = f'--episodes: expected indices like 3,7; got {text!r}'
        raise ConfigError(msg) from None


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval-offline`` subcommand."""
    p = subparsers.add_parser(
        'eval-offline', help="score a checkpoint's actions on held-out episodes",
        description='Teacher-forced action error per joint and a plot of predicted against '
                    'demonstrated trajectories.')
    p.add_argument('--checkpoint', required=True, help='run, checkpoint or pretrained_model dir')
    p.add_argument('--dataset', required=True, help='LeRobot dataset root')
    p.add_argument('--episodes', help="indices, e.g. 3,7 (default: the run's held-out episodes)")
    p.add_argument('--output', help='folder for metrics.json and actions.png (default <run>/eval)')
    p.add_argument('--device', default='auto', help='auto | cpu | cuda')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--cache-dir', help='frame cache location')
    p.add_argument('--no-progress', action='store_true')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``imitation-ros eval-offline``; returns the exit code."""
    import torch

    from imitation_ros.learn.evaluate import evaluate_offline

    if os.environ.get('OMP_NUM_THREADS'):
        torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    res = evaluate_offline(args.checkpoint, args.dataset, episodes=_episodes(args.episodes),
                           out_dir=args.output, device=args.device, batch_size=args.batch_size,
                           cache_dir=args.cache_dir, progress=not args.no_progress)
    print(f'episodes {res.episodes}: {res.n_frames} frames, action MAE {res.mae:.4f}')
    width = max(len(k) for k in res.mae_per_joint)
    print(f"{'joint':<{width}}  {'MAE':>8}  {'RMSE':>8}")
    for name, mae in res.mae_per_joint.items():
        print(f'{name:<{width}}  {mae:8.4f}  {res.rmse_per_joint[name]:8.4f}')
    print(f'metrics: {res.metrics_path}')
    print(f'plot: {res.plot_path}')
    return 0
