"""``imitation-ros demo``: the whole loop on the simulated arm, step by step.

1. record: ``imitation-ros launch sim_record`` — sim, scripted expert and recorder as
   separate processes talking over DDS; the recorder writes one rosbag2 (mcap) bag;
2. convert: the bag into a LeRobot dataset (+ quality report);
3. train: a policy (BC with the camera by default) on the dataset;
4. eval-offline: action error on held-out episodes (+ plot);
5. eval-sim: the trained policy driving the simulated arm, closed loop: the success rate,
   beside blind replay of the demos' mean actions and the scripted expert on the same seeds.

The task is ``lift_cube_wide`` by default: the cube lies anywhere in a 12 x 12 cm square,
so the policy has to see it (blind replay and joint-state-only policies mostly miss);
``--task lift_cube`` is the easy smoke test.

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
    p.add_argument('--steps', type=int, default=None,
                   help='training steps (default: 2500 with the camera, 2000 state only)')
    p.add_argument('--task', default='lift_cube_wide', choices=['lift_cube_wide', 'lift_cube'],
                   help='lift_cube_wide (default: the cube anywhere in 12 x 12 cm; needs the '
                        'camera) or lift_cube (easy smoke test, cube +-2 cm)')
    p.add_argument('--state-only', action='store_true',
                   help='train on joint state only (no camera): seconds on a CPU, enough for '
                        'lift_cube, mostly misses on lift_cube_wide')
    p.add_argument('--images', action='store_true', help=argparse.SUPPRESS)  # now the default
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


def _eval_sim(train: Path, dataset: Path, task: str, episodes: int, result_file: Path,
              log: dict[str, Any]) -> dict[str, Any]:
    """Closed-loop success of the policy, blind replay and the expert on the same seeds."""
    from imitation_ros.sim.arm import task_sim_config
    from imitation_ros.sim.task_eval import (
        EVALUATION,
        evaluate_baselines,
        evaluate_checkpoint_on_task,
        held_out_seeds,
    )

    print(f'\n=== eval-sim ({task}; {EVALUATION})', flush=True)
    t0 = time.monotonic()
    seeds = held_out_seeds(episodes)
    sim_cfg = task_sim_config(task)
    summary = evaluate_checkpoint_on_task(train, sim_cfg, seeds)
    base = evaluate_baselines(dataset, sim_cfg, seeds)
    log['eval-sim'] = {'seconds': round(time.monotonic() - t0, 1), 'exit_code': 0}
    print(f'success rate: {summary.successes}/{summary.n} = {summary.success_rate:.0%} '
          f'(seeds {seeds.start}..{seeds.stop - 1}); blind replay {base.blind.successes}/'
          f'{base.blind.n}, scripted expert {base.expert.successes}/{base.expert.n}')
    result = {'checkpoint': str(train), 'task': task, 'evaluation': EVALUATION,
              'success_rate': summary.success_rate, 'successes': summary.successes,
              'episodes': summary.n, 'blind_replay_success_rate': base.blind.success_rate,
              'expert_success_rate': base.expert.success_rate,
              'results': [{'seed': r.seed, 'success': r.success, 'max_lift_m': r.max_lift_m,
                           'clamped': r.clamped} for r in summary.results]}
    result_file.write_text(json.dumps(result, indent=2))
    return result


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    if args.fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    bags, dataset, train = out / 'bags', out / 'dataset', out / 'train'
    steps = args.steps or (2000 if args.state_only else 2500)
    log: dict[str, Any] = {}
    if not any(bags.glob('*/metadata.yaml')):
        _step('record', ['launch', 'sim_record', f'episodes:={args.episodes}',
                         f'output_dir:={bags}', f'task:={args.task}'], log)
    if not (dataset / 'meta' / 'info.json').is_file():
        _step('convert', ['convert', *map(str, sorted(bags.glob('*/'))), '--profile',
                          'sim_arm', '--out', str(dataset)], log)
    if not (train / 'checkpoints' / 'last').exists():
        extra = ['--batch-size', str(args.batch_size)] if args.batch_size else []
        extra += ['--state-noise', str(args.state_noise)]
        if args.state_only:
            extra += ['--inputs', 'state']
        _step('train', ['train', '--dataset', str(dataset), '--policy', args.policy,
                        '--output', str(train), '--steps', str(steps), *extra,
                        *args.train_arg], log)
    _step('eval-offline', ['eval-offline', '--checkpoint', str(train), '--dataset', str(dataset)], log)
    result_file = out / 'eval_sim.json'
    result = _eval_sim(train, dataset, args.task, args.eval_episodes, result_file, log)
    summary = {'out': str(out), 'policy': args.policy, 'task': args.task,
               'demos': args.episodes, 'train_steps': steps,
               'inputs': 'state' if args.state_only else 'state + camera',
               'success_rate': result['success_rate'], 'eval_episodes': result['episodes'],
               'blind_replay_success_rate': result['blind_replay_success_rate'],
               'expert_success_rate': result['expert_success_rate'], 'steps': log}
    (out / 'summary.json').write_text(json.dumps(summary, indent=2))
    print(f'\n=== demo done: {args.policy} from {args.episodes} demos -> success rate '
          f'{result["successes"]}/{result["episodes"]} = {result["success_rate"]:.0%} on '
          f'{args.task} (blind replay {result["blind_replay_success_rate"]:.0%}, scripted '
          f'expert {result["expert_success_rate"]:.0%}, same seeds)\n'
          f'    everything is in {out} (summary.json, dataset/quality/report.png, '
          f'train/loss.png, train/eval/)')
    return 0
