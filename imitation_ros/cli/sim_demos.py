"""``imitation-ros sim-demos``: scripted-expert demonstrations as a LeRobot dataset, in-process.

Example::

    imitation-ros sim-demos --out data/sim30 --episodes 30
    imitation-ros train --dataset data/sim30 --policy bc --steps 1500 --state-noise 0.05

The fast alternative to ``imitation-ros demo``'s record + convert steps (no DDS, no bag):
the same features (``observation.state``, ``action``, the front camera as video) and
semantics (state = measured joints, action = the expert's command at the frame).
"""
from __future__ import annotations

import argparse
import os
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``sim-demos`` subcommand."""
    p = sub.add_parser(
        'sim-demos', help='write scripted-expert demos on the simulated arm as a LeRobot dataset',
        description=__doc__.split('\n\n', 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='dataset folder (must not exist)')
    p.add_argument('--episodes', type=int, default=30, help='number of demonstrations')
    p.add_argument('--seed', type=int, default=0,
                   help='first episode seed (eval-sim uses 10000.. by default: keep apart)')
    p.add_argument('--profile', default='sim_arm.yaml', help='robot profile (default sim_arm)')
    p.add_argument('--state-only', action='store_true', help='no camera streams')
    p.add_argument('--noise', type=float, default=0.0,
                   help='Gaussian noise on every expert command, rad')
    p.add_argument('--perturb', type=float, default=0.0,
                   help='chance per episode of a push off course (the expert recovers)')
    p.add_argument('--task', default='lift_cube', choices=['lift_cube', 'lift_cube_wide'],
                   help='cube task variant (lift_cube_wide: the cube anywhere in 12 x 12 cm)')
    p.add_argument('--cube-jitter', type=float, default=None,
                   help='lift_cube: cube start +- this in x and y, m (default the sim\'s 0.02)')
    p.add_argument('--only-successes', action='store_true', help='drop failed expert episodes')
    p.add_argument('--vcodec', default='libsvtav1', help='video codec (default libsvtav1)')
    p.add_argument('--overwrite', action='store_true', help='replace --out if it exists')
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault('MUJOCO_GL', 'egl')
    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.deploy.rollout import sim_config

    sim_cfg = sim_config(args.cube_jitter, args.task)     # refuses a jitter on the wide task
    stats = write_sim_demos(
        args.out, episodes=args.episodes, seed=args.seed, profile=args.profile,
        sim_config=sim_cfg, images=not args.state_only, noise_std_rad=args.noise,
        perturb_prob=args.perturb, only_successes=args.only_successes, vcodec=args.vcodec,
        overwrite=args.overwrite, progress=True)
    print(f'wrote {stats.root}: {stats.episodes} episodes, {stats.frames} frames '
          f'(expert succeeded {stats.successes}/{args.episodes})')
    return 0
