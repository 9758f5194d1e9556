"""Per-frame loss weights in the trainer (issue 12, item 3: DAgger's policy-driven frames
weighted in the loss instead of subsampled).

Pinned:
- ``weighted_loss`` is the per-sample weighted mean: its value and its gradient equal those of
  ``sum_i w_i l_i / sum_i w_i`` from per-sample losses; a weight-0 sample has no influence on
  the gradient; all weights equal -> the plain batch loss;
- ``train(frame_weights=...)``: weights all 1 reproduce the unweighted run exactly; weight 0 on
  an episode whose actions contradict the others lets the policy fit the rest (final loss far
  below the unweighted run's, and the learned action on the shared states is the good one);
- a weights file of the wrong length (or with negative values) is refused naming the file.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import torch

from imitation_ros.errors import ConfigError
from imitation_ros.learn.trainer import TrainConfig, load_frame_weights, train, weighted_loss

if TYPE_CHECKING:
    from pathlib import Path


class _Toy(torch.nn.Module):
    """A policy-like module: ``forward(batch)`` -> (batch-mean MSE, {})."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(3, 2)

    def per_sample(self, batch: dict[str, Any]) -> torch.Tensor:
        return ((self.lin(batch['x']) - batch['y']) ** 2).mean(dim=1)

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict]:
        return self.per_sample(batch).mean(), {}


def _grads(model: torch.nn.Module, loss: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in model.parameters()]


def test_weighted_loss_is_the_per_sample_weighted_mean() -> None:
    g = torch.Generator().manual_seed(1)
    batch = {'x': torch.randn(10, 3, generator=g), 'y': torch.randn(10, 2, generator=g),
             'task': ['t'] * 10}
    w = torch.tensor([1.0, 0.25, 0.25, 1.0, 0.0, 1.0, 0.25, 0.0, 1.0, 1.0])
    model = _Toy()
    got = weighted_loss(model, batch, w)
    want = (model.per_sample(batch) * w).sum() / w.sum()
    assert torch.allclose(got, want, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(
        _grads(model, weighted_loss(model, batch, w)), _grads(model, want), strict=True))
    plain = model.forward(batch)[0]
    assert not torch.allclose(got, plain)                 # the weights change the loss
    assert torch.allclose(weighted_loss(model, batch, torch.full((10,), 0.5)), plain)
    # a weight-0 sample does not move the gradient, whatever its target
    moved = dict(batch, y=batch['y'].clone())
    moved['y'][4] += 100.0
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(
        _grads(model, weighted_loss(model, batch, w)),
        _grads(model, weighted_loss(model, moved, w)), strict=True))
    # ... while with weight 1 it does
    assert not torch.allclose(_grads(model, weighted_loss(model, moved, torch.ones(10)))[0],
                              _grads(model, weighted_loss(model, batch, torch.ones(10)))[0])
    zero = weighted_loss(model, batch, torch.zeros(10))
    assert float(zero.detach()) == 0.0


def _dataset(root: Path) -> tuple[Path, np.ndarray]:
    """4 episodes over the same states; the actions of episode 3 contradict the others'."""
    from imitation_ros.data.writer import create_dataset, dataset_features
    from imitation_ros.profile import load_profile
    from imitation_ros.profile.keys import ACTION, OBS_STATE, TASK
    from imitation_ros.resources import config_path

    prof = dataclasses.replace(load_profile(config_path('sim_arm.yaml')), cameras=())
    ds = create_dataset(root, 'local/weights', prof.fps, dataset_features(prof),
                        robot_type=prof.name)
    states = np.linspace(-0.5, 0.5, 30)[:, None] * np.linspace(0.5, 1.0, 6)[None]
    episode = []
    for e in range(4):
        for s in states:
            a = 0.5 * s + (0.8 if e == 3 else 0.0)
            ds.add_frame({OBS_STATE: s.astype(np.float32), ACTION: a.astype(np.float32),
                          TASK: 'task'})
            episode.append(e)
        ds.save_episode(parallel_encoding=False)
    ds.finalize()
    return root, np.array(episode)


def _run(ds: Path, out: Path, weights: Path | None) -> Any:
    torch.set_num_threads(1)
    return train(TrainConfig(dataset=ds, policy='bc', output_dir=out, steps=150,
                             val_episodes=(), val_every=150, save_every=150, log_every=25,
                             device='cpu', progress=False, augment=None, seed=0,
                             frame_weights=weights))


def test_train_with_frame_weights(tmp_path: Path) -> None:
    ds, episode = _dataset(tmp_path / 'ds')
    ones = tmp_path / 'ones.npy'
    np.save(ones, np.ones(len(episode)))
    skip_bad = tmp_path / 'skip_bad.npy'
    np.save(skip_bad, np.where(episode == 3, 0.0, 1.0))
    plain = _run(ds, tmp_path / 'plain', None)
    same = _run(ds, tmp_path / 'ones', ones)
    assert same.final_loss == pytest.approx(plain.final_loss, rel=1e-6)
    weighted = _run(ds, tmp_path / 'weighted', skip_bad)
    # the bad episode cannot be fitted next to the others (same states): the plain run keeps
    # a loss floor; without it the rest is fitted
    assert weighted.final_loss < 0.2 * plain.final_loss, (weighted.final_loss,
                                                          plain.final_loss)

    from imitation_ros.learn.inference import load_policy

    s = np.linspace(-0.5, 0.5, 30)[7] * np.linspace(0.5, 1.0, 6)
    good = 0.5 * s
    errs = {}
    for name, run in (('plain', plain), ('weighted', weighted)):
        runner = load_policy(run.checkpoint, device='cpu')
        a = runner.predict_batch({'observation.state': torch.from_numpy(
            s.astype(np.float32))[None]}).numpy()
        errs[name] = float(np.abs(a[0, 0] - good).max())
    assert errs['weighted'] < 0.5 * errs['plain'], errs


def test_bad_weight_files_are_named(tmp_path: Path) -> None:
    short = tmp_path / 'short.npy'
    np.save(short, np.ones(5))
    with pytest.raises(ConfigError, match='short.npy.*one weight per dataset frame'):
        load_frame_weights(short, 6, np.arange(6))
    neg = tmp_path / 'neg.npy'
    np.save(neg, np.array([1.0, -1.0]))
    with pytest.raises(ConfigError, match='neg.npy.*>= 0'):
        load_frame_weights(neg, 2, np.arange(2))
    zero = tmp_path / 'zero.npy'
    np.save(zero, np.array([0.0, 1.0]))
    with pytest.raises(ConfigError, match='every training frame has weight 0'):
        load_frame_weights(zero, 2, np.array([0]))
