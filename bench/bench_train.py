"""Training throughput: imitation_ros's trainer against ``lerobot-train``, side by side.

Same dataset, policy, policy config and batch size; both on the same device. Prints one line
per policy: ``<policy> ours N samples/s | lerobot-train M samples/s | ratio | device``.

Samples/s are steady-state: ours is the median over logging windows after the first (our
trainer's wall clock per window: batch gathering, augmentation, normalization, forward,
backward, optimizer); lerobot-train's is batch / (updt_s + data_s) from its log lines after the
first. Our run includes image augmentation (on by default); lerobot-train's default has none.
BC runs through lerobot-train too (the type is registered before lerobot parses its flags).

Usage::

    python bench/bench_train.py                       # CPU-sized defaults, temp dataset
    python bench/bench_train.py --device cuda --steps 300 --batch-size 64 --episodes 50
    python bench/bench_train.py --dataset data/pick_cube --policy diffusion
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOG_RE = re.compile(r'step:(\S+) .*updt_s:([\d.]+) data_s:([\d.]+)')


def _flag_value(value: object) -> str:
    if value is None:
        return 'null'
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(str(v) for v in value) + ']'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def run_lerobot(dataset: Path, policy: str, overrides: dict, batch: int, steps: int,
                log_every: int, device: str, workers: int, out: Path) -> tuple[float, float]:
    """Run lerobot-train; return (steady samples/s, wall s)."""
    code = ('import imitation_ros.learn.bc.configuration_bc\n'
            'from lerobot.scripts.lerobot_train import main\nmain()\n')
    args = [sys.executable, '-c', code,
            '--dataset.repo_id=local/bench', f'--dataset.root={dataset}',
            f'--policy.type={policy}', '--policy.push_to_hub=false', f'--policy.device={device}',
            f'--batch_size={batch}', f'--steps={steps}', f'--log_freq={log_every}',
            '--save_checkpoint=false', '--eval_freq=0', '--wandb.enable=false',
            f'--num_workers={workers}', f'--output_dir={out}', '--seed=0']
    args += [f'--policy.{k}={_flag_value(v)}' for k, v in overrides.items()]
    env = dict(os.environ, HF_HUB_OFFLINE='1')
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout)[-2000:]
        raise RuntimeError(f'lerobot-train failed ({proc.returncode}):\n{tail}')
    times = [float(m.group(2)) + float(m.group(3)) for m in LOG_RE.finditer(proc.stdout +
                                                                              proc.stderr)]
    steady = times[1:] or times
    if not steady:
        raise RuntimeError('no lerobot-train log lines with updt_s/data_s found')
    return batch / (sum(steady) / len(steady)), wall


def run_ours(dataset: Path, policy: str, overrides: dict, batch: int, steps: int,
             log_every: int, device: str, out: Path) -> tuple[float, float, float]:
    """Run our trainer; return (steady samples/s, wall s, cache build s)."""
    from imitation_ros.learn import TrainConfig, train
    from imitation_ros.learn.cache import open_cache

    t0 = time.perf_counter()
    open_cache(dataset, progress=False)
    cache_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = train(TrainConfig(dataset=dataset, policy=policy, output_dir=out, steps=steps,
                            batch_size=batch, log_every=log_every, val_every=10 * steps,
                            save_every=10 * steps, val_episodes=0.0, device=device,
                            policy_overrides=overrides, progress=False))
    return res.samples_per_s, time.perf_counter() - t0, cache_s


def data_only(dataset: Path, policy: str, overrides: dict, batch: int, n_batches: int,
              device: str, workers: int) -> tuple[float, float]:
    """Data pipeline alone: (ours, lerobot DataLoader) samples/s, images on ``device``."""
    import torch
    from lerobot.datasets.factory import resolve_delta_timestamps
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata

    from imitation_ros.learn.batches import BatchSource, ChunkIndex, ChunkSpec, Prefetcher
    from imitation_ros.learn.cache import load_features, open_cache
    from imitation_ros.learn.policies import make_policy_config

    dev = torch.device(device)
    cfg = make_policy_config(policy, load_features(dataset), device=device, overrides=overrides)
    cache = open_cache(dataset, progress=False)
    index = ChunkIndex(cache, sorted(cache.episodes), ChunkSpec.from_config(cfg))
    source = BatchSource(index, dev, time_dim=policy == 'diffusion')
    loader = Prefetcher(source, batch_size=batch, seed=0, start=0, stop=n_batches + 2)
    it = iter(loader)
    for _ in range(2):
        next(it)
    t0 = time.perf_counter()
    for b in it:
        pass
    if dev.type == 'cuda':
        torch.cuda.synchronize()
    ours = n_batches * batch / (time.perf_counter() - t0)
    loader.close()

    meta = LeRobotDatasetMetadata('local/bench', root=dataset)
    ds = LeRobotDataset('local/bench', root=dataset,
                        delta_timestamps=resolve_delta_timestamps(cfg, meta))
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                                     pin_memory=dev.type == 'cuda', drop_last=True,
                                     persistent_workers=False)
    it2 = iter(dl)
    for _ in range(2):
        next(it2)
    t0 = time.perf_counter()
    done = 0
    while done < n_batches:
        try:
            b = next(it2)
        except StopIteration:
            it2 = iter(dl)
            continue
        for v in b.values():
            if isinstance(v, torch.Tensor):
                v.to(dev, non_blocking=True)
        done += 1
    if dev.type == 'cuda':
        torch.cuda.synchronize()
    theirs = n_batches * batch / (time.perf_counter() - t0)
    return ours, theirs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dataset', help='existing LeRobot dataset (default: a synthetic one)')
    ap.add_argument('--policy', default='bc,act,diffusion', help='comma list')
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--steps', type=int, default=40)
    ap.add_argument('--log-every', type=int, default=10)
    ap.add_argument('--device', default='auto')
    ap.add_argument('--episodes', type=int, default=6, help='synthetic dataset episodes')
    ap.add_argument('--frames', type=int, default=60, help='synthetic frames per episode')
    ap.add_argument('--workers', type=int, default=None,
                    help='lerobot-train --num_workers (default min(4, CPUs))')
    ap.add_argument('--data-only', action='store_true',
                    help='compare the data pipelines only (no training)')
    ap.add_argument('--height', type=int, help='synthetic camera height (default: profile)')
    ap.add_argument('--width', type=int, help='synthetic camera width (default: profile)')
    ap.add_argument('--data-batches', type=int, default=20,
                    help='batches timed in the data-only comparison')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', '1')))
    args = ap.parse_args()

    import torch

    from imitation_ros.learn.inference import resolve_device
    from imitation_ros.learn.policies import POLICY_DEFAULTS
    from imitation_ros.learn.synthetic import make_synthetic_dataset, shrink_cameras
    from imitation_ros.profile import load_profile

    torch.set_num_threads(args.threads)
    os.environ['OMP_NUM_THREADS'] = str(args.threads)
    dev = resolve_device(args.device)
    card = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'cpu x{args.threads} thr'
    workers = args.workers if args.workers is not None else min(4, os.cpu_count() or 1)
    tmp = Path(tempfile.mkdtemp(prefix='bench_train_'))
    try:
        if args.dataset:
            dataset = Path(args.dataset).resolve()
        else:
            profile = load_profile(ROOT / 'config' / 'sim_arm.yaml')
            if args.height or args.width:
                cam = profile.cameras[0]
                profile = shrink_cameras(profile, args.height or cam.height,
                                         args.width or cam.width)
            dataset = make_synthetic_dataset(tmp / 'ds', profile, n_episodes=args.episodes,
                                             n_frames=args.frames, use_videos=True)
        info = json.loads((dataset / 'meta' / 'info.json').read_text())
        cams = {k: v['shape'] for k, v in info['features'].items() if v['dtype'] == 'video'}
        print(f"dataset {dataset}: {info['total_episodes']} episodes, {info['total_frames']} "
              f'frames, cameras {cams}; batch {args.batch_size}, {args.steps} steps, '
              f'device {dev.type} ({card}), lerobot workers {workers}')
        for policy in args.policy.split(','):
            overrides = dict(POLICY_DEFAULTS[policy])
            if args.data_only:
                d_ours, d_theirs = data_only(dataset, policy, overrides, args.batch_size,
                                             args.data_batches, dev.type, workers)
                print(f'{policy:9s} data-only: ours {d_ours:8.1f} samples/s | lerobot '
                      f'DataLoader {d_theirs:8.1f} samples/s | {d_ours / d_theirs:5.2f}x | '
                      f'{dev.type} ({card})', flush=True)
                continue
            ours, ours_wall, cache_s = run_ours(dataset, policy, overrides, args.batch_size,
                                                args.steps, args.log_every, dev.type,
                                                tmp / f'ours_{policy}')
            theirs, their_wall = run_lerobot(dataset, policy, overrides, args.batch_size,
                                             args.steps, args.log_every, dev.type, workers,
                                             tmp / f'lerobot_{policy}')
            print(f'{policy:9s} ours {ours:8.1f} samples/s | lerobot-train {theirs:8.1f} '
                  f'samples/s | {ours / theirs:5.2f}x | {dev.type} ({card}) | wall ours '
                  f'{ours_wall:.0f} s (+ cache {cache_s:.1f} s once), lerobot-train '
                  f'{their_wall:.0f} s', flush=True)
            d_ours, d_theirs = data_only(dataset, policy, overrides, args.batch_size,
                                         args.data_batches, dev.type, workers)
            print(f'{policy:9s} data-only: ours {d_ours:8.1f} samples/s | lerobot DataLoader '
                  f'{d_theirs:8.1f} samples/s | {d_ours / d_theirs:5.2f}x | {dev.type} ({card})',
                  flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
