"""Is the CI task learnable from joint states alone? A tiny BC baseline against the expert.

    MUJOCO_GL=egl python bench/bench_sim_learnability.py [--demos 50] [--steps 2500]

Records ``--demos`` expert episodes of ``--demo-s`` in-process (state -> leader command,
30 fps), trains a
2x256 MLP (state only, no images, one CPU thread) and evaluates it on 20 unseen seeds, with
the raw gripper output and with the gripper output binarized at 0.5 (the expert's gripper
command is always exactly open or closed). Prints success rates next to the expert's on the
same seeds. Asserts nothing; a sanity check of the task design, not a policy of the suite.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('OMP_NUM_THREADS', '1')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--demos', type=int, default=50)
    parser.add_argument('--steps', type=int, default=2500, help='training steps (batch 256)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--demo-s', type=float, default=3.0,
                        help='demo length, s (sim_node demos end 0.5 s after success: ~2.5 s)')
    args = parser.parse_args()

    import numpy as np
    import torch

    from imitation_ros.profile import OBS_STATE
    from imitation_ros.sim import (
        ArmSim,
        ScriptedExpert,
        evaluate,
        expert_policy,
        load_profile_for_sim,
        run_episode,
    )

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    sim = ArmSim(load_profile_for_sim())
    expert = ScriptedExpert(sim.geometry, sim.joint_names, seed=args.seed)
    duration = expert.config.duration_s
    xs: list = []
    ys: list = []
    t0 = time.perf_counter()
    for s in range(1000, 1000 + args.demos):
        run_episode(sim, expert_policy(sim, expert), seed=s, duration_s=args.demo_s,
                    on_frame=lambda o, a: (xs.append(o[OBS_STATE].copy()), ys.append(a.copy())))
    x, y = np.array(xs, np.float32), np.array(ys, np.float32)
    rec_s = time.perf_counter() - t0
    mx, sx, my, sy = x.mean(0), x.std(0) + 1e-3, y.mean(0), y.std(0) + 1e-3
    xt, yt = torch.tensor((x - mx) / sx), torch.tensor((y - my) / sy)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, y.shape[1]))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        idx = torch.randint(0, len(xt), (256,), generator=gen)
        loss = ((net(xt[idx]) - yt[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - t0
    grip = sim.joint_names.index('gripper')

    def bc(binary: bool):
        def policy(obs, t_s):
            with torch.no_grad():
                a = net(torch.tensor((obs[OBS_STATE] - mx) / sx)).numpy() * sy + my
            if binary:
                a[grip] = 1.0 if a[grip] > 0.5 else 0.0
            return a
        return policy

    seeds = range(500, 520)
    ref = evaluate(sim, expert_policy(sim, expert), seeds, duration_s=duration)
    raw = evaluate(sim, bc(False), seeds, duration_s=duration)
    binary = evaluate(sim, bc(True), seeds, duration_s=duration)
    print(f'{args.demos} demos ({len(x)} frames) recorded in {rec_s:.1f} s, MLP trained '
          f'{args.steps} steps in {train_s:.1f} s (loss {loss.item():.4f})')
    print(f'BC state-only, gripper binarized {binary.success_rate:.0%} | expert '
          f'{ref.success_rate:.0%} | {binary.success_rate / max(ref.success_rate, 1e-9):.2f}x'
          f' | cpu')
    print(f'BC state-only, raw gripper output {raw.success_rate:.0%} | expert '
          f'{ref.success_rate:.0%} | {raw.success_rate / max(ref.success_rate, 1e-9):.2f}x'
          f' | cpu')
    sim.close()


if __name__ == '__main__':
    main()
