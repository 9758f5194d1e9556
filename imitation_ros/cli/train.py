"""``imitation-ros train``: train BC, ACT or Diffusion Policy on a LeRobot dataset.

Example::

    imitation-ros train --dataset data/pick_cube --policy act --steps 20000 --batch-size 32
    imitation-ros train --dataset data/pick_cube --policy act --output outputs/act --resume
    imitation-ros train --dataset data/pick_cube --policy diffusion --set down_dims=[64,128,256]
    imitation-ros train --dataset data/sim_demos --policy gail --sim lift --steps 200000
    imitation-ros train --dataset data/wide_demos --policy gail --sim lift_wide \
        --bc-pretrain 3000 --steps 200000       # BC on the cube pose first, then GAIL

GAIL (``--policy gail --sim TASK``) trains in the simulator from the dataset's demos; see
``docs/gail.md`` (``--steps`` counts environment steps there).

Several GPUs: ``accelerate launch --multi_gpu -m imitation_ros.cli.main train ...``.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import yaml

from imitation_ros.errors import ConfigError
from imitation_ros.resources import resolve_config

POLICIES = ('bc', 'act', 'diffusion', 'gail')


def parse_val_episodes(text: str) -> tuple[int, ...] | float:
    """Parse ``--val-episodes``: ``0.1`` (fraction), ``3,7,12`` (indices) or ``none``."""
    text = text.strip()
    if text.lower() == 'none':
        return 0.0
    try:
        if '.' in text and ',' not in text:
            return float(text)
        return tuple(int(x) for x in text.split(',') if x.strip())
    except ValueError:
        msg = f'--val-episodes: expected a fraction like 0.1 or indices like 3,7; got {text!r}'
        raise ConfigError(msg) from None


def parse_overrides(items: list[str], config: str | None) -> dict[str, Any]:
    """Merge ``--config FILE`` (mapping under ``policy:``) and ``--set key=value`` (YAML)."""
    out: dict[str, Any] = {}
    if config:
        path = resolve_config(config)     # a path, or a preset's name under config/
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            msg = f'{path}: cannot read policy preset: {err}'
            raise ConfigError(msg) from err
        if not isinstance(data, dict) or set(data) - {'policy'}:
            msg = f'{path}: expected a mapping with one key `policy:`, got {list(data)}'
            raise ConfigError(msg)
        out.update(data.get('policy') or {})
    for item in items:
        key, sep, value = item.partition('=')
        if not sep or not key.strip():
            msg = f'--set: expected key=value, got {item!r}'
            raise ConfigError(msg)
        out[key.strip()] = yaml.safe_load(value)
    return out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    p = subparsers.add_parser(
        'train', help='train BC / ACT / Diffusion on a LeRobot dataset',
        description='Train a policy on a LeRobot v3 dataset (frames decoded once into a cache).')
    p.add_argument('--dataset', required=True, help='LeRobot dataset root')
    p.add_argument('--policy', required=True, choices=POLICIES)
    p.add_argument('--output', help='run folder (default outputs/train/<dataset>_<policy>)')
    p.add_argument('--steps', type=int, default=20000, help='total optimizer steps (gail: environment steps)')
    p.add_argument('--batch-size', type=int, help='default: bc 64, act 32, diffusion 64')
    p.add_argument('--lr', type=float, help="learning rate (default: the policy's preset)")
    p.add_argument('--val-episodes', default='0.1',
                   help="held-out episodes: a fraction (0.1), indices (3,7,12) or 'none'")
    p.add_argument('--val-every', type=int, default=1000, help='validate every N steps')
    p.add_argument('--save-every', type=int, default=5000, help='checkpoint every N steps')
    p.add_argument('--log-every', type=int, default=50, help='metrics record every N steps')
    p.add_argument('--resume', action='store_true', help='continue from <output>/checkpoints/last')
    p.add_argument('--device', default='auto', help='auto | cpu | cuda | cuda:N')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--no-augment', action='store_true', help='no image or state augmentation')
    p.add_argument('--no-image-augment', action='store_true', help='keep state noise only')
    p.add_argument('--inputs', choices=['all', 'state'], default='all',
                   help='policy inputs: state and cameras (all), or joint state only (state)')
    p.add_argument('--state-noise', type=float, default=0.01,
                   help='Gaussian noise sigma on observation.state (state units, rad)')
    p.add_argument('--config', help='YAML policy preset (mapping under `policy:`): a path, or a '
                                     'name under config/ (train_act_cpu, train_diffusion_cpu)')
    p.add_argument('--set', dest='overrides', action='append', default=[], metavar='KEY=VALUE',
                   help='set a lerobot policy config field, e.g. --set chunk_size=50')
    p.add_argument('--backbone-weights', help='local torchvision ResNet state dict (ACT)')
    p.add_argument('--cache-dir',
                   help='frame cache location (default <dataset>/.imitation_ros_cache)')
    p.add_argument('--threads', type=int, help='torch CPU threads (default: OMP_NUM_THREADS)')
    p.add_argument('--no-progress', action='store_true', help='no progress bars')
    g = p.add_argument_group('GAIL (--policy gail; docs/gail.md)')
    g.add_argument('--sim', choices=['lift', 'reach', 'lift_wide', 'reach_wide'],
                   help='simulated task GAIL trains in (lift = lift_cube; reach = its approach; '
                        '*_wide: the lift_cube_wide scene)')
    g.add_argument('--horizon', type=int, help='training episode length, control periods '
                                               '(default: lift 90, reach 20)')
    g.add_argument('--bc-pretrain', type=int, default=0, metavar='N',
                   help='behaviour-clone the policy for N batches first (checkpoint at env '
                        'step 0), then GAIL; --steps 0: BC only')
    g.add_argument('--demo-first-seed', type=int, default=0,
                   help='sim seed of the dataset\'s episode 0 (sim-demos --seed): the demos are '
                        'replayed to recover the cube pose the discriminator and BC see')
    g.add_argument('--no-demo-replay', action='store_true',
                   help='do not replay the demos (any dataset): the discriminator sees joints '
                        'and actions only')
    g.add_argument('--n-envs', type=int, default=8, help='parallel environments')
    g.add_argument('--subproc', action='store_true', help='one process per environment')
    g.add_argument('--state-only-policy', action='store_true',
                   help='policy sees joint states only (no privileged cube pose): deployable '
                        'beyond the simulator')
    g.add_argument('--eval-every', type=int, default=5,
                   help='evaluate on held-out seeds and checkpoint every N rounds')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``imitation-ros train``; returns the exit code."""
    if args.policy == 'gail' or args.sim:
        return run_gail(args)
    import torch

    from imitation_ros.learn.augment import AugmentConfig
    from imitation_ros.learn.trainer import TrainConfig, train

    if args.threads or os.environ.get('OMP_NUM_THREADS'):
        torch.set_num_threads(args.threads or int(os.environ['OMP_NUM_THREADS']))
    dataset = Path(args.dataset)
    output = Path(args.output) if args.output else (
        Path('outputs') / 'train' / f'{dataset.resolve().name}_{args.policy}')
    augment = None if args.no_augment else AugmentConfig(
        images=not args.no_image_augment, state_noise_std=args.state_noise)
    cfg = TrainConfig(
        dataset=dataset, policy=args.policy, output_dir=output, steps=args.steps,
        batch_size=args.batch_size, lr=args.lr,
        val_episodes=parse_val_episodes(args.val_episodes), val_every=args.val_every,
        save_every=args.save_every, log_every=args.log_every, seed=args.seed,
        device=args.device, resume=args.resume, augment=augment,
        policy_overrides=parse_overrides(args.overrides, args.config),
        backbone_weights=Path(args.backbone_weights) if args.backbone_weights else None,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        progress=not args.no_progress, inputs=args.inputs,
    )
    result = train(cfg)
    if os.environ.get('RANK', '0') != '0':
        return 0            # under accelerate launch only rank 0 reports
    print(f'trained {args.policy} for {result.step} steps: loss {result.first_loss:.4f} -> '
          f'{result.final_loss:.4f}, {result.samples_per_s:.1f} samples/s')
    if result.val:
        per = ', '.join(f'{k} {v:.4f}' for k, v in result.val['val_mae_per_joint'].items())
        print(f"held-out episodes {result.val_episodes}: action MAE {result.val['val_mae']:.4f} "
              f'({per})')
    print(f'checkpoint: {result.checkpoint}')
    print(f"loss curves: {result.output_dir / 'loss.png'}")
    return 0


