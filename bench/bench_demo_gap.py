"""Why do recorded demos teach image BC less than in-process ones? Three rows, one script.

``imitation-ros demo`` (record through the nodes, convert, ``imitation-ros train``) reached
7/20 on ``lift_cube_wide`` where ``bench/bench_vision.py`` (in-process demos, its own
training settings) reached 30/30. Two things differ: where the demos come from, and the
training settings (the CLI's default augmentation was ColorJitter 0.2 + affine 5 deg / 5 %;
the vision bench uses random shift 4 px and ColorJitter 0.1). This script trains the same image BC, same steps and seed, on:

* ``inproc+shift``: in-process demos (``write_sim_demos``), the vision bench's augmentation;
* ``recorded+shift``: demos recorded through sim_node + expert_node + recorder_node and
  converted (``--recorded DATASET``), the same augmentation: the data-source effect;
* ``recorded+affine``: the recorded demos with the augmentation ``imitation-ros train`` used
  by default before this bench (ColorJitter 0.2/0.2/0.2/0.1, rotation 5 deg, translation
  5 %): the training-settings effect (train's default is now the shift);

and evaluates each final checkpoint (nothing is chosen, so no validation seeds) on the same
held-out test seeds, latency-faithful (``sim.task_eval``), beside
blind replay and the expert, each as successes of n with a Wilson 95 % interval. Asserts
nothing.

    ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=42 \\
      imitation-ros launch sim_record episodes:=30 output_dir:=runs/gap/bags task:=lift_cube_wide
    imitation-ros convert runs/gap/bags/demo_* --profile sim_arm --out runs/gap/recorded
    OMP_NUM_THREADS=1 python bench/bench_demo_gap.py --recorded runs/gap/recorded \\
        [--steps 600] [--eval 20] [--rows inproc+shift,recorded+shift,recorded+affine]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('MUJOCO_GL', 'egl')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--recorded', required=True, help='dataset converted from recorded bags')
    parser.add_argument('--out', default='runs/bench_demo_gap')
    parser.add_argument('--demos', type=int, default=30, help='in-process demos to write')
    parser.add_argument('--steps', type=int, default=600)
    parser.add_argument('--eval', type=int, default=20, help='held-out seeds')
    parser.add_argument('--rows', default='inproc+shift,recorded+shift,recorded+affine')
    args = parser.parse_args()

    import torch

    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.learn.augment import AugmentConfig
    from imitation_ros.learn.trainer import TrainConfig, train
    from imitation_ros.sim.arm import task_sim_config
    from imitation_ros.sim.task_eval import (
        evaluate_baselines,
        evaluate_checkpoint_on_task,
        held_out_seeds,
    )
    from imitation_ros.stats import Rate

    torch.set_num_threads(1)
    out = Path(args.out)
    sim_cfg = task_sim_config('lift_cube_wide')
    seeds = held_out_seeds(args.eval)
    inproc = out / 'inproc'
    if not (inproc / 'meta' / 'info.json').is_file():
        write_sim_demos(inproc, episodes=args.demos, seed=0, sim_config=sim_cfg, overwrite=True)
    shift = AugmentConfig(brightness=0.1, contrast=0.1, saturation=0.1, hue=0.0, degrees=0.0,
                          translate=0.0, shift_px=4, state_noise_std=0.05)
    affine = AugmentConfig(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1, degrees=5.0,
                           translate=0.05, shift_px=0, state_noise_std=0.05)   # train's former
    rows = {'inproc+shift': (inproc, shift), 'recorded+shift': (Path(args.recorded), shift),
            'recorded+affine': (Path(args.recorded), affine)}
    results = {}
    for name in args.rows.split(','):
        data, aug = rows[name]
        t0 = time.monotonic()
        run = out / name
        if not (run / 'checkpoints' / 'last').exists():
            train(TrainConfig(dataset=data, policy='bc', output_dir=run, steps=args.steps,
                              batch_size=64, device='cpu', val_every=args.steps,
                              save_every=args.steps, progress=True, augment=aug))
        train_s = time.monotonic() - t0
        s = evaluate_checkpoint_on_task(run, sim_cfg, seeds)
        base = evaluate_baselines(data, sim_cfg, seeds)
        results[name] = {'policy': s.rate.as_dict(), 'blind': base.blind.rate.as_dict(),
                         'expert': base.expert.rate.as_dict(), 'train_s': round(train_s)}
        print(f'{name}: policy {s.rate}, blind replay {base.blind.rate}, expert '
              f'{base.expert.rate}', flush=True)
    (out / 'results.json').write_text(json.dumps(results, indent=2))
    print(f'\nimage BC, {args.steps} steps (final checkpoint: nothing chosen), lift_cube_wide, '
          f'test seeds {seeds.start}..{seeds.stop - 1} (latency-faithful); successes of n, '
          'Wilson 95 % CI')
    w = 30
    print(f'{"row":16} {"policy":>{w}} {"blind replay":>{w}} {"expert":>{w}} {"train s":>8}')
    for name, r in results.items():
        cells = [str(Rate(int(r[k]['successes']), int(r[k]['n'])))
                 for k in ('policy', 'blind', 'expert')]
        print(f'{name:16} {cells[0]:>{w}} {cells[1]:>{w}} {cells[2]:>{w}} {r["train_s"]:>8}')


if __name__ == '__main__':
    main()
