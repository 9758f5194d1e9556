"""``imitation-ros sim``: the simulated arm in-process (no ROS).

* ``sim expert-eval --episodes 20``: run the scripted expert on the CI task and print its
  success rate.
* ``sim render --out sim.png``: save a PNG of the scene (``--strip N``: N frames along one
  expert episode side by side).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add ``sim`` and its subcommands."""
    parser = subparsers.add_parser('sim', help='simulated arm: expert evaluation, rendering')
    sub = parser.add_subparsers(dest='sim_command', metavar='SIM_COMMAND')
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    ev = sub.add_parser('expert-eval', help='success rate of the scripted expert')
    ev.add_argument('--episodes', type=int, default=20, help='episodes to run (default 20)')
    ev.add_argument('--seed', type=int, default=0, help='seed of the first episode')
    ev.add_argument('--profile', default='sim_arm.yaml', help='robot profile (path or name)')
    ev.add_argument('--noise-std', type=float, default=0.0, help='command noise, rad')
    ev.add_argument('--perturb-prob', type=float, default=0.0,
                    help='chance of one perturbation per episode')
    ev.add_argument('--images', action='store_true', help='also render camera images')
    ev.add_argument('--randomize-appearance', action='store_true')
    ev.set_defaults(func=_expert_eval)

    rd = sub.add_parser('render', help='save a PNG of the scene')
    rd.add_argument('--out', type=Path, default=Path('sim.png'), help='PNG file to write')
    rd.add_argument('--seed', type=int, default=0)
    rd.add_argument('--profile', default='sim_arm.yaml')
    rd.add_argument('--camera', default=None, help='front, top or wrist (default: profile)')
    rd.add_argument('--height', type=int, default=240)
    rd.add_argument('--width', type=int, default=320)
    rd.add_argument('--strip', type=int, default=1,
                    help='frames along one expert episode, side by side (default 1)')
    rd.add_argument('--randomize-appearance', action='store_true')
    rd.set_defaults(func=_render)


def _build(args: argparse.Namespace) -> Any:
    from imitation_ros.sim import load_profile_for_sim
    from imitation_ros.sim.arm import ArmSim, ArmSimConfig

    return ArmSim(load_profile_for_sim(args.profile),
                  ArmSimConfig(randomize_appearance=args.randomize_appearance))


def _expert_eval(args: argparse.Namespace) -> int:
    from imitation_ros.sim import ScriptedExpert, evaluate, expert_policy
    from imitation_ros.sim.expert import ExpertConfig

    cfg = ExpertConfig(noise_std_rad=args.noise_std, perturb_prob=args.perturb_prob)
    with _build(args) as sim:
        expert = ScriptedExpert(sim.geometry, sim.joint_names, cfg, seed=args.seed)
        summary = evaluate(sim, expert_policy(sim, expert),
                           range(args.seed, args.seed + args.episodes),
                           duration_s=cfg.duration_s, images=args.images, progress=True)
    failed = [r.seed for r in summary.results if not r.success]
    print(f'expert success: {summary.successes}/{summary.n} = {summary.success_rate:.0%}'
          f' (seeds {args.seed}..{args.seed + args.episodes - 1}'
          f'{", failed: " + str(failed) if failed else ""})')
    return 0


def _render(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from imitation_ros.sim import ScriptedExpert, expert_policy

    with _build(args) as sim:
        sim.reset(args.seed)
        frames = []
        if args.strip <= 1:
            frames.append(sim.render(args.camera, height=args.height, width=args.width))
        else:
            expert = ScriptedExpert(sim.geometry, sim.joint_names)
            policy = expert_policy(sim, expert)
            n = round(expert.config.duration_s / sim.control_period_s)
            keep = {round(i * (n - 1) / (args.strip - 1)) for i in range(args.strip)}
            for k in range(n):
                if k in keep:
                    frames.append(sim.render(args.camera, height=args.height,
                                             width=args.width))
                sim.step(policy({}, sim.time_s))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate(frames, axis=1)).save(args.out)
    print(f'wrote {args.out} ({len(frames)} frame(s), {args.height}x{args.width})')
    return 0


if __name__ == '__main__':  # pragma: no cover
    from imitation_ros.cli.main import main

    sys.exit(main(['sim', *sys.argv[1:]]))
