"""``imitation-ros demo``: the whole loop on the simulated arm, step by step.

1. record: ``imitation-ros launch sim_record`` — sim, scripted expert and recorder as
   separate processes talking over DDS; the recorder writes one rosbag2 (mcap) bag;
2. convert: the bag into a LeRobot dataset (+ quality report);
3. train: a policy (BC with the camera by default) on the dataset;
4. eval-offline: action error on held-out episodes (+ plot);
5. eval-sim: the trained policy deployed on the graph, closed loop: ``sim_node`` and
   ``policy_node`` run as processes over DDS, as on a robot (``--eval in-process`` runs the
   node's controller in this process instead: faster, the sim still runs while the policy
   infers), and the success rate is counted from ``/sim/success``, beside blind replay of the
   demos' mean actions and the scripted expert on the same seeds.

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
                   help='training steps (default: bc 600 with the camera, 2000 state only; '
                        'act and diffusion: see CPU_PRESETS)')
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
    p.add_argument('--eval', default='node', choices=['node', 'in-process'],
                   help='node (default): sim_node + policy_node processes on the graph; '
                        'in-process: the same controller in one process, latency-faithful')
    p.add_argument('--fresh', action='store_true', help='delete OUT first and redo every step')
    p.add_argument('--train-arg', action='append', default=[], metavar='ARG',
                   help='extra argument for `imitation-ros train` (repeatable)')
    p.set_defaults(func=_run)


#: ACT and Diffusion train with the presets measured to learn the camera task on a CPU
#: (config/train_<policy>_cpu.yaml, bench/bench_vision.py): preset, batch size, default steps.
CPU_PRESETS: dict[str, tuple[str, int, int]] = {
    'act': ('train_act_cpu', 16, 400),
    'diffusion': ('train_diffusion_cpu', 32, 800),
}


def _step(title: str, argv: list[str], log: dict[str, Any]) -> None:
    print(f'\n=== {title}\n$ imitation-ros {" ".join(argv)}', flush=True)
    t0 = time.monotonic()
    rc = subprocess.call([sys.executable, '-m', 'imitation_ros.cli.main', *argv])  # noqa: S603
    log[title] = {'seconds': round(time.monotonic() - t0, 1), 'exit_code': rc}
    if rc != 0:
        msg = f'step {title!r} failed with exit code {rc}'
        raise SystemExit(msg)


def _eval_sim(train: Path, dataset: Path, args: argparse.Namespace, out: Path,
              log: dict[str, Any]) -> dict[str, Any]:
    """Closed-loop success of the policy, blind replay and the expert on the same seeds."""
    from imitation_ros.sim.task_eval import held_out_seeds

    seeds = held_out_seeds(args.eval_episodes)
    result_file = out / 'eval_sim.json'
    how = (['--timing', 'none', '--through-node', '--node-logs', str(out / 'eval_nodes')]
           if args.eval == 'node' else ['--timing', 'faithful'])
    _step('eval-sim', ['eval-sim', str(train), '--task', args.task, '--episodes',
                       str(args.eval_episodes), '--first-seed', str(seeds.start), *how,
                       '--baselines', '--dataset', str(dataset), '--json', str(result_file)],
          log)
    res = json.loads(result_file.read_text())
    return {'evaluation': res['headline'], 'success_rate': res['success_rate'],
            'successes': res['successes'], 'episodes': res['episodes'],
            'blind_replay_success_rate': res['blind_replay']['success_rate'],
            'expert_success_rate': res['expert']['success_rate']}


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    if args.fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    bags, dataset, train = out / 'bags', out / 'dataset', out / 'train'
    preset = CPU_PRESETS.get(args.policy)
    steps = args.steps or (preset[2] if preset else 2000 if args.state_only else 600)
    log: dict[str, Any] = {}
    if not any(bags.glob('*/metadata.yaml')):
        _step('record', ['launch', 'sim_record', f'episodes:={args.episodes}',
                         f'output_dir:={bags}', f'task:={args.task}'], log)
    if not (dataset / 'meta' / 'info.json').is_file():
        _step('convert', ['convert', *map(str, sorted(bags.glob('*/'))), '--profile',
                          'sim_arm', '--out', str(dataset)], log)
    if not (train / 'checkpoints' / 'last').exists():
        batch = args.batch_size or (preset[1] if preset else None)
        extra = ['--batch-size', str(batch)] if batch else []
        if preset:
            extra += ['--config', preset[0]]
        extra += ['--state-noise', str(args.state_noise)]
        if args.state_only:
            extra += ['--inputs', 'state']
        _step('train', ['train', '--dataset', str(dataset), '--policy', args.policy,
                        '--output', str(train), '--steps', str(steps), *extra,
                        *args.train_arg], log)
    _step('eval-offline', ['eval-offline', '--checkpoint', str(train), '--dataset', str(dataset)], log)
    result = _eval_sim(train, dataset, args, out, log)
    summary = {'out': str(out), 'policy': args.policy, 'task': args.task,
               'demos': args.episodes, 'train_steps': steps,
               'inputs': 'state' if args.state_only else 'state + camera',
               'evaluation': result['evaluation'],
               'success_rate': result['success_rate'], 'eval_episodes': result['episodes'],
               'blind_replay_success_rate': result['blind_replay_success_rate'],
               'expert_success_rate': result['expert_success_rate'], 'steps': log}
    (out / 'summary.json').write_text(json.dumps(summary, indent=2))
    print(f'\n=== demo done: {args.policy} from {args.episodes} demos -> success rate '
          f'{result["successes"]}/{result["episodes"]} = {result["success_rate"]:.0%} on '
          f'{args.task}, {result["evaluation"].replace("_", " ")} (blind replay '
          f'{result["blind_replay_success_rate"]:.0%}, scripted expert '
          f'{result["expert_success_rate"]:.0%}, same seeds)\n'
          f'    everything is in {out} (summary.json, dataset/quality/report.png, '
          f'train/loss.png, train/eval/)')
    if result['success_rate'] <= result['blind_replay_success_rate']:
        print('    note: blind replay of the demos does as well as the policy on these seeds, '
              'so this success rate does not show that the policy learned to use what it sees')
    return 0
