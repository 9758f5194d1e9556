"""DAgger rounds through the nodes (by hand, not in CI): every round is a real session on the
graph -- sim_node, policy_node (the current checkpoint, output remapped to /policy/command),
dagger_node (gate), expert_node in takeover mode (the scripted person), recorder_node -- then
``imitation-ros dagger-round`` on the round's bag (convert with the intervention flags,
aggregate with the earlier rounds, retrain BC from scratch, evaluate in the sim).

Round 0 = BC on ``--demos`` scripted demos (in-process, like ``dagger-sim``); evaluation:
``dagger-round``'s (``eval-sim``: the policy node's controller, latency-faithful, seeds
10000..). Nodes run on the DDS backend on loopback, domain ``$ROS_DOMAIN_ID``::

    export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=161 OMP_NUM_THREADS=1
    nice -n 10 python bench/bench_dagger_nodes.py --out runs/dagger_nodes --rounds 3

Prints the per-round table (``report.md`` of the last round) and the wall time per phase.

``--baseline`` then adds the fair baseline of DAgger papers, in process: plain BC on the
round-0 demos plus fresh scripted demos (the following seeds) with at least as many frames as
the expert drove in rounds 1..r, trained and evaluated exactly as round 0; with
``--baseline-only`` it reads an earlier ``--out`` and runs only that.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if 'ROS_DOMAIN_ID' not in env:
        sys.exit('set ROS_DOMAIN_ID (and ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) first')
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env.setdefault('IMITATION_ROS_BACKEND', 'dds')
    env['PYTHONPATH'] = f'{ROOT}{os.pathsep}{env.get("PYTHONPATH", "")}'
    env['PYTHONUNBUFFERED'] = '1'
    env.setdefault('OMP_NUM_THREADS', '1')
    env.setdefault('HF_HUB_OFFLINE', '1')
    return env


def _node(env: dict[str, str], module: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, '-m', f'imitation_ros.nodes.{module}',
                             '--ros-args', *args], env=env, stdout=log.open('wb'),
                            stderr=subprocess.STDOUT)


def _stop(p: subprocess.Popen[bytes]) -> None:
    # SIGTERM (stops the nodes like SIGINT): a script started in the background with `&`
    # runs with SIGINT ignored, and its children inherit that
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def session(rdir: Path, profile: Path, checkpoint: Path, args: argparse.Namespace,
            seed: int) -> Path:
    """One round's session through the nodes; returns the bag."""
    env = _env()
    logs = rdir / 'logs'
    logs.mkdir(parents=True, exist_ok=True)
    bags = rdir / 'bags'
    prof = f'profile:={profile}'
    nodes = [
        _node(env, 'sim_node', logs / 'sim.log', '-p', prof, '-p', f'seed:={seed}'),
        _node(env, 'recorder_node', logs / 'rec.log', '-p', prof, '-p', f'output_dir:={bags}'),
        _node(env, 'policy_node', logs / 'policy.log', '-p', prof,
              '-p', f'checkpoint:={checkpoint}',
              '-p', 'device:=cpu', '-p', 'command:=forward', '-p', 'enabled:=true',
              '-r', '/forward_position_controller/commands:=/policy/command'),
        _node(env, 'dagger_node', logs / 'dagger.log', '-p', prof, '-p', f'triggers:=[{args.via}]',
              '-p', 'command:=forward', '-p', f'ramp_s:={args.ramp_s}', '-p', 'enabled:=true'),
    ]
    expert = _node(env, 'expert_node', logs / 'expert.log', '-p', prof, '-p', 'output:=leader',
                   '-p', f'takeover:={args.via}', '-p', f'episodes:={args.episodes}',
                   '-p', f'episode_timeout_s:={args.episode_s}', '-p', 'success_hold_s:=1000.0',
                   '-p', f'seed:={seed}')
    try:
        rc = expert.wait(timeout=args.episodes * (args.episode_s + 10) + 120)
    finally:
        _stop(expert)
        for p in reversed(nodes):
            _stop(p)
    if rc != 0:
        sys.exit(f'{rdir}: expert_node exited {rc}; see {logs}')
    found = sorted(p for p in bags.iterdir() if p.is_dir())
    if len(found) != 1:
        sys.exit(f'{bags}: expected one bag, found {found}')
    if 'bag closed' not in (logs / 'rec.log').read_text():
        sys.exit(f'{found[0]}: the recorder did not close the bag; see {logs / "rec.log"}')
    print((logs / 'expert.log').read_text().strip().splitlines()[-1])
    return found[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--demos', type=int, default=5)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--episodes', type=int, default=10, help='gated episodes per round')
    ap.add_argument('--episode-s', type=float, default=8.0)
    ap.add_argument('--steps', type=int, default=1000)
    ap.add_argument('--eval', type=int, default=20)
    ap.add_argument('--via', default='service', choices=('service', 'joy'))
    ap.add_argument('--ramp-s', type=float, default=0.2)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--policy-weight', type=float, default=None,
                    help='dagger-round --policy-weight (default: every frame weighs 1)')
    ap.add_argument('--baseline', action='store_true',
                    help='also plain BC with as many extra expert frames, per round')
    ap.add_argument('--baseline-only', action='store_true',
                    help='only the baseline, on the rounds already in --out')
    args = ap.parse_args()
    if args.baseline_only:
        return baseline(Path(args.out).absolute(), args)
    os.environ.setdefault('MUJOCO_GL', 'egl')
    import torch
    import yaml

    from imitation_ros.cli.main import main as cli
    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.deploy.rollout import RolloutConfig, evaluate_checkpoint
    from imitation_ros.learn.trainer import TrainConfig, train
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import config_path

    torch.set_num_threads(1)
    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    prof = yaml.safe_load(config_path('sim_arm.yaml').read_text())
    prof['cameras'] = {}
    profile = out / 'sim_arm_state.yaml'
    profile.write_text(yaml.safe_dump(prof))
    times: dict[str, float] = {}
    t = time.monotonic()
    r0 = out / 'round0'
    shutil.rmtree(r0, ignore_errors=True)
    write_sim_demos(r0 / 'dataset', episodes=args.demos, seed=args.seed * 100, images=False,
                    intervention=True, repo_id='local/dagger_nodes')
    res = train(TrainConfig(dataset=r0 / 'dataset', policy='bc', output_dir=r0 / 'train',
                            steps=args.steps, device='cpu', inputs='state',
                            save_every=args.steps, val_every=args.steps, progress=False))
    rate = evaluate_checkpoint(res.checkpoint, load_profile(profile),
                               RolloutConfig(episodes=args.eval)).summary.success_rate
    frames = json.loads((r0 / 'dataset' / 'meta' / 'info.json').read_text())['total_frames']
    (r0 / 'report.json').write_text(json.dumps({'rounds': [{
        'round': 'round0', 'frames_added': frames, 'expert_frames_added': 0,
        'intervention_rate': 0.0, 'frames_total': frames, 'success_rate': rate,
        'checkpoint': str(res.checkpoint)}]}, indent=1) + '\n')
    times['round0'] = time.monotonic() - t
    print(f'round 0: {args.demos} demos, {frames} frames, success {rate:.0%} '
          f'({times["round0"]:.0f} s)')
    previous, ckpt = [r0], r0 / 'train'
    for r in range(1, args.rounds + 1):
        rdir = out / f'round{r}'
        shutil.rmtree(rdir, ignore_errors=True)
        t = time.monotonic()
        bag = session(rdir, profile, ckpt, args, seed=1000 * r + 100 * args.seed)
        times[f'round{r} session'] = time.monotonic() - t
        t = time.monotonic()
        weight = [] if args.policy_weight is None else ['--policy-weight',
                                                        str(args.policy_weight)]
        code = cli(['dagger-round', str(bag), '--profile', str(profile), '--out', str(rdir),
                    '--previous', *map(str, previous), '--steps', str(args.steps),
                    '--eval-sim', str(args.eval), *weight])
        if code != 0:
            return code
        times[f'round{r} dagger-round'] = time.monotonic() - t
        previous.append(rdir)
        ckpt = rdir / 'train'
    print((out / f'round{args.rounds}' / 'report.md').read_text())
    print('wall time: ' + ', '.join(f'{k} {v:.0f} s' for k, v in times.items()))
    (out / 'times.json').write_text(json.dumps(times, indent=1) + '\n')
    return baseline(out, args) if args.baseline else 0


