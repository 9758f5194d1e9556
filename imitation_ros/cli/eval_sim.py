"""``imitation-ros eval-sim``: closed-loop success rate of a checkpoint on the simulated arm."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``eval-sim`` subcommand."""
    p = sub.add_parser(
        'eval-sim', help='success rate of a trained policy on the simulated arm (closed loop)',
        description='Run a checkpoint on the simulated arm, in one process, exactly as the '
                    'policy node runs it (chunking, safety filter), and count successes.')
    p.add_argument('checkpoint', help='training output folder, checkpoint or pretrained_model')
    p.add_argument('--profile', default='sim_arm.yaml', help='robot profile (default sim_arm)')
    p.add_argument('--episodes', type=int, default=20)
    p.add_argument('--first-seed', type=int, default=10_000,
                   help='episode seeds start here (demos use seeds from 0: keep them apart)')
    p.add_argument('--duration-s', type=float, default=8.0, help='episode length, s')
    p.add_argument('--max-step-rad', type=float, default=0.1, help='safety step cap per period')
    p.add_argument('--ensemble-coeff', type=float, default=None,
                   help='ACT temporal ensembling weight (default off)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--json', dest='json_out', help='also write the results to this JSON file')
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from imitation_ros.deploy.rollout import RolloutConfig, evaluate_checkpoint
    from imitation_ros.deploy.safety import SafetyConfig
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import resolve_config

    profile = load_profile(resolve_config(args.profile))
    cfg = RolloutConfig(episodes=args.episodes, first_seed=args.first_seed,
                        duration_s=args.duration_s, device=args.device,
                        ensemble_coeff=args.ensemble_coeff,
                        safety=SafetyConfig(max_step_rad=args.max_step_rad))
    summary = evaluate_checkpoint(args.checkpoint, profile, cfg, progress=True)
    print(f'success rate: {summary.successes}/{summary.n} = {summary.success_rate:.0%} '
          f'({args.checkpoint}, seeds {args.first_seed}..{args.first_seed + args.episodes - 1})')
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({
            'checkpoint': str(args.checkpoint), 'success_rate': summary.success_rate,
            'successes': summary.successes, 'episodes': summary.n,
            'results': [{'seed': r.seed, 'success': r.success, 'max_lift_m': r.max_lift_m,
                         'clamped': r.clamped} for r in summary.results]}, indent=2))
    return 0
