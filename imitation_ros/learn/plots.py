"""PNG plots of training curves and offline evaluation (matplotlib, Agg backend)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _plt():  # noqa: ANN202 - matplotlib module
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def read_metrics(path: str | Path) -> list[dict]:
    """Return the records of a ``metrics.jsonl`` file ([] if absent)."""
    p = Path(path)
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def plot_losses(metrics: Sequence[dict], out: str | Path, title: str = '') -> Path:
    """Plot training loss, validation loss and validation action MAE against the step."""
    plt = _plt()
    train = [m for m in metrics if 'loss' in m]
    val = [m for m in metrics if 'val_loss' in m]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    if train:
        ax1.plot([m['step'] for m in train], [m['loss'] for m in train], label='train loss')
    if val:
        ax1.plot([m['step'] for m in val], [m['val_loss'] for m in val], 'o-', label='val loss')
        ax2.plot([m['step'] for m in val], [m['val_mae'] for m in val], 'o-', color='C2',
                 label='val action MAE (mean over joints)')
    ax1.set_xlabel('step')
    ax1.set_ylabel('loss')
    if train and min(m['loss'] for m in train) > 0:
        ax1.set_yscale('log')
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.set_xlabel('step')
    ax2.set_ylabel('MAE (action units)')
    if val:
        ax2.legend()
    ax2.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def plot_actions(pred: dict[int, np.ndarray], true: dict[int, np.ndarray], names: Sequence[str],
                 out: str | Path, fps: float, title: str = '') -> Path:
    """Plot predicted against demonstrated actions, one panel per joint, per episode."""
    plt = _plt()
    n = len(names)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3 * rows), squeeze=False)
    for j, name in enumerate(names):
        ax = axes[j // cols][j % cols]
        for i, ep in enumerate(sorted(pred)):
            t = np.arange(len(true[ep])) / fps
            ax.plot(t, true[ep][:, j], color=f'C{i % 10}', lw=1.5,
                    label=f'ep {ep} demo' if j == 0 else None)
            ax.plot(t, pred[ep][:, j], color=f'C{i % 10}', lw=1.0, ls='--',
                    label=f'ep {ep} policy' if j == 0 else None)
        ax.set_title(name)
        ax.set_xlabel('s')
        ax.grid(alpha=0.3)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis('off')
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
