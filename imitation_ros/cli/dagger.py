"""``imitation-ros dagger-round`` and ``dagger-sim``: DAgger rounds, from bags or in-process.

``dagger-round`` (recorded sessions)::

    imitation-ros dagger-round runs/dagger/bags/round1_* --profile config/sim_arm_dagger.yaml \\
        --previous runs/dagger/round0/dataset --out runs/dagger/round1 [--eval-sim 20]

converts the round's bags (with the per-frame ``intervention`` feature) into
``<out>/collected``, aggregates them with the earlier rounds' own frames (each ``--previous``
round folder contributes its ``collected/``, or its ``dataset/`` when it has no
``collected/`` -- round 0's demos; a dataset folder contributes itself) into
``<out>/dataset`` (lerobot's aggregation), retrains the policy on the aggregate
(``--steps``; ``--resume-from`` continues an earlier run instead), evaluates it in the
simulator when the profile is the simulated arm's, and writes ``report.json``,
``report.md`` and ``rounds.png`` (the rounds so far, read from ``--previous``' reports).
``--policy-weight W`` weighs the frames the policy drove (this round's and the earlier
rounds' collected frames not flagged ``intervention``) W in the loss; demos and the
expert's frames weigh 1 (``<out>/frame_weights.npy``).

``dagger-sim`` (the whole experiment in one process, no DDS)::

    imitation-ros dagger-sim --out runs/dagger_sim --task lift_cube_wide --images \\
        --demos 10 --rounds 2 --episodes 10 --steps 600 --policy-frames keep

round 0 = BC on ``--demos`` expert demos; each round the checkpoint drives the sim through
the DAgger gate core while the scripted expert takes over when it strays; BC is retrained on
the aggregate; plain BC with as many extra demo frames is the baseline; every checkpoint is
evaluated on the held-out test seeds (10000..) beside the expert and blind replay.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Add ``dagger-round`` and ``dagger-sim``."""
    doc = __doc__ or ''
    p = sub.add_parser('dagger-round', help='convert a DAgger round\'s bags, aggregate, '
                       'retrain, evaluate, report', description=doc,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('bags', nargs='+', metavar='BAG', help='this round\'s bag directories')
    p.add_argument('--profile', required=True, help='robot profile (records /intervention_events)')
    p.add_argument('--out', required=True, help='round folder (dataset, train, report)')
    p.add_argument('--previous', nargs='*', default=[], metavar='DIR',
                   help='earlier rounds: round folders (their dataset/) or dataset folders')
    p.add_argument('--policy', default='bc', choices=('bc', 'act', 'diffusion'))
    p.add_argument('--steps', type=int, default=2000, help='training steps')
    p.add_argument('--inputs', default='state', choices=('state', 'all'))
    p.add_argument('--resume-from', default=None,
                   help='training output of the last round: continue it (same output layout)')
    p.add_argument('--eval-sim', type=int, default=20,
                   help='closed-loop episodes in the sim (0: skip; only for the sim arm)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--policy-weight', type=float, default=None, metavar='W',
                   help='loss weight of the frames the policy drove, in [0, 1] (default: '
                        'every frame weighs 1)')
    p.set_defaults(func=_round)
    s = sub.add_parser('dagger-sim', help='DAgger rounds on the simulated arm, in-process',
                       description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument('--out', required=True)
    s.add_argument('--demos', type=int, default=5)
    s.add_argument('--rounds', type=int, default=4)
    s.add_argument('--episodes', type=int, default=10, help='gated episodes per round')
    s.add_argument('--eval', type=int, default=20, help='held-out episodes per checkpoint')
    s.add_argument('--steps', type=int, default=1000)
    s.add_argument('--state-noise', type=float, default=None,
                   help='training state noise, rad (default 0.05 with --images, else 0.01)')
    s.add_argument('--task', default=None, choices=('lift_cube', 'lift_cube_wide'),
                   help='cube task variant (lift_cube_wide needs eyes; default lift_cube)')
    s.add_argument('--images', action='store_true',
                   help='image BC (state + camera, the demo\'s recipe) instead of state-only')
    s.add_argument('--mode', default='hg', choices=('hg', 'classic', 'label_only'))
    s.add_argument('--beta0', type=float, default=1.0)
    s.add_argument('--beta-decay', type=float, default=0.5)
    s.add_argument('--policy-frames', default='drop', choices=('keep', 'weight', 'drop'))
    s.add_argument('--policy-weight', type=float, default=0.25)
    s.add_argument('--seed', type=int, default=0)
    s.add_argument('--no-baseline', action='store_true')
    s.add_argument('--baseline-last-only', action='store_true',
                   help='train the plain-BC baseline only after the last round')
    s.add_argument('--baseline-full', action='store_true',
                   help='baseline demos run the full episode like the gated ones')
    s.add_argument('--stop-on-success', action='store_true',
                   help='end gated episodes once success held (default: run the full episode)')
    s.set_defaults(func=_sim)


def _sim(args: argparse.Namespace) -> int:
    os.environ.setdefault('MUJOCO_GL', 'egl')
    from imitation_ros.dagger.rounds import RoundsConfig, run_rounds

    recs = run_rounds(RoundsConfig(
        out=Path(args.out), demos=args.demos, rounds=args.rounds, episodes=args.episodes,
        eval_episodes=args.eval, steps=args.steps, state_noise=args.state_noise,
        mode=args.mode, beta0=args.beta0, beta_decay=args.beta_decay,
        policy_frames=args.policy_frames, policy_weight=args.policy_weight, seed=args.seed,
        baseline=not args.no_baseline, stop_on_success=args.stop_on_success,
        baseline_full=args.baseline_full, task=args.task, images=args.images,
        baseline_last_only=args.baseline_last_only))
    print((Path(args.out) / 'report.md').read_text())
    return 0 if recs else 1


def _dataset_of(path: Path) -> Path:
    """A previous round's own frames: its ``collected/`` (a round from bags), else its
    ``dataset/`` (round 0: the demos), else the folder itself (a dataset)."""
    for sub in ('collected', 'dataset'):
        if (path / sub / 'meta' / 'info.json').is_file():
            return path / sub
    return path


def _gated(path: Path) -> bool:
    """Whether an earlier round folder came from a gated session (its report says so)."""
    report = path / 'report.json'
    if not report.is_file():
        return False
    return bool(json.loads(report.read_text())['rounds'][-1].get('gated', False))


def _weights(parts: list[tuple[Path, bool]], policy_weight: float) -> Any:
    """Per-frame loss weights of the aggregate of ``parts`` (``(dataset, gated)``, in order):
    in a gated session's frames those not flagged ``intervention`` (the policy drove) weigh
    ``policy_weight``; demos (no gate) and the expert's frames weigh 1."""
    import numpy as np

    from imitation_ros.dagger.labels import frame_weights
    from imitation_ros.data.writer import INTERVENTION

    out = []
    for part, gated in parts:
        n = _total(part)
        if gated:
            flags = _flags(part, INTERVENTION)
            if len(flags) != n:
                from imitation_ros.errors import DatasetError

                msg = f'{part}: {len(flags)} intervention flags for {n} frames'
                raise DatasetError(msg)
            out.append(frame_weights(flags, 'weight', policy_weight))
        else:
            out.append(np.ones(n, np.float32))
    return np.concatenate(out)


def _round(args: argparse.Namespace) -> int:
    import shutil

    os.environ.setdefault('MUJOCO_GL', 'egl')
    from imitation_ros.dagger.labels import intervention_rate
    from imitation_ros.data.convert import ConvertOptions, bags_have_interventions, convert_bags
    from imitation_ros.data.writer import INTERVENTION, merge_datasets
    from imitation_ros.errors import DatasetError
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import resolve_config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    profile = load_profile(resolve_config(args.profile))
    collected = out / 'collected'
    summary = convert_bags(args.bags, profile, collected, ConvertOptions(intervention=True))
    if summary.failed:
        msg = '; '.join(b.error for b in summary.failed)
        raise DatasetError(f'{out}: bags failed to convert: {msg}')
    flags = _flags(collected, INTERVENTION)
    dataset = out / 'dataset'
    shutil.rmtree(dataset, ignore_errors=True)
    parts = [_dataset_of(Path(p)) for p in args.previous] + [collected]
    merge_datasets(parts, f'local/{out.name}', dataset)
    weights_file = None
    if args.policy_weight is not None:
        import numpy as np

        gated = [_gated(Path(p)) for p in args.previous] + [bags_have_interventions(args.bags)]
        weights = _weights(list(zip(parts, gated, strict=True)), args.policy_weight)
        if len(weights) != _total(dataset):
            msg = f'{dataset}: {_total(dataset)} frames, {len(weights)} weights'
            raise DatasetError(msg)
        weights_file = out / 'frame_weights.npy'
        np.save(weights_file, weights)
    from imitation_ros.learn.trainer import TrainConfig, train

    train_dir = Path(args.resume_from) if args.resume_from else out / 'train'
    res = train(TrainConfig(dataset=dataset, policy=args.policy, output_dir=train_dir,
                            steps=args.steps, device=args.device, resume=bool(args.resume_from),
                            inputs=args.inputs, save_every=args.steps, val_every=args.steps,
                            frame_weights=weights_file))
    rate = successes = episodes = None
    if args.eval_sim > 0 and profile.name == 'sim_arm':
        from imitation_ros.deploy.rollout import RolloutConfig, evaluate_checkpoint

        ev = evaluate_checkpoint(res.checkpoint, profile,
                                 RolloutConfig(episodes=args.eval_sim, device=args.device),
                                 progress=True).summary
        rate, successes, episodes = ev.success_rate, ev.successes, ev.n
    row = {'round': out.name, 'frames_added': summary.frames,
           'expert_frames_added': int(flags.sum()), 'intervention_rate': intervention_rate(flags),
           'frames_total': _total(dataset), 'success_rate': rate,
           'successes': successes, 'eval_episodes': episodes,
           'gated': bags_have_interventions(args.bags), 'policy_weight': args.policy_weight,
           'checkpoint': str(res.checkpoint)}
    history = [json.loads((Path(p) / 'report.json').read_text())['rounds'][-1]
               for p in args.previous if (Path(p) / 'report.json').is_file()]
    rows = [*history, row]
    (out / 'report.json').write_text(json.dumps({'rounds': rows}, indent=1) + '\n')
    lines = ['| round | frames added | expert frames | intervention rate | success |',
             '|---|---|---|---|---|']
    lines += [f'| {r["round"]} | {r["frames_added"]} | {r["expert_frames_added"]} | '
              f'{r["intervention_rate"]:.0%} | '
              f'{_success(r)} |' for r in rows]
    (out / 'report.md').write_text('\n'.join(lines) + '\n')
    _plot(rows, out / 'rounds.png')
    print('\n'.join(lines))
    return 0


def _success(row: dict[str, Any]) -> str:
    """A report row's sim success: k/n with the Wilson 95 % interval when it has counts."""
    from imitation_ros.stats import Rate

    if row.get('successes') is not None and row.get('eval_episodes'):
        return str(Rate(int(row['successes']), int(row['eval_episodes'])))
    return '-' if row.get('success_rate') is None else format(row['success_rate'], '.0%')


def _flags(root: Path, key: str) -> Any:
    import numpy as np
    import pandas as pd

    files = sorted((root / 'data').rglob('*.parquet'))
    if not files:
        return np.zeros(0, bool)
    df = pd.concat([pd.read_parquet(p, columns=[key, 'index']) for p in files])
    col = df.sort_values('index')[key]          # global frame order
    return np.array([bool(np.asarray(v).reshape(-1)[0]) for v in col], bool)


def _total(root: Path) -> int:
    return int(json.loads((root / 'meta' / 'info.json').read_text())['total_frames'])


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    xs = list(range(len(rows)))
    ax[0].plot(xs, [r['success_rate'] if r['success_rate'] is not None else float('nan')
                    for r in rows], 'o-')
    ax[0].set(xlabel='round', ylabel='sim success', ylim=(-0.02, 1.02))
    ax[1].bar(xs, [r['intervention_rate'] for r in rows])
    ax[1].set(xlabel='round', ylabel='intervention rate', ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
