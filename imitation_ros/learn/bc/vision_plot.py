"""The vision bench's plot: success per policy and baseline, and rollouts seen by the camera.

Left: success on the *test* seeds (10000..) of each policy's checkpoint chosen on the validation
seeds, the scripted expert and blind replay, with Wilson 95 % intervals as error bars. Next:
success against training time on the *validation* seeds (20000..), one line per policy over its
evaluated checkpoints (the chosen one circled), the expert and blind replay on the same
validation seeds as horizontal lines. Right: for a few rollouts of one
checkpoint, a camera frame near the grasp with the action chunk the policy predicted from that
frame (its predicted end-effector trajectory: forward kinematics of each row, projected into
the image), the path it commanded over the episode, and the path the hand really took.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from imitation_ros.sim.arm import ArmSimConfig


def plot_vision_results(result: dict[str, Any], out: Path, *, checkpoint: str | None = None,
                        sim_config: ArmSimConfig | None = None,
                        seeds: Sequence[int] = ()) -> Path:
    """Write the PNG and return its path.

    Args:
        result: ``results.json`` of ``bench/bench_vision.py``: ``rows`` (``split`` validation or
            test; policy rows with ``step``/``train_s``, baseline rows ``expert`` and
            ``blind replay`` without), ``task``, ``validation_seeds``, ``test_seeds``.
        out: PNG path.
        checkpoint: Checkpoint whose rollouts are drawn (none: bars only).
        sim_config: Task variant of the rollouts.
        seeds: Seeds of the drawn rollouts.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    tests = [r for r in result['rows'] if r['split'] == 'test']
    tests.sort(key=lambda r: (r['policy'] in ('expert', 'blind replay'),
                              r['policy'] == 'blind replay'))    # policies, expert, blind
    rollouts = []
    if checkpoint and sim_config is not None:
        from imitation_ros.sim.task_eval import record_rollout

        rollouts = [record_rollout(checkpoint, sim_config, s) for s in seeds]
    fig, axes = plt.subplots(1, 2 + len(rollouts), figsize=(8.5 + 3.2 * len(rollouts), 3.6),
                             squeeze=False)
    _curves(axes[0, 1], result)
    ax = axes[0, 0]
    colors = {'expert': 'tab:green', 'blind replay': 'tab:gray'}
    values = [r['success_rate'] for r in tests][::-1]
    err = [[r['success_rate'] - r['ci95_low'] for r in tests][::-1],
           [r['ci95_high'] - r['success_rate'] for r in tests][::-1]]
    ax.barh([r['policy'] for r in tests][::-1], values, xerr=err, capsize=3,
            color=[colors.get(r['policy'], 'tab:blue') for r in tests][::-1])
    for i, r in enumerate(tests[::-1]):
        ax.text(0.02, i, f'{r["successes"]}/{r["n"]}', va='center', fontsize=8,
                bbox={'fc': 'white', 'alpha': 0.7, 'lw': 0})
    ax.set_xlim(0, 1)
    t0, t1 = result['test_seeds']
    v0, v1 = result['validation_seeds']
    ax.set_title(f'{result["task"]}: test seeds {t0}..{t1 - 1}\n(checkpoint chosen on '
                 f'validation seeds {v0}..{v1 - 1}; 95 % CI)', fontsize=8)
    for k, ro in enumerate(rollouts):
        a = axes[0, 2 + k]
        lift = ro.measured_xyz[:, 2]
        t = int(min(len(lift) - 1, max(0, int(lift.argmin()))))   # hand lowest: the grasp
        # Show the frame the nearest predicted chunk (a few frames before the grasp) came from.
        earlier = [p for p in ro.predicted_uv if p[0] <= t]
        if earlier:
            t, chunk_uv = earlier[-1]
            a.plot(chunk_uv[:, 0], chunk_uv[:, 1], 'o-', color='magenta', ms=2.5, lw=1.0,
                   label=f'predicted chunk ({len(chunk_uv)} rows)', zorder=3)
        a.imshow(ro.frames[t])
        a.plot(ro.camera_uv[:, 0], ro.camera_uv[:, 1], '-', color='cyan', lw=1.2,
               label='commanded (policy)')
        a.plot(ro.measured_uv[:, 0], ro.measured_uv[:, 1], '--', color='yellow', lw=1.0,
               label='measured')
        a.set_xlim(0, ro.frames.shape[2])
        a.set_ylim(ro.frames.shape[1], 0)
        a.set_title(f'seed {ro.seed}: {"success" if ro.success else "fail"} (frame {t})',
                    fontsize=9)
        a.axis('off')
        if k == 0:
            a.legend(fontsize=7, loc='lower left')
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _curves(ax: Any, result: dict[str, Any]) -> None:
    """Validation success vs training minutes per policy; expert, blind replay as lines."""
    by: dict[str, list[tuple[float, float]]] = {}
    base: dict[str, float] = {}
    for r in result['rows']:
        if r['split'] != 'validation':
            continue
        if 'train_s' in r:
            by.setdefault(r['policy'], []).append((r['train_s'] / 60, r['success_rate']))
        else:
            base[r['policy']] = r['success_rate']
    chosen = {r['policy']: r['train_s'] / 60 for r in result['rows']
              if r['split'] == 'test' and 'train_s' in r}
    palette = ['tab:blue', 'tab:orange', 'tab:red', 'tab:purple', 'tab:brown', 'tab:pink',
               'tab:olive', 'tab:cyan']      # green and gray are the expert and blind replay
    for k, (name, pts) in enumerate(by.items()):
        pts.sort()
        color = palette[k % len(palette)]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], 'o-', label=name, color=color)
        at = [p for p in pts if name in chosen and abs(p[0] - chosen[name]) < 1e-6]
        if at:
            ax.plot(at[0][0], at[0][1], 'o', ms=11, mfc='none', mec=color, mew=1.5)
    if 'expert' in base:
        ax.axhline(base['expert'], color='tab:green', ls='--', lw=1, label='expert')
    if 'blind replay' in base:
        ax.axhline(base['blind replay'], color='tab:gray', ls=':', lw=1.5, label='blind replay')
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(f'training time, min ({result.get("device", "cpu")})')
    ax.set_ylabel('success')
    v0, v1 = result['validation_seeds']
    ax.set_title(f'validation seeds {v0}..{v1 - 1}: success vs training time\n'
                 '(circled: the checkpoint chosen)', fontsize=8)
    ax.legend(fontsize=7, loc='lower right')
    ax.grid(alpha=0.3)
