"""GAIL vs BC vs the scripted expert vs blind replay on the simulated cube lift, same seeds.

The comparison on ``lift_cube_wide`` (the cube anywhere in 12 x 12 cm; docs/gail.md)::

    MUJOCO_GL=egl OMP_NUM_THREADS=1 python bench/bench_gail.py --task lift_wide --demos 30 \
        --train-seeds 0,1 --inits bc,scratch --bc-pretrain 3000 --finetune-lr 1e-4 \
        --gail-steps 400000 --horizon 240 --eval-every 5 --val-episodes 20 --eval 20 \
        --max-wall-s 360 --out runs/gail_wide --plot docs/gail_wide.png

writes ``--demos`` scripted-expert demos on the scene (seeds 0..N-1), then on the same
held-out test seeds 10000.. and with eval-sim's evaluation (deploy controller + safety
filter, latency-faithful, observations one period old; a privileged policy gets the sim's
cube pose): the expert, blind replay, the suite's BC on joint states, and per training seed
BC on joints + the privileged cube pose (the PPO network behaviour-cloned: GAIL's step-0
checkpoint), GAIL fine-tuned from it and GAIL from scratch. GAIL's checkpoint is chosen on
validation seeds N..N+V-1 (past the demo seeds, never the test seeds); the last checkpoint
is reported too. Writes ``<out>/results.json`` and the curves (success on the validation
seeds vs environment steps, test-seed rates as lines) to ``--plot``.

The older single-run mode (``--task lift|reach`` without ``--compare``):

    MUJOCO_GL=egl OMP_NUM_THREADS=1 python bench/bench_gail.py \
        [--task lift] [--demos 10] [--gail-steps 200000] [--n-envs 8] [--n-steps 256] \
        [--eval-every 5] [--eval 20] [--bc-steps 2000] [--max-wall-s 600] \
        [--state-only-policy] [--out runs/gail] [--plot docs/gail.png]

Writes ``--demos`` scripted-expert demonstrations in-process (state only, seeds 0..N-1,
``imitation_ros.data.sim_demos``), then on the same held-out seeds (10000..):

* the scripted expert (ceiling) and blind replay of the demos' mean action trajectory
  (floor), as in ``bench/bench_learnability.py``;
* the suite's BC on the same demos (joint states only, state noise 0.05), trained offline
  and run closed loop through ``load_policy`` + ``PolicyController`` + safety filter;
* GAIL (``imitation`` + PPO, ``imitation_ros.learn.gail``) on the same demos, evaluated every
  ``--eval-every`` rounds on the held-out seeds (deterministic policy, no safety filter: the
  curve), and at the end through ``load_policy`` + ``PolicyController`` + safety filter (the
  number in the table).

Prints one row per method: success rate, environment steps used, wall time; writes
``<out>/results.json`` and a plot of success vs environment steps (``--plot``). Asserts
nothing. ``--max-wall-s`` bounds GAIL's training time (it stops after the round past it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('HF_HUB_OFFLINE', '1')


def _rate(value: float, n: int, *, count: bool = False):  # noqa: ANN202
    """``Rate`` of a success fraction (or, ``count``, a success count) over ``n`` episodes."""
    from imitation_ros.stats import Rate

    return Rate(int(value) if count else round(value * n), n)


def lifted(summary) -> float:  # noqa: ANN001
    """Fraction of episodes whose cube was at least 5 cm up at some time (max lift)."""
    return sum(r.max_lift_m >= 0.05 for r in summary.results) / max(1, summary.n)


def env_eval(task: str, policy, seeds: range) -> tuple[float, float]:  # noqa: ANN001
    """Run ``policy(obs_dict, t_s) -> joint target`` on ``ArmLiftEnv(task)`` per seed.

    The target becomes the env's action (a step of at most the action scale from the
    measured joints). Returns (success rate at the episode's end, mean task return).
    """
    import numpy as np

    from imitation_ros.profile.keys import OBS_STATE
    from imitation_ros.sim.gym_env import ArmLiftEnv, action_from_target

    env = ArmLiftEnv(task=task)
    ok, total = 0, 0.0
    try:
        for seed in seeds:
            env.reset(seed=seed)
            done, info = False, {}
            while not done:
                q = env.sim.joint_positions()
                target = policy({OBS_STATE: q.astype(np.float32)}, env.sim.time_s)
                _, rew, term, trunc, info = env.step(
                    action_from_target(np.asarray(target, np.float64), q, env.action_scale))
                total += rew
                done = term or trunc
            ok += bool(info['is_success'])
    finally:
        env.close()
    return ok / len(seeds), total / len(seeds)


def main() -> None:  # noqa: PLR0915 - a linear script
    """Run the comparison (see module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', default='lift', choices=['lift', 'reach', 'lift_wide'],
                        help='lift_wide (or --compare): the validation-selected comparison')
    parser.add_argument('--compare', action='store_true',
                        help='the comparison protocol (default for lift_wide; see docstring)')
    parser.add_argument('--train-seeds', type=lambda t: [int(x) for x in t.split(',')],
                        default=[0], help='compare: training seeds, e.g. 0,1')
    parser.add_argument('--inits', type=lambda t: t.split(','), default=['bc', 'scratch'],
                        help='compare: GAIL initialisations to run (bc, scratch)')
    parser.add_argument('--bc-pretrain', type=int, default=3000,
                        help='compare: BC batches before GAIL (init bc)')
    parser.add_argument('--lr', type=float, default=3e-4, help='compare: PPO lr from scratch')
    parser.add_argument('--finetune-lr', type=float, default=1e-4,
                        help='compare: PPO lr when fine-tuning the BC policy')
    parser.add_argument('--net-arch', type=lambda t: [int(x) for x in t.split(',')],
                        default=[64, 64], help='compare: policy hidden sizes')
    parser.add_argument('--val-episodes', type=int, default=20,
                        help='compare: validation seeds (from --demos on)')
    parser.add_argument('--bc-state-steps', type=int, default=2000,
                        help='compare: the suite BC on joint states (0: skip)')
    parser.add_argument('--demos', type=int, default=10)
    parser.add_argument('--gail-steps', type=int, default=200_000)
    parser.add_argument('--horizon', type=int, default=None,
                        help='GAIL training episode length, control periods (default task)')
    parser.add_argument('--n-envs', type=int, default=8)
    parser.add_argument('--n-steps', type=int, default=256, help='PPO rollout per env/round')
    parser.add_argument('--subproc', action='store_true', help='one process per env')
    parser.add_argument('--eval-every', type=int, default=5, help='rounds between evaluations')
    parser.add_argument('--eval', type=int, default=20, help='held-out episodes')
    parser.add_argument('--eval-s', type=float, default=8.0, help='episode length (lift), s')
    parser.add_argument('--bc-steps', type=int, default=2000)
    parser.add_argument('--max-wall-s', type=float, default=None)
    parser.add_argument('--state-only-policy', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--skip-bc', action='store_true')
    parser.add_argument('--val-first-seed', type=int, default=None,
                        help='evaluate during training on seeds from here (e.g. 20000) instead '
                             'of the test seeds, and also report the checkpoint best on them')
    parser.add_argument('--out', default='runs/gail')
    parser.add_argument('--plot', default=None, help='PNG path (default <out>/success.png)')
    args = parser.parse_args()
    if args.compare or args.task == 'lift_wide':
        compare(args)
        return

    import torch

    from imitation_ros.data.sim_demos import blind_replay_policy, write_sim_demos
    from imitation_ros.learn.augment import AugmentConfig
    from imitation_ros.learn.gail.runner import evaluate_gail_checkpoint
    from imitation_ros.learn.gail.trainer import GailConfig, plot_gail, train_gail
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
    dataset = out / f'data_d{args.demos}_s{args.seed}'
    t0 = time.perf_counter()
    if not (dataset / 'meta' / 'info.json').is_file():
        stats = write_sim_demos(dataset, episodes=args.demos, seed=args.seed, images=False,
                                overwrite=True)
        print(f'{stats.episodes} demos, {stats.frames} frames written in '
              f'{time.perf_counter() - t0:.1f} s -> {dataset}', flush=True)
    from imitation_ros.sim.selection import check_disjoint
    from imitation_ros.sim.task_eval import held_out_seeds

    seeds = held_out_seeds(args.eval)
    if args.val_first_seed is not None:      # the checkpoint is chosen on these: never test
        check_disjoint(range(args.val_first_seed, args.val_first_seed + args.eval), seeds)
    duration = args.eval_s if args.task == 'lift' else None
    rows: list[dict] = []

    profile = load_profile_for_sim()
    sim = ArmSim(profile)
    if args.task == 'lift':
        expert = ScriptedExpert(sim.geometry, sim.joint_names)
        ref = evaluate(sim, expert_policy(sim, expert), seeds, duration_s=args.eval_s)
        floor = evaluate(sim, blind_replay_policy(dataset), seeds, duration_s=args.eval_s)
        rows.append({'method': 'expert', 'success': ref.success_rate, 'env_steps': 0,
                     'wall_s': 0.0, 'lifted': lifted(ref)})
        rows.append({'method': 'blind replay', 'success': floor.success_rate,
                     'env_steps': 0, 'wall_s': 0.0, 'lifted': lifted(floor)})
    else:
        env_sim = ArmSim(profile)
        expert = ScriptedExpert(env_sim.geometry, env_sim.joint_names)
        from imitation_ros.sim.gym_env import ArmLiftEnv

        probe = ArmLiftEnv(task=args.task)

        def exp_pol(obs: dict, t_s: float):  # noqa: ANN202 - the expert reads the env's sim
            if t_s == 0.0:
                expert.reset()
            return expert.act(probe.sim.task_state(), probe.sim.joint_positions(), t_s)

        # run the expert on the probe env itself (it needs that env's privileged state)
        ok, ret = 0, 0.0
        import numpy as np

        from imitation_ros.sim.gym_env import action_from_target

        for seed in seeds:
            probe.reset(seed=seed)
            done, info = False, {}
            while not done:
                q = probe.sim.joint_positions()
                target = exp_pol({}, probe.sim.time_s)
                _, rew, term, trunc, info = probe.step(
                    action_from_target(np.asarray(target), q, probe.action_scale))
                ret += rew
                done = term or trunc
            ok += bool(info['is_success'])
        probe.close()
        env_sim.close()
        rows.append({'method': 'expert', 'success': ok / len(seeds), 'env_steps': 0,
                     'wall_s': 0.0, 'return': ret / len(seeds)})
        sr, ret = env_eval(args.task, blind_replay_policy(dataset), seeds)
        rows.append({'method': 'blind replay', 'success': sr, 'env_steps': 0, 'wall_s': 0.0,
                     'return': ret})
    sim.close()

    if not args.skip_bc:
        sys_path = Path(__file__).resolve().parent
        import sys

        sys.path.insert(0, str(sys_path))
        from bench_learnability import eval_checkpoint

        bc_out = out / f'bc_d{args.demos}_s{args.seed}_st{args.bc_steps}'
        shutil.rmtree(bc_out, ignore_errors=True)
        t0 = time.perf_counter()
        res = train(TrainConfig(
            dataset=dataset, policy='bc', output_dir=bc_out, steps=args.bc_steps,
            seed=args.seed, device='cpu', val_every=args.bc_steps, save_every=args.bc_steps,
            augment=AugmentConfig(images=False, state_noise_std=0.05), progress=False))
        bc_train_s = time.perf_counter() - t0
        if args.task == 'lift':
            summary = eval_checkpoint(res.checkpoint, profile, None, seeds,
                                      duration_s=args.eval_s, ensemble=None)
            bc_sr, bc_ret, bc_lift = summary.success_rate, None, lifted(summary)
        else:
            from imitation_ros.deploy.controller import PolicyController
            from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter
            from imitation_ros.learn.inference import load_policy

            ctl = PolicyController(load_policy(res.checkpoint, device='cpu'),
                                   SafetyFilter.from_profile(profile,
                                                             SafetyConfig(max_step_rad=0.1),
                                                             period_s=1.0 / profile.fps))

            def bc_pol(obs: dict, t_s: float):  # noqa: ANN202
                if t_s == 0.0:
                    ctl.reset()
                verdict = ctl.tick(t_s, obs, t_s).verdict
                return verdict.command if verdict.command is not None else obs['observation.state']

            bc_sr, bc_ret = env_eval(args.task, bc_pol, seeds)
            bc_lift = None
        rows.append({'method': 'BC (state only)', 'success': bc_sr, 'env_steps': 0,
                     'wall_s': bc_train_s, 'return': bc_ret, 'lifted': bc_lift})
        print(f'BC: success {_rate(bc_sr, args.eval)} in {bc_train_s:.0f} s', flush=True)

    gail_out = out / (f'gail_{args.task}_d{args.demos}_s{args.seed}_st{args.gail_steps}_h{args.horizon}'
                      f'{"_stateonly" if args.state_only_policy else ""}')
    shutil.rmtree(gail_out, ignore_errors=True)
    cfg = GailConfig(dataset=dataset, output_dir=gail_out, task=args.task, horizon=args.horizon,
                     privileged=not args.state_only_policy, total_steps=args.gail_steps,
                     n_envs=args.n_envs, n_steps=args.n_steps, subproc=args.subproc,
                     eval_every=args.eval_every, eval_episodes=args.eval,
                     eval_duration_s=duration, seed=args.seed, progress=True,
                     eval_first_seed=args.val_first_seed or seeds.start,
                     max_wall_s=args.max_wall_s)
    gres = train_gail(cfg)
    last = gres.history[-1]
    if args.task == 'lift':
        final = evaluate_gail_checkpoint(gres.checkpoint, episodes=args.eval,
                                         duration_s=args.eval_s)
        gail_success, gail_lift = final.success_rate, lifted(final)
    else:
        gail_success, gail_lift = last.get('success', float('nan')), None
    rows.append({'method': 'GAIL', 'success': gail_success, 'env_steps': gres.env_steps,
                 'wall_s': gres.wall_s, 'lifted': gail_lift, 'disc_acc_start': gres.disc_acc_start,
                 'disc_acc_end': gres.disc_acc_end, 'return_start': gres.history[0]['return'],
                 'return_end': last.get('return')})

    if args.val_first_seed is not None and args.task == 'lift':
        evals = [h for h in gres.history if 'success' in h and h['env_steps'] > 0]
        best = max(evals, key=lambda h: (h['success'], h['success_any'], h['return']))
        from lerobot.utils.train_utils import get_step_checkpoint_dir

        ckpt = get_step_checkpoint_dir(gail_out, cfg.total_steps // cfg.round_steps
                                       * cfg.round_steps, best['env_steps'])
        chosen = evaluate_gail_checkpoint(ckpt, episodes=args.eval, duration_s=args.eval_s)
        rows.append({'method': 'GAIL best on val', 'success': chosen.success_rate,
                     'env_steps': best['env_steps'], 'wall_s': best['wall_s'],
                     'lifted': lifted(chosen)})
    print(f'\n{args.task}: {args.demos} demos, {args.eval} held-out seeds {seeds.start}..'
          f'{seeds.stop - 1}, cpu, 1 thread')
    print(f'{"method":16} {"success (n, Wilson 95 % CI)":>30} {"lifted":>7} {"env steps":>10} '
          f'{"wall s":>7} {"return":>8}')
    for r in rows:
        ret = r.get('return', r.get('return_end'))
        ret_s = f'{ret:8.2f}' if ret is not None else f'{"":8}'
        lift_s = f"{r['lifted']:7.0%}" if r.get('lifted') is not None else f'{"":7}'
        rate = _rate(r['success'], args.eval)
        r.update(rate.as_dict())
        print(f"{r['method']:16} {rate!s:>30} {lift_s} {r['env_steps']:10d} "
              f"{r['wall_s']:7.0f} {ret_s}")
    if args.task == 'lift':
        print('success: cube held >= 5 cm up between both fingers at the episode end '
              '(eval-sim); lifted: the cube was >= 5 cm up at some time')
    else:
        print('success: grasp site within 5 cm of the cube at the end of the 20 periods; '
              'return: -sum |grasp site - cube|, m')
    print(f'GAIL discriminator accuracy {gres.disc_acc_start:.2f} -> {gres.disc_acc_end:.2f}; '
          f"task return {gres.history[0]['return']:.2f} -> {last.get('return', float('nan')):.2f}"
          f"; success during training (no safety filter) "
          f"{[round(h['success'], 2) for h in gres.history if 'success' in h]}")
    (out / 'results.json').write_text(json.dumps(
        {'args': vars(args), 'rows': rows, 'history': gres.history}, indent=1))
    baselines = {r['method']: r['success'] for r in rows if r['method'] != 'GAIL'}
    plot_gail(gres.history, Path(args.plot or out / 'success.png'),
              title=f'GAIL on {args.task}, {args.demos} demos, {args.eval} held-out seeds',
              baselines=baselines)
    print(f"results: {out / 'results.json'}; plot: {args.plot or out / 'success.png'}")


# --- the comparison protocol (lift_wide; also lift): validation-selected checkpoints ---

def _deploy_eval(checkpoint, scene: str, seeds: range, duration_s: float):  # noqa: ANN001, ANN202
    """eval-sim's evaluation (``deploy.rollout.evaluate_checkpoint`` with eval-sim's defaults:
    the node's controller and safety filter, latency-faithful, observations one period old;
    a privileged policy gets the sim's cube pose), on the ``scene`` task variant."""
    import dataclasses

    from imitation_ros.deploy.rollout import RolloutConfig, evaluate_checkpoint
    from imitation_ros.sim import load_profile_for_sim

    profile = dataclasses.replace(load_profile_for_sim(), cameras=())
    cfg = RolloutConfig(episodes=len(seeds), first_seed=seeds.start, duration_s=duration_s,
                        timing='faithful', obs_delay_s=1.0 / profile.fps, task=scene)
    return evaluate_checkpoint(checkpoint, profile, cfg).summary


def _best_on_val(history: list[dict], *, after_step: int = 0) -> dict | None:
    """The evaluation record best on the validation seeds (success at the end, then at some
    step, then task return; the earliest wins a tie), among those past ``after_step``."""
    evals = [h for h in history if 'success' in h and h['env_steps'] > after_step]
    if not evals:
        return None
    return max(evals, key=lambda h: (h['success'], h['success_any'], h['return'],
                                     -h['env_steps']))


def compare(args: argparse.Namespace) -> None:  # noqa: PLR0915 - a linear script
    """Expert, blind replay, state-only BC, BC on the privileged pose, GAIL from scratch and
    GAIL initialised from that BC: same demos, same held-out test seeds, checkpoints chosen
    on validation seeds past the demo seeds (see docs/gail.md)."""
    import torch
    from lerobot.utils.train_utils import get_step_checkpoint_dir

    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.sim.task_eval import evaluate_baselines
    from imitation_ros.learn.augment import AugmentConfig
    from imitation_ros.learn.gail.trainer import GailConfig, plot_curves, train_gail
    from imitation_ros.learn.trainer import TrainConfig, train
    from imitation_ros.sim.arm import task_sim_config
    from imitation_ros.sim.gym_env import TASK_SCENES

    torch.set_num_threads(1)
    scene = TASK_SCENES[args.task]
    out = Path(args.out)
    dataset = out / f'data_{scene}_d{args.demos}'
    t0 = time.perf_counter()
    if not (dataset / 'meta' / 'info.json').is_file():
        stats = write_sim_demos(dataset, episodes=args.demos, seed=0, images=False,
                                overwrite=True, sim_config=task_sim_config(scene))
        print(f'{stats.episodes} demos ({scene}, seeds 0..{args.demos - 1}), {stats.frames} '
              f'frames in {time.perf_counter() - t0:.1f} s -> {dataset}', flush=True)
    from imitation_ros.sim.selection import check_disjoint
    from imitation_ros.sim.task_eval import held_out_seeds

    test = held_out_seeds(args.eval)
    val = range(args.demos, args.demos + args.val_episodes)   # past the demos' seeds 0..N-1
    check_disjoint(val, test)           # checkpoints are chosen on val, reported on test
    rows: list[dict] = []

    def row(method: str, summary, **kw) -> None:  # noqa: ANN001
        r = {'method': method, **summary.rate.as_dict(), 'episodes': summary.n,
             'success': summary.success_rate, 'lifted': lifted(summary), **kw}
        rows.append(r)
        print(f"{method}: {summary.rate} on the test seeds "
              f"({', '.join(f'{k} {v}' for k, v in kw.items())})", flush=True)

    base = evaluate_baselines(dataset, task_sim_config(scene), test, duration_s=args.eval_s)
    row('scripted expert', base.expert, env_steps=0, wall_s=0)
    row('blind replay', base.blind, env_steps=0, wall_s=0)
    if args.bc_state_steps:
        bc_out = out / f'bc_state_{scene}_d{args.demos}_st{args.bc_state_steps}'
        shutil.rmtree(bc_out, ignore_errors=True)
        t0 = time.perf_counter()
        res = train(TrainConfig(
            dataset=dataset, policy='bc', output_dir=bc_out, steps=args.bc_state_steps,
            seed=0, device='cpu', val_every=args.bc_state_steps,
            save_every=args.bc_state_steps, inputs='state',
            augment=AugmentConfig(images=False, state_noise_std=0.05), progress=False))
        row('BC (lerobot), joint state only', _deploy_eval(res.checkpoint, scene, test,
                                                           args.eval_s),
            env_steps=0, wall_s=round(time.perf_counter() - t0, 1), seed=0)

    curves: dict[str, list[dict]] = {}
    for seed in args.train_seeds:
        for init in args.inits:
            bc_steps = args.bc_pretrain if init == 'bc' else 0
            name = f'gail_{init}_s{seed}'
            run = out / f'{name}_{scene}_d{args.demos}'
            shutil.rmtree(run, ignore_errors=True)
            lr = args.finetune_lr if init == 'bc' else args.lr
            cfg = GailConfig(dataset=dataset, output_dir=run, task=args.task,
                             horizon=args.horizon, total_steps=args.gail_steps,
                             n_envs=args.n_envs, n_steps=args.n_steps, lr=lr,
                             net_arch=tuple(args.net_arch), eval_every=args.eval_every,
                             eval_episodes=len(val), eval_first_seed=val.start,
                             eval_duration_s=args.eval_s, seed=seed, progress=False,
                             max_wall_s=args.max_wall_s, demo_first_seed=0,
                             bc_pretrain_steps=bc_steps)
            t0 = time.perf_counter()
            res = train_gail(cfg)
            wall = time.perf_counter() - t0
            curves[f'GAIL from {"BC" if init == "bc" else "scratch"}, seed {seed}'] = \
                res.history
            total = cfg.total_steps // cfg.round_steps * cfg.round_steps
            h0 = res.history[0]
            if bc_steps:
                row('BC, joints + privileged cube pose', _deploy_eval(
                    get_step_checkpoint_dir(run, max(1, total), 0), scene, test, args.eval_s),
                    env_steps=0, wall_s=h0.get('bc_wall_s'), seed=seed,
                    val_success=h0['success'])
            best = _best_on_val(res.history)
            label = f'GAIL from {"BC" if init == "bc" else "scratch"}'
            if best is not None:
                row(f'{label}, best on validation', _deploy_eval(
                    get_step_checkpoint_dir(run, total, best['env_steps']), scene, test,
                    args.eval_s), env_steps=best['env_steps'],
                    wall_s=round(best['wall_s'] + h0.get('bc_wall_s', 0), 1), seed=seed,
                    val_success=best['success'])
            last = res.history[-1]
            if best is None or last['env_steps'] != best['env_steps']:
                row(f'{label}, last checkpoint', _deploy_eval(
                    res.checkpoint, scene, test, args.eval_s), env_steps=res.env_steps,
                    wall_s=round(wall, 1), seed=seed, val_success=last.get('success'))
            (out / 'results.json').write_text(json.dumps(
                {'args': vars(args), 'rows': rows, 'curves': curves}, indent=1))

    print(f'\n{args.task} ({scene}): {args.demos} demos (seeds 0..{args.demos - 1}); checkpoints '
          f'chosen on validation seeds {val.start}..{val.stop - 1}; test seeds '
          f'{test.start}..{test.stop - 1}; eval-sim evaluation (deploy controller + safety, '
          f'latency-faithful), {args.eval_s:.0f} s episodes')
    print(f'{"method":45} {"seed":>4} {"test (n, Wilson 95 % CI)":>30} {"lifted":>7} '
          f'{"val":>9} {"env steps":>9} {"wall s":>7}')
    for r in rows:
        val_s = (str(_rate(r['val_success'], len(val)).successes) + f'/{len(val)}'
                 if r.get('val_success') is not None else '')
        test_s = str(_rate(r['successes'], r['episodes'], count=True))
        print(f"{r['method']:45} {r.get('seed', ''):>4} {test_s:>30} "
              f"{r['lifted']:7.0%} {val_s:>9} {r['env_steps']:9d} {r['wall_s'] or 0:7.0f}")
    (out / 'results.json').write_text(json.dumps(
        {'args': vars(args), 'rows': rows, 'curves': curves}, indent=1))
    base_lines = {r['method'] + (f" s{r['seed']}" if 'seed' in r else ''): r['success']
                  for r in rows if not r['method'].startswith('GAIL')}
    plot = Path(args.plot or out / 'gail_wide.png')
    plot_curves(curves, plot, baselines=base_lines,
                title=f'GAIL on {args.task}, {args.demos} demos: success on validation seeds '
                      f'{val.start}..{val.stop - 1} (curves); test seeds {test.start}..'
                      f'{test.stop - 1} (dashed)')
    print(f"results: {out / 'results.json'}; plot: {plot}")


if __name__ == '__main__':
    main()
