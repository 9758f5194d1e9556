"""Resuming a run continues from the saved step and ends where an uninterrupted run ends.

Regressions pinned:
- ``resume`` loads weights, optimizer, scheduler and RNG state from ``checkpoints/last``;
- batches and augmentation are a function of (seed, step), so 20 + 20 steps == 40 steps;
- metrics.jsonl keeps the records up to the resumed step and continues after it;
- training into a folder that holds checkpoints without ``resume`` is refused.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from imitation_ros.errors import TrainError
from imitation_ros.learn import TrainConfig, train
from imitation_ros.learn.synthetic import make_synthetic_dataset, shrink_cameras
from imitation_ros.profile import load_profile

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
BC = {'hidden_dims': [32, 32], 'cnn_channels': [8, 8], 'image_feature_dim': 8}


@pytest.fixture(scope='module')
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    profile = shrink_cameras(load_profile(ROOT / 'config' / 'sim_arm.yaml'), 16, 24)
    return make_synthetic_dataset(tmp_path_factory.mktemp('ds') / 'r', profile, n_episodes=3,
                                  n_frames=20, use_videos=False, seed=1)


def _cfg(dataset: Path, out: Path, steps: int, resume: bool = False) -> TrainConfig:
    return TrainConfig(dataset=dataset, policy='bc', output_dir=out, steps=steps, batch_size=8,
                       policy_overrides=BC, log_every=5, val_every=10, save_every=20,
                       val_episodes=(2,), seed=3, device='cpu', resume=resume, progress=False)


def test_resume_matches_uninterrupted(dataset: Path, tmp_path: Path) -> None:
    straight = train(_cfg(dataset, tmp_path / 'a', 40))
    first = train(_cfg(dataset, tmp_path / 'b', 20))
    assert first.step == 20
    resumed = train(_cfg(dataset, tmp_path / 'b', 40, resume=True))
    assert resumed.step == 40
    wa = load_file(straight.checkpoint / 'model.safetensors')
    wb = load_file(resumed.checkpoint / 'model.safetensors')
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    recs = [json.loads(x) for x in (tmp_path / 'b' / 'metrics.jsonl').read_text().splitlines()]
    steps = [r['step'] for r in recs if 'loss' in r]
    assert steps == [5, 10, 15, 20, 25, 30, 35, 40]
    ref = [json.loads(x) for x in (tmp_path / 'a' / 'metrics.jsonl').read_text().splitlines()]
    assert [r['loss'] for r in recs if 'loss' in r] == pytest.approx(
        [r['loss'] for r in ref if 'loss' in r], rel=1e-6)


def test_refuses_to_overwrite_and_needs_checkpoint(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainError, match='nothing to resume'):
        train(_cfg(dataset, tmp_path / 'c', 5, resume=True))
    train(_cfg(dataset, tmp_path / 'd', 5))
    with pytest.raises(TrainError, match='--resume'):
        train(_cfg(dataset, tmp_path / 'd', 5))
