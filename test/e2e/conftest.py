"""Fixtures shared by the e2e tests (the root conftest supplies domains, envs, backends)."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope='session')
def tiny_bc_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny image BC policy trained 20 steps on a synthetic dataset with the sim arm's features."""
    from imitation_ros.learn import TrainConfig, train
    from imitation_ros.learn.synthetic import make_synthetic_dataset
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import config_path

    tmp = tmp_path_factory.mktemp('policy')
    profile = load_profile(config_path('sim_arm.yaml'))
    ds = make_synthetic_dataset(tmp / 'ds', profile, n_episodes=3, n_frames=20)
    train(TrainConfig(dataset=ds, policy='bc', output_dir=tmp / 'run', steps=20,
                      val_every=20, save_every=20, device='cpu', progress=False))
    return tmp / 'run'
