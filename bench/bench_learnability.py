"""Can BC and ACT learn the simulated cube lift from a few dozen demos on a CPU, and how fast?

    MUJOCO_GL=egl OMP_NUM_THREADS=1 python bench/bench_learnability.py \
        [--policies bc,act] [--demos 30] [--steps 1500] [--batch-size 64] [--eval 20] \
        [--state-only] [--state-noise 0.05] [--task lift_cube_wide] [--no-image-augment] \
        [--set bc:hidden_dims=[512,512]] [--out runs/learnability]

For each policy: writes ``--demos`` scripted-expert demonstrations in-process
(``imitation_ros.data.sim_demos``: same features and semantics as converted bags; seeds
0..N-1), trains ``--steps`` steps with ``imitation_ros.learn.train`` (CPU, one thread),
and runs the final checkpoint (nothing is chosen, so no validation seeds are needed) closed
loop exactly as ``imitation-ros eval-sim`` does (policy controller + safety filter, held-out
test seeds from 10000). Side by side, on the same test seeds: the scripted expert (ceiling)
and a policy that ignores observations, replaying the mean action trajectory of the demos
(floor). Prints one row per policy: successes of n with the Wilson 95 % interval, train wall
time, samples/s, open-loop validation MAE, and the ratio of the success rate to the
expert's. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('OMP_NUM_THREADS', '1')


def eval_checkpoint(checkpoint, profile, sim_config, seeds, *,  # noqa: ANN001, ANN201
                    duration_s, ensemble):  # noqa: ANN001
    """The checkpoint closed loop on ``sim_config``: ``sim.task_eval``'s one evaluation."""
    from imitation_ros.sim.task_eval import evaluate_checkpoint_on_task

    return evaluate_checkpoint_on_task(checkpoint, sim_config, seeds, profile=profile,
                                       duration_s=duration_s, ensemble=ensemble)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--policies', default='bc,act')
    parser.add_argument('--demos', type=int, default=30)
    parser.add_argument('--steps', type=int, default=1500)
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--lr', type=float, default=None)
    parser.add_argument('--eval', type=int, default=20, help='held-out closed-loop episodes')
    parser.add_argument('--eval-s', type=float, default=8.0, help='closed-loop episode length')
    parser.add_argument('--state-only', action='store_true', help='no camera in the dataset')
    parser.add_argument('--noise', type=float, default=0.0, help='expert command noise, rad')
    parser.add_argument('--perturb', type=float, default=0.0, help='expert push probability')
    parser.add_argument('--no-augment', action='store_true')
    parser.add_argument('--no-image-augment', action='store_true', help='keep state noise only')
    parser.add_argument('--state-noise', type=float, default=0.01,
                        help='training augmentation: Gaussian noise on the state, rad')
    parser.add_argument('--set', action='append', default=[], metavar='POLICY:KEY=VALUE')
    parser.add_argument('--ensemble', type=float, default=None, help='ACT temporal ensembling')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cube-jitter', type=float, default=None,
                        help='ArmSimConfig.cube_jitter_m for demos and evaluation (default 0.02)')
    parser.add_argument('--task', default='lift_cube',
                        help='cube task variant: lift_cube (default) | lift_cube_wide')
    parser.add_argument('--no-train', action='store_true', help='only the expert and the floor')
    parser.add_argument('--out', default='runs/learnability')
    args = parser.parse_args()

    import torch
    import yaml

    from imitation_ros.data.sim_demos import blind_replay_policy, write_sim_demos
    from imitation_ros.learn.augment import AugmentConfig
    from imitation_ros.learn.trainer import TrainConfig, train
    from imitation_ros.sim import (
        ArmSim,
        ScriptedExpert,
        evaluate,
        expert_policy,
        load_profile_for_sim,
    )

    torch.set_num_threads(1)
    out = Path(args.out)
    from imitation_ros.sim.arm import task_sim_config

    sim_cfg = task_sim_config(args.task, **({} if args.cube_jitter is None else {
        'cube_jitter_m': args.cube_jitter}))
    tag = (f'{args.task}_d{args.demos}_s{args.seed}_j{sim_cfg.cube_jitter_m}'
           f'{"_state" if args.state_only else ""}{f"_n{args.noise}" if args.noise else ""}'
           f'{f"_p{args.perturb}" if args.perturb else ""}')
    dataset = out / f'data_{tag}'
    t0 = time.perf_counter()
    if not (dataset / 'meta' / 'info.json').is_file():
        stats = write_sim_demos(dataset, episodes=args.demos, seed=args.seed,
                                sim_config=sim_cfg, images=not args.state_only,
                                noise_std_rad=args.noise, perturb_prob=args.perturb,
                                overwrite=True)
        print(f'{stats.episodes} demos, {stats.frames} frames (expert {stats.successes}/'
              f'{args.demos}) written in {time.perf_counter() - t0:.1f} s -> {dataset}',
              flush=True)
    from imitation_ros.sim.task_eval import held_out_seeds

    seeds = held_out_seeds(args.eval)     # test seeds; nothing here is chosen on them
    profile = load_profile_for_sim()
    sim = ArmSim(profile, sim_cfg)
    expert = ScriptedExpert(sim.geometry, sim.joint_names)
    ref = evaluate(sim, expert_policy(sim, expert), seeds, duration_s=args.eval_s)
    floor = evaluate(sim, blind_replay_policy(dataset), seeds, duration_s=args.eval_s)
    sim.close()

    overrides: dict[str, dict] = {}
    for item in args.set:
        pol, _, kv = item.partition(':')
        key, _, value = kv.partition('=')
        overrides.setdefault(pol, {})[key] = yaml.safe_load(value)
    rows = []
    for policy in [] if args.no_train else args.policies.split(','):
        cfg = TrainConfig(
            dataset=dataset, policy=policy,
            output_dir=out / (f'{policy}_{tag}_st{args.steps}_b{args.batch_size}'
                              f'_sn{args.state_noise}{"_noia" if args.no_image_augment else ""}'),
            steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
            device='cpu', val_every=max(args.steps, 1), save_every=args.steps,
            augment=None if args.no_augment else AugmentConfig(
                images=not args.no_image_augment, state_noise_std=args.state_noise),
            policy_overrides=overrides.get(policy, {}), progress=False)
        import shutil

        shutil.rmtree(cfg.output_dir, ignore_errors=True)
        t0 = time.perf_counter()
        res = train(cfg)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = eval_checkpoint(res.checkpoint, profile, sim_cfg, seeds,
                                  duration_s=args.eval_s, ensemble=args.ensemble)
        eval_s = time.perf_counter() - t0
        rows.append((policy, cfg.effective_batch_size, train_s, res.samples_per_s,
                     res.val.get('val_mae', float('nan')), res.final_loss,
                     summary.rate, eval_s, overrides.get(policy, {})))
        print(f'{policy}: trained in {train_s:.0f} s, closed loop {summary.rate} '
              f'(eval {eval_s:.0f} s)', flush=True)

    inp = 'state only' if args.state_only else 'state + front camera'
    print(f'\n{args.demos} demos ({inp}, cube jitter +-{sim_cfg.cube_jitter_m} m), '
          f'{args.steps} steps, state noise {args.state_noise}, {args.eval} held-out seeds '
          f'{seeds.start}..{seeds.stop - 1}, cpu, 1 thread')
    print(f'{"policy":8} {"batch":>5} {"train_s":>8} {"samples/s":>9} {"val_mae":>8} '
          f'{"loss":>7} {"success (n, Wilson 95 % CI)":>30} {"vs expert":>9} {"vs floor":>8} '
          f'{"eval_s":>6}  set')
    for pol, bs, ts, sps, mae, loss, sr, es, ov in rows:
        print(f'{pol:8} {bs:5d} {ts:8.0f} {sps:9.0f} {mae:8.4f} {loss:7.4f} {sr!s:>30} '
              f'{sr.rate / max(ref.success_rate, 1e-9):9.2f} '
              f'{sr.rate / max(floor.success_rate, 1 / args.eval):8.1f} {es:6.0f}  {ov or ""}')
    print(f'{"expert":8} {"":5} {"":8} {"":9} {"":8} {"":7} {ref.rate!s:>30} {1.0:9.2f}')
    print(f'{"mean-act":8} {"":5} {"":8} {"":9} {"":8} {"":7} {floor.rate!s:>30} '
          f'{floor.success_rate / max(ref.success_rate, 1e-9):9.2f}   (replays the mean action '
          f'trajectory, ignores observations)')


if __name__ == '__main__':
    main()
