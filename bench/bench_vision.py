"""Does a policy that sees beat blind replay on the task that needs eyes? Trains and evaluates.

    PYTHONPATH=. MUJOCO_GL=egl OMP_NUM_THREADS=1 python bench/bench_vision.py \
        [--task lift_cube_wide] [--demos 100] [--val 20] [--eval 30] \
        [--policies bc_image,bc_state,act,diffusion] [--steps act=400,diffusion=800] \
        [--checkpoints 4 | --checkpoints bc_image=3,act=4] [--minutes 12] [--device cpu|cuda] \
        [--out runs/vision] [--fresh]

Writes ``--demos`` scripted-expert demos (seeds 0..N-1, front camera 96x128) of ``--task``
and trains each policy (``imitation_ros.sim.task_eval.evaluate_checkpoint_on_task`` evaluates):

* ``bc_image``: BC with the spatial-softmax encoder, random-shift augmentation, state + image;
* ``bc_state``: the same BC on joint state only (cannot know where the cube is);
* ``act`` / ``diffusion``: lerobot's policies with CPU-sized settings (no pretrained weights).

Choosing and reporting use disjoint seeds. ``--checkpoints K`` checkpoints spread over each
run are evaluated on ``--val`` *validation* seeds (20000..: success vs training time;
``--minutes``: skip checkpoints reached after that much training); per policy the checkpoint
with the most validation successes (ties: the earlier step) is chosen
(``imitation_ros.sim.selection.choose_by_validation``), and only it is evaluated on ``--eval``
*test* seeds (10000..), beside the scripted expert (ceiling) and blind replay of the demos'
mean action trajectory (floor) on the same test seeds. Every rate is printed as successes of
n with a Wilson 95 % interval.

ACT's and Diffusion's settings are the presets ``config/train_act_cpu.yaml`` and
``config/train_diffusion_cpu.yaml``. The same command runs on a GPU (``--device cuda``).
Prints the validation and test tables, writes ``results.json`` (``rows`` with ``split``
validation or test; rows of other policies from an earlier run of the same task, demos, seeds
and device are kept, re-read at each write, so two processes running different policies into
one ``--out`` both land in it; ``--fresh`` drops them) and a plot: test success per row with
its interval, validation success vs training time, and camera frames of a few test rollouts
with the action chunk the policy predicted drawn over them. Asserts nothing.
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
    parser.add_argument('--eval', type=int, default=30,
                        help='test episodes (held-out seeds 10000..) of each reported row')
    parser.add_argument('--val', type=int, default=20,
                        help='validation episodes (seeds 20000..) per checkpoint, to choose')
    parser.add_argument('--eval-s', type=float, default=8.0)
    parser.add_argument('--policies', default='bc_image,bc_state')
    parser.add_argument('--steps', default='', help='per policy, e.g. bc_image=3000,act=5000')
    parser.add_argument('--checkpoints', default='1',
                        help='evaluate this many checkpoints per run on the validation seeds '
                             '(success vs time), e.g. 4 or bc_image=3,act=4 (others: 1)')
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
    from imitation_ros.sim.selection import TEST, VALIDATION, check_disjoint, choose_by_validation
    from imitation_ros.sim.task_eval import (
        EVALUATION,
        evaluate_baselines,
        evaluate_checkpoint_on_task,
        held_out_seeds,
        validation_seeds,
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
    val_seeds, test_seeds = validation_seeds(args.val), held_out_seeds(args.eval)
    check_disjoint(val_seeds, test_seeds)
    result: dict[str, Any] = {
        'task': args.task, 'demos': args.demos, 'device': args.device,
        'validation_seeds': [val_seeds.start, val_seeds.stop],
        'test_seeds': [test_seeds.start, test_seeds.stop], 'evaluation': EVALUATION,
        'selection': 'per policy, the checkpoint with the most validation successes '
                     '(ties: the earlier step); only it is evaluated on the test seeds',
        'rows': []}
    rows: list[dict[str, Any]] = result['rows']
    for split, seeds in ((VALIDATION, val_seeds), (TEST, test_seeds)):
        base = evaluate_baselines(dataset, sim_cfg, seeds, duration_s=args.eval_s)
        for label, summ in (('expert', base.expert), ('blind replay', base.blind)):
            rows.append({'policy': label, 'split': split, 'seeds': [seeds.start, seeds.stop],
                         **summ.rate.as_dict()})
            print(f'{split}: {label} {summ.rate}', flush=True)
    steps_over = dict(kv.split('=') for kv in args.steps.split(',') if kv)
    ckpts_over = (dict(kv.split('=') for kv in args.checkpoints.split(',') if kv)
                  if '=' in args.checkpoints else {})
    for name in [p for p in args.policies.split(',') if p]:
        s = POLICY_SETTINGS[name]
        steps = int(steps_over.get(name, s['steps']))
        n_ck = int(ckpts_over.get(name, 1) if ckpts_over else args.checkpoints)
        every = max(1, -(-steps // max(1, n_ck)))   # the last one is the final step
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
        print(f'{name}: {res.step} steps trained in {train_s:.0f} s', flush=True)
        ckpts = sorted((p for p in (run / 'checkpoints').iterdir()
                        if p.name.isdigit()), key=lambda p: int(p.name))
        mine: list[dict[str, Any]] = []
        for ck in ckpts:
            step = int(ck.name)
            t_at = train_s * step / res.step
            if args.minutes is not None and t_at > args.minutes * 60 and ck != ckpts[0]:
                break
            mine.append(_policy_row(name, VALIDATION, val_seeds, ck, step, t_at, sim_cfg,
                                    args.eval_s, evaluate_checkpoint_on_task))
            print(f'{name} step {step} ({t_at:.0f} s) validation: {_rate(mine[-1])}',
                  flush=True)
        pick = choose_by_validation(mine, test_seeds)[name]
        rows.extend(mine)
        rows.append(_policy_row(name, TEST, test_seeds, Path(pick['checkpoint']).parent,
                                pick['step'], pick['train_s'], sim_cfg, args.eval_s,
                                evaluate_checkpoint_on_task))
        print(f'{name} step {pick["step"]} (chosen on validation) test: {_rate(rows[-1])}',
              flush=True)
        _write(out, result, args)        # after each policy: a stopped run keeps its rows

    result['rows'] = _write(out, result, args)
    print(f'\n{args.task}: {args.demos} demos, {args.device}, {torch.get_num_threads()} '
          f'thread(s); evaluation: {EVALUATION}\nchosen on validation seeds '
          f'{val_seeds.start}..{val_seeds.stop - 1}, reported on test seeds '
          f'{test_seeds.start}..{test_seeds.stop - 1}')
    _print_table(result['rows'])
    try:
        from imitation_ros.learn.bc.vision_plot import plot_vision_results

        tests = [r for r in result['rows'] if r['split'] == TEST and 'checkpoint' in r
                 and r['policy'] != 'bc_state']
        pick = max(tests, key=lambda r: r['success_rate'], default=None)
        png = plot_vision_results(result, Path(args.plot or out / 'vision.png'),
                                  checkpoint=pick['checkpoint'] if pick else None,
                                  sim_config=sim_cfg, seeds=list(test_seeds)[:3])
        print(f'plot -> {png}')
    except Exception as err:  # noqa: BLE001 - a plot must not lose the numbers
        print(f'plot failed: {err}')


def _policy_row(name: str, split: str, seeds: range, ck: Path, step: int, t_at: float,
                sim_cfg: Any, eval_s: float, evaluate: Any) -> dict[str, Any]:
    """Evaluate checkpoint directory ``ck`` (``.../checkpoints/<step>``) on ``seeds``: one row."""
    t1 = time.perf_counter()
    summ = evaluate(ck / 'pretrained_model', sim_cfg, seeds, duration_s=eval_s)
    return {'policy': name, 'split': split, 'seeds': [seeds.start, seeds.stop], 'step': step,
            'train_s': round(t_at, 1), **summ.rate.as_dict(),
            'per_seed': [bool(r.success) for r in summ.results],
            'eval_s': round(time.perf_counter() - t1, 1),
            'checkpoint': str(ck / 'pretrained_model')}


def _rate(row: dict[str, Any]) -> str:
    """``18/20 (90%, 95 % CI 70%-97%)`` of a row."""
    from imitation_ros.stats import Rate

    return str(Rate(int(row['successes']), int(row['n'])))


def _print_table(rows: list[dict[str, Any]]) -> None:
    """Validation rows (every checkpoint, the curve) and test rows (the reported numbers)."""
    for split, head in (('validation', 'validation (choosing; success vs training time)'),
                        ('test', 'test (reported: chosen checkpoint, expert, blind replay)')):
        print(f'\n{head}\n{"row":12} {"step":>6} {"train_s":>8}  success')
        for r in rows:
            if r['split'] != split:
                continue
            step = f'{r["step"]:6d}' if 'step' in r else f'{"":6}'
            train_s = f'{r["train_s"]:8.0f}' if 'train_s' in r else f'{"":8}'
            print(f'{r["policy"]:12} {step} {train_s}  {_rate(r)}')


def _write(out: Path, result: dict[str, Any], args: Any) -> list[dict[str, Any]]:
    """Write ``out/results.json`` (this run's rows after the kept earlier ones); return all rows.

    The earlier rows are read again at each write, so two runs of different policies into one
    ``--out`` (one per core) both end up in it.
    """
    out.mkdir(parents=True, exist_ok=True)
    earlier = [] if args.fresh else _earlier_rows(out / 'results.json', result, args)
    rows = earlier + result['rows']
    (out / 'results.json').write_text(json.dumps({**result, 'rows': rows}, indent=2))
    return rows


def _earlier_rows(path: Path, result: dict[str, Any], args: Any) -> list[dict[str, Any]]:
    """Policy rows, of policies not run now, of an earlier ``results.json`` of this comparison.

    Kept only when task, demos, device and both seed ranges are the same (baseline rows are
    always this run's).
    """
    if not path.is_file():
        return []
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        print(f'{path}: unreadable ({err}); not merged')
        return []
    keys = ('task', 'demos', 'device', 'validation_seeds', 'test_seeds')
    if not all(old.get(k) == result[k] for k in keys):
        print(f'{path}: another task, demo count, seed range or device; not merged')
        return []
    now = {p for p in args.policies.split(',') if p} | {'expert', 'blind replay'}
    kept = [r for r in old.get('rows', []) if r.get('policy') not in now]
    if kept:
        print(f'kept {len(kept)} row(s) of {sorted({r["policy"] for r in kept})} from {path} '
              '(same task, demos, seeds, device; --fresh drops them)')
    return kept


if __name__ == '__main__':
    main()
