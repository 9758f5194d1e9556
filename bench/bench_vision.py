"""Does a policy that sees beat blind replay on the task that needs eyes? Trains and evaluates.

    MUJOCO_GL=egl OMP_NUM_THREADS=1 python bench/bench_vision.py \
        [--task lift_cube_wide] [--demos 100] [--eval 30] \
        [--policies bc_image,bc_state,act,diffusion] [--steps act=400,diffusion=800] \
        [--checkpoints 4] [--minutes 12] [--device cpu|cuda] [--out runs/vision] [--fresh]

Writes ``--demos`` scripted-expert demos (seeds 0..N-1, front camera 96x128) of ``--task``,
then on the same held-out seeds (10000..): the scripted expert (ceiling), blind replay of the
demos' mean action trajectory (floor), and each policy trained here and evaluated through
``imitation_ros.sim.task_eval.evaluate_checkpoint_on_task``:

* ``bc_image``: BC with the spatial-softmax encoder, random-shift augmentation, state + image;
* ``bc_state``: the same BC on joint state only (cannot know where the cube is);
* ``act`` / ``diffusion``: lerobot's policies with CPU-sized settings (no pretrained weights).

``--checkpoints K`` evaluates K checkpoints spread over each run, giving success vs training
time (``--minutes``: skip the evaluation of checkpoints reached after that much training).
ACT's and Diffusion's settings are the presets ``config/train_act_cpu.yaml`` and
``config/train_diffusion_cpu.yaml``. The same command runs on a GPU (``--device cuda``).
Prints one table, writes ``results.json`` (rows of other policies from an earlier run of the
same task, demos, seeds and device are kept; ``--fresh`` drops them) and a plot: success per
row, success vs training time, and camera frames of a few rollouts with the action chunk the
policy predicted drawn over them. Asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('OMP_NUM_THREADS', '1')

#: Per-policy training settings measured to learn the wide task on a CPU. ACT's and Diffusion's
#: lerobot fields come from the presets ``config/train_act_cpu.yaml`` and
#: ``config/train_diffusion_cpu.yaml`` (what ``imitation-ros train --config`` and the demo use).
POLICY_SETTINGS: dict[str, dict[str, Any]] = {
    'bc_image': {'policy': 'bc', 'inputs': 'all', 'steps': 2000, 'batch_size': 64,
                 'preset': None},
    'bc_state': {'policy': 'bc', 'inputs': 'state', 'steps': 2000, 'batch_size': 64,
                 'preset': None},
    'act': {'policy': 'act', 'inputs': 'all', 'steps': 400, 'batch_size': 16,
            'preset': 'train_act_cpu'},
    'diffusion': {'policy': 'diffusion', 'inputs': 'all', 'steps': 800, 'batch_size': 32,
                  'preset': 'train_diffusion_cpu'},
}


def policy_overrides(name: str) -> dict[str, Any]:
    """The lerobot config fields a bench row trains with (its preset's ``policy:`` mapping)."""
    from imitation_ros.cli.train import parse_overrides

    preset = POLICY_SETTINGS[name]['preset']
    return parse_overrides([], preset) if preset else {}


def vision_augment(state_noise: float = 0.05, shift_px: int = 4) -> Any:
    """The augmentation the image policies train with: random shift, mild colour, state noise."""
    from imitation_ros.learn.augment import AugmentConfig

    return AugmentConfig(brightness=0.1, contrast=0.1, saturation=0.1, hue=0.0, degrees=0.0,
                         translate=0.0, shift_px=shift_px, state_noise_std=state_noise)


def main() -> None:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', default='lift_cube_wide')
    parser.add_argument('--demos', type=int, default=100)
    parser.add_argument('--eval', type=int, default=30, help='held-out closed-loop episodes')
    parser.add_argument('--eval-s', type=float, default=8.0)
    parser.add_argument('--policies', default='bc_image,bc_state')
    parser.add_argument('--steps', default='', help='per policy, e.g. bc_image=3000,act=5000')
    parser.add_argument('--checkpoints', type=int, default=1,
                        help='evaluate this many checkpoints per run (success vs time)')
    parser.add_argument('--minutes', type=float, default=None,
                        help='stop a run at its first checkpoint past this training time')
    parser.add_argument('--state-noise', type=float, default=0.05)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='runs/vision')
    parser.add_argument('--plot', default=None, help='PNG (default OUT/vision.png)')
    parser.add_argument('--fresh', action='store_true',
                        help='drop the rows of other policies in OUT/results.json (by default '
                             'kept when task, demos, seeds and device match, so policies can '
                             'be run one at a time into one table and plot)')
    args = parser.parse_args()

    import torch

    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.learn.trainer import TrainConfig, train
    from imitation_ros.sim.arm import task_sim_config
    from imitation_ros.sim.task_eval import (
        EVALUATION,
        evaluate_baselines,
        evaluate_checkpoint_on_task,
        held_out_seeds,
    )

    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    out = Path(args.out)
    sim_cfg = task_sim_config(args.task)
    dataset = out / f'data_{args.task}_d{args.demos}_s{args.seed}'
    if not (dataset / 'meta' / 'info.json').is_file():
        t0 = time.perf_counter()
        st = write_sim_demos(dataset, episodes=args.demos, seed=args.seed, sim_config=sim_cfg,
                             overwrite=True)
        print(f'{st.episodes} demos ({st.frames} frames, expert {st.successes}/{st.episodes}) '
              f'in {time.perf_counter() - t0:.0f} s -> {dataset}', flush=True)
    seeds = held_out_seeds(args.eval)
    base = evaluate_baselines(dataset, sim_cfg, seeds, duration_s=args.eval_s)
    print(f'expert {base.expert.successes}/{base.expert.n}, blind replay '
          f'{base.blind.successes}/{base.blind.n}', flush=True)
    steps_over = dict(kv.split('=') for kv in args.steps.split(',') if kv)
    rows: list[dict[str, Any]] = []
    for name in [p for p in args.policies.split(',') if p]:
        s = POLICY_SETTINGS[name]
        steps = int(steps_over.get(name, s['steps']))
        every = max(1, -(-steps // max(1, args.checkpoints)))   # the last one is the final step
        run = out / f'{name}_{args.task}_d{args.demos}_st{steps}'
        shutil.rmtree(run, ignore_errors=True)
        cfg = TrainConfig(dataset=dataset, policy=s['policy'], output_dir=run, steps=steps,
                          batch_size=s['batch_size'], seed=args.seed, device=args.device,
                          val_every=steps, save_every=every, inputs=s['inputs'],
                          augment=vision_augment(args.state_noise,
                                                 4 if s['policy'] == 'bc' else 0),
                          policy_overrides=policy_overrides(name), progress=False)
        t0 = time.perf_counter()
        res = train(cfg)
        train_s = time.perf_counter() - t0
        ckpts = sorted((p for p in (run / 'checkpoints').iterdir()
                        if p.name.isdigit()), key=lambda p: int(p.name))
        for ck in ckpts:
            step = int(ck.name)
            t_at = train_s * step / res.step
            if args.minutes is not None and t_at > args.minutes * 60 and ck != ckpts[0]:
                break
            t1 = time.perf_counter()
            summ = evaluate_checkpoint_on_task(ck / 'pretrained_model', sim_cfg, seeds,
                                               duration_s=args.eval_s)
            rows.append({'policy': name, 'step': step, 'train_s': round(t_at, 1),
                         'successes': summ.successes, 'n': summ.n,
                         'success_rate': summ.success_rate,
                         'per_seed': [bool(r.success) for r in summ.results],
                         'eval_s': round(time.perf_counter() - t1, 1),
                         'checkpoint': str(ck / 'pretrained_model')})
            print(f'{name} step {step} ({t_at:.0f} s): {summ.successes}/{summ.n}', flush=True)

    print(f'\n{args.task}: {args.demos} demos, held-out seeds {seeds.start}..{seeds.stop - 1}, '
          f'{args.device}, {torch.get_num_threads()} thread(s); evaluation: {EVALUATION}')
    print(f'{"row":12} {"step":>6} {"train_s":>8} {"success":>9}')
    for r in rows:
        print(f'{r["policy"]:12} {r["step"]:6d} {r["train_s"]:8.0f} '
              f'{r["successes"]:3d}/{r["n"]:<3d} {r["success_rate"]:5.0%}')
    for label, summ in (('expert', base.expert), ('blind replay', base.blind)):
        print(f'{label:12} {"":6} {"":8} {summ.successes:3d}/{summ.n:<3d} '
              f'{summ.success_rate:5.0%}')
    result = {'task': args.task, 'demos': args.demos, 'seeds': [seeds.start, seeds.stop],
              'device': args.device, 'evaluation': EVALUATION,
              'expert': base.expert.success_rate, 'blind': base.blind.success_rate,
              'rows': rows}
    out.mkdir(parents=True, exist_ok=True)
    earlier = _earlier_rows(out / 'results.json', result) if not args.fresh else []
    if earlier:
        print(f'kept {len(earlier)} row(s) of {sorted({r["policy"] for r in earlier})} from '
              f'{out / "results.json"} (same task, demos, seeds, device; --fresh drops them)')
        for r in earlier:
            print(f'{r["policy"]:12} {r["step"]:6d} {r["train_s"]:8.0f} '
                  f'{r["successes"]:3d}/{r["n"]:<3d} {r["success_rate"]:5.0%}')
        result['rows'] = earlier + rows
    (out / 'results.json').write_text(json.dumps(result, indent=2))
    try:
        from imitation_ros.learn.bc.vision_plot import plot_vision_results

        best = max((r for r in result['rows'] if r['policy'] != 'bc_state'),
                   key=lambda r: r['success_rate'], default=None)
        png = plot_vision_results(result, Path(args.plot or out / 'vision.png'),
                                  checkpoint=best['checkpoint'] if best else None,
                                  sim_config=sim_cfg, seeds=list(seeds)[:3])
        print(f'plot -> {png}')
    except Exception as err:  # noqa: BLE001 - a plot must not lose the numbers
        print(f'plot failed: {err}')


def _earlier_rows(path: Path, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of other policies in an earlier ``results.json`` of the same comparison."""
    if not path.is_file():
        return []
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        print(f'{path}: unreadable ({err}); not merged')
        return []
    same = all(old.get(k) == result[k] for k in ('task', 'demos', 'seeds', 'device'))
    if not same:
        print(f'{path}: another task, demo count, seed range or device; not merged')
        return []
    mine = {r['policy'] for r in result['rows']}
    return [r for r in old.get('rows', []) if r['policy'] not in mine]


if __name__ == '__main__':
    main()