def baseline(out: Path, args: argparse.Namespace) -> int:
    """Plain BC given as many extra expert frames as DAgger's rounds, as ordinary demos."""
    os.environ.setdefault('MUJOCO_GL', 'egl')
    import torch

    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.data.writer import merge_datasets
    from imitation_ros.deploy.rollout import RolloutConfig, evaluate_checkpoint
    from imitation_ros.learn.trainer import TrainConfig, train
    from imitation_ros.profile import load_profile

    torch.set_num_threads(1)
    profile = load_profile(out / 'sim_arm_state.yaml')
    rounds = sorted((p for p in out.glob('round[1-9]*') if (p / 'report.json').is_file()),
                    key=lambda p: int(p.name[5:]))
    if not rounds:
        sys.exit(f'{out}: no round reports (run the rounds first)')
    report = json.loads((rounds[-1] / 'report.json').read_text())['rounds']
    base = out / 'round0' / 'dataset'
    rows, expert = [], 0
    for rec in report[1:]:
        expert += int(rec['expert_frames_added'])
        bdir = out / 'baseline' / rec['round']
        shutil.rmtree(bdir, ignore_errors=True)
        n = max(1, round(expert / 65))
        while True:               # seeds after round 0's demos, below the sessions' seeds
            st = write_sim_demos(bdir / 'demos', episodes=n, seed=args.seed * 100 + args.demos,
                                 images=False, intervention=True, overwrite=True,
                                 repo_id='local/dagger_nodes')
            if st.frames >= expert or n > 400:
                break
            n += max(1, round((expert - st.frames) / max(st.frames / n, 1)))
        merge_datasets([base, bdir / 'demos'], 'local/dagger_nodes', bdir / 'aggregate')
        res = train(TrainConfig(dataset=bdir / 'aggregate', policy='bc',
                                output_dir=bdir / 'train', steps=args.steps, device='cpu',
                                inputs='state', save_every=args.steps, val_every=args.steps,
                                progress=False))
        rate = evaluate_checkpoint(res.checkpoint, profile, RolloutConfig(
            episodes=args.eval)).summary.success_rate
        rows.append((rec['round'], expert, st.frames, rec['success_rate'], rate))
        print(f'{rec["round"]}: plain BC with {st.frames} extra demo frames ({n} demos; '
              f'DAgger\'s expert drove {expert}): {rate:.0%} (DAgger {rec["success_rate"]:.0%})',
              flush=True)
    print('\n| round | expert frames (cumulative) | DAgger | plain BC, same extra frames as demos |')
    print('|---|---|---|---|')
    for name, exp, _, dag, plain in rows:
        print(f'| {name} | {exp} | {dag:.0%} | {plain:.0%} |')
    (out / 'baseline' / 'baseline.json').write_text(json.dumps(
        [dict(zip(('round', 'expert_frames', 'demo_frames', 'dagger', 'plain_bc'), r))
         for r in rows], indent=1) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
