"""The vision bench's plot: success per policy and baseline, and rollouts seen by the camera.

Left: success rate of every row (policies, scripted expert, blind replay) on the same
held-out seeds. Next: success against training time, one line per policy over its evaluated
checkpoints, the expert and blind replay as horizontal lines. Right: for a few rollouts of one
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
        result: ``results.json`` of ``bench/bench_vision.py`` (``rows``, ``expert``, ``blind``).
        out: PNG path.
        checkpoint: Checkpoint whose rollouts are drawn (none: bars only).
        sim_config: Task variant of the rollouts.
        seeds: Seeds of the drawn rollouts.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    best: dict[str, float] = {}
    for r in result['rows']:
        best[r['policy']] = max(best.get(r['policy'], 0.0), r['success_rate'])
    labels = [*best, 'expert', 'blind replay']
    values = [*best.values(), result['expert'], result['blind']]
    rollouts = []
    if checkpoint and sim_config is not None:
        from imitation_ros.sim.task_eval import record_rollout

        rollouts = [record_rollout(checkpoint, sim_config, s) for s in seeds]
    fig, axes = plt.subplots(1, 2 + len(rollouts), figsize=(8.5 + 3.2 * len(rollouts), 3.6),
                             squeeze=False)
    _curves(axes[0, 1], result)
    ax = axes[0, 0]
    colors = ['tab:blue'] * len(best) + ['tab:green', 'tab:gray']
    ax.barh(labels[::-1], values[::-1], color=colors[::-1])
    for i, v in enumerate(values[::-1]):
        ax.text(min(v + 0.02, 0.85), i, f'{v:.0%}', va='center')
    ax.set_xlim(0, 1)
    n = result['seeds'][1] - result['seeds'][0]
    ax.set_title(f'{result["task"]}: success on {n} held-out seeds\n(best checkpoint per row)',
                 fontsize=9)
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
    """Success vs training minutes per policy; expert and blind replay as horizontal lines."""
    by: dict[str, list[tuple[float, float]]] = {}
    for r in result['rows']:
        by.setdefault(r['policy'], []).append((r['train_s'] / 60, r['success_rate']))
    palette = ['tab:blue', 'tab:orange', 'tab:red', 'tab:purple', 'tab:brown', 'tab:pink',
               'tab:olive', 'tab:cyan']      # green and gray are the expert and blind replay
    for k, (name, pts) in enumerate(by.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], 'o-', label=name,
                color=palette[k % len(palette)])
    ax.axhline(result['expert'], color='tab:green', ls='--', lw=1, label='expert')
    ax.axhline(result['blind'], color='tab:gray', ls=':', lw=1.5, label='blind replay')
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(f'training time, min ({result.get("device", "cpu")})')
    ax.set_ylabel('success')
    ax.set_title('success vs training time', fontsize=9)
    ax.legend(fontsize=7, loc='lower right')
    ax.grid(alpha=0.3)
