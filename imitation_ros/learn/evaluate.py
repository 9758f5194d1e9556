"""Offline evaluation: a checkpoint's actions on held-out episodes against the demonstrations.

Teacher-forced: at every frame the policy sees the recorded observation (with its history for
Diffusion) and predicts; row 0 of the predicted chunk is compared with the recorded action.
Writes ``<out>/metrics.json`` and ``<out>/actions.png`` (predicted vs demonstrated, per joint).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imitation_ros.errors import DatasetError
from imitation_ros.learn.batches import BatchSource, ChunkIndex, ChunkSpec
from imitation_ros.learn.cache import load_features, open_cache
from imitation_ros.learn.inference import load_policy
from imitation_ros.learn.plots import plot_actions
from imitation_ros.profile.keys import ACTION

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalResult:
    """Offline evaluation outcome.

    Attributes:
        episodes: Episodes evaluated.
        mae_per_joint: Mean absolute action error per joint (action units, rad).
        mae: Mean over joints.
        rmse_per_joint: Root mean square error per joint.
        n_frames: Frames scored.
        metrics_path: The metrics.json written.
        plot_path: The actions.png written.
    """

    episodes: list[int]
    mae_per_joint: dict[str, float]
    mae: float
    rmse_per_joint: dict[str, float]
    n_frames: int
    metrics_path: Path
    plot_path: Path


def evaluate_offline(checkpoint: str | Path, dataset: str | Path, *,
                     episodes: list[int] | None = None, out_dir: str | Path | None = None,
                     device: str = 'auto', batch_size: int = 64, max_plot_episodes: int = 3,
                     cache_dir: str | Path | None = None, progress: bool = True) -> EvalResult:
    """Score a checkpoint on episodes of a dataset.

    Args:
        checkpoint: Run, checkpoint or ``pretrained_model`` folder.
        dataset: LeRobot dataset root.
        episodes: Episodes to score; default the run's held-out episodes when the dataset is the
            one it was trained on, else every episode.
        out_dir: Where to write metrics.json and actions.png; default ``<run>/eval``.
        device: ``auto``, ``cpu`` or ``cuda``.
        batch_size: Frames per forward pass.
        max_plot_episodes: Episodes drawn in the plot.
        cache_dir: Frame cache location.
        progress: Show progress bars.

    Returns:
        The result.

    Raises:
        DatasetError: If the dataset lacks the policy's features or an episode does not exist.
        TrainError: If the checkpoint cannot be loaded.
    """
    from tqdm.auto import tqdm

    runner = load_policy(checkpoint, device=device)
    dataset = Path(dataset).expanduser().resolve()
    features = load_features(dataset)
    need = [k for k in [*runner.config.input_features, ACTION]]
    for key in need:
        if key not in features:
            msg = f'{dataset}: feature {key!r} needed by the policy is missing'
            raise DatasetError(msg)
        want = tuple(features[key]['shape'])
        have = (runner.config.output_features.get(key) or runner.config.input_features[key]).shape
        if sorted(want) != sorted(have):
            msg = f'{dataset}: feature {key!r} has shape {want}; the policy expects {tuple(have)}'
            raise DatasetError(msg)
    cache = open_cache(dataset, cache_dir=cache_dir, progress=progress)
    if episodes is None:
        same = Path(runner.run_info.get('dataset', '')) == dataset
        episodes = list(runner.run_info.get('val_episodes', [])) if same else []
        episodes = episodes or sorted(cache.episodes)
    bad = sorted(set(episodes) - set(cache.episodes))
    if bad:
        msg = f'{dataset}: episode(s) {bad} do not exist (have {len(cache.episodes)})'
        raise DatasetError(msg)
    spec = ChunkSpec.from_config(runner.config)
    index = ChunkIndex(cache, episodes, ChunkSpec(spec.obs_offsets, spec.action_offsets, 0))
    source = BatchSource(index, runner.device, time_dim=runner.time_dim)
    preds = []
    positions = np.arange(len(index))
    for i in tqdm(range(0, len(positions), batch_size), desc='eval-offline', unit='batch',
                  disable=not progress):
        pos = positions[i:i + batch_size]
        preds.append(runner.predict_batch(source.batch(pos))[:, 0].numpy())
    pred = np.concatenate(preds)
    true = cache.action[index.anchors]
    err = pred - true
    names = features[ACTION].get('names') or [f'a{i}' for i in range(true.shape[1])]
    mae = np.abs(err).mean(0)
    rmse = np.sqrt((err ** 2).mean(0))
    out = Path(out_dir) if out_dir else _default_out(checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    per_ep_pred, per_ep_true = {}, {}
    for e in episodes[:max_plot_episodes]:
        sel = cache.episode_index[index.anchors] == e
        per_ep_pred[e], per_ep_true[e] = pred[sel], true[sel]
    plot_path = plot_actions(per_ep_pred, per_ep_true, names, out / 'actions.png', cache.fps,
                             title=f'{runner.policy_type}: predicted (--) vs demonstrated (-)')
    result: dict[str, Any] = {
        'checkpoint': str(checkpoint), 'dataset': str(dataset), 'policy': runner.policy_type,
        'episodes': episodes, 'n_frames': int(len(pred)),
        'mae': float(mae.mean()), 'mae_per_joint': dict(zip(map(str, names), map(float, mae))),
        'rmse_per_joint': dict(zip(map(str, names), map(float, rmse))),
    }
    metrics_path = out / 'metrics.json'
    metrics_path.write_text(json.dumps(result, indent=1))
    logger.info('eval-offline: MAE %.4f over %d frames of episodes %s', mae.mean(), len(pred),
                episodes)
    return EvalResult(episodes=list(episodes), mae_per_joint=result['mae_per_joint'],
                      mae=result['mae'], rmse_per_joint=result['rmse_per_joint'],
                      n_frames=len(pred), metrics_path=metrics_path, plot_path=plot_path)


def _default_out(checkpoint: str | Path) -> Path:
    p = Path(checkpoint).expanduser()
    if (p / 'checkpoints').is_dir():
        return p / 'eval'
    if p.name == 'pretrained_model':
        p = p.parent
    if p.parent.name == 'checkpoints':
        return p.parent.parent / 'eval'
    return p / 'eval'