def run_gail(args: argparse.Namespace) -> int:
    """Run ``imitation-ros train --policy gail --sim TASK``; returns the exit code."""
    import torch

    from imitation_ros.learn.gail.trainer import GailConfig, train_gail

    if args.policy != 'gail' or not args.sim:
        msg = '--sim goes with --policy gail, and --policy gail needs --sim lift|reach|lift_wide|reach_wide'
        raise ConfigError(msg)
    torch.set_num_threads(args.threads or int(os.environ.get('OMP_NUM_THREADS', '1')))
    dataset = Path(args.dataset)
    output = Path(args.output) if args.output else (
        Path('outputs') / 'train' / f'{dataset.resolve().name}_gail_{args.sim}')
    cfg = GailConfig(dataset=dataset, output_dir=output, task=args.sim,
                     privileged=not args.state_only_policy, total_steps=args.steps,
                     n_envs=args.n_envs, subproc=args.subproc, eval_every=args.eval_every,
                     seed=args.seed, progress=not args.no_progress, horizon=args.horizon,
                     bc_pretrain_steps=args.bc_pretrain,
                     demo_first_seed=None if args.no_demo_replay else args.demo_first_seed,
                     **({'lr': args.lr} if args.lr else {}))
    res = train_gail(cfg)
    last = res.history[-1]
    first = res.history[0]
    if cfg.bc_pretrain_steps:
        print(f"BC pretraining: {first['bc_steps']} batches in {first['bc_wall_s']:.0f} s, "
              f"held-out success {first['success']:.0%}")
    print(f'trained gail ({args.sim}) for {res.env_steps} env steps in {res.wall_s:.0f} s: '
          f'discriminator accuracy {res.disc_acc_start:.2f} -> {res.disc_acc_end:.2f}, '
          f"held-out success {last.get('success', float('nan')):.0%}, task return "
          f"{res.history[0]['return']:.2f} -> {last.get('return', float('nan')):.2f}")
    print(f'checkpoint: {res.checkpoint}')
    print(f"curves: {res.output_dir / 'gail.png'}")
    return 0
