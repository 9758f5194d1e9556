"""A dataset with the wrong features stops before training, with an error naming both.

Regressions pinned:
- ACT / Diffusion on a state-only dataset -> DatasetError naming the dataset and the camera key;
- a missing or non-vector action / state -> DatasetError naming the feature;
- a folder that is not a dataset -> DatasetError naming meta/info.json;
- an explicit validation episode that does not exist -> DatasetError;
- unknown policy config fields -> TrainError naming the field.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from imitation_ros.errors import DatasetError, TrainError
from imitation_ros.learn.policies import check_features, make_policy_config
from imitation_ros.learn.synthetic import make_synthetic_dataset, shrink_cameras
from imitation_ros.learn.trainer import TrainConfig, train
from imitation_ros.profile import load_profile
from imitation_ros.profile.keys import ACTION, OBS_IMAGES, OBS_STATE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def profile():  # noqa: ANN201
    return shrink_cameras(load_profile(ROOT / 'config' / 'sim_arm.yaml'), 24, 32)


@pytest.fixture(scope='module')
def state_only_ds(tmp_path_factory: pytest.TempPathFactory, profile) -> Path:  # noqa: ANN001
    p = dataclasses.replace(profile, cameras=())
    return make_synthetic_dataset(tmp_path_factory.mktemp('ds') / 'state_only', p,
                                  n_episodes=2, n_frames=10, use_videos=False)


@pytest.mark.parametrize('policy', ['act', 'diffusion'])
def test_image_policy_on_state_only_dataset(state_only_ds: Path, tmp_path: Path,
                                            policy: str) -> None:
    cfg = TrainConfig(dataset=state_only_ds, policy=policy, output_dir=tmp_path / 'run',
                      steps=1, progress=False)
    with pytest.raises(DatasetError) as info:
        train(cfg)
    text = str(info.value)
    assert str(state_only_ds) in text and OBS_IMAGES in text and policy in text
    assert not (tmp_path / 'run' / 'checkpoints').exists()


def test_missing_action(profile) -> None:  # noqa: ANN001
    feats = profile.features()
    del feats[ACTION]
    with pytest.raises(DatasetError, match=r"/data/x: feature 'action' is missing"):
        check_features('bc', feats, '/data/x')


def test_state_not_a_vector(profile) -> None:  # noqa: ANN001
    feats = profile.features()
    feats[OBS_STATE] = {'dtype': 'float32', 'shape': (2, 3), 'names': None}
    with pytest.raises(DatasetError, match=r"feature 'observation.state' must be a float32"):
        check_features('act', feats, '/data/x')


def test_bad_image_shape(profile) -> None:  # noqa: ANN001
    feats = profile.features()
    cam = next(k for k in feats if k.startswith(OBS_IMAGES))
    feats[cam] = {**feats[cam], 'shape': (24, 32, 1)}
    with pytest.raises(DatasetError, match=cam):
        check_features('diffusion', feats, '/data/x')


def test_not_a_dataset(tmp_path: Path) -> None:
    cfg = TrainConfig(dataset=tmp_path, policy='bc', output_dir=tmp_path / 'run', steps=1,
                      progress=False)
    with pytest.raises(DatasetError, match='meta/info.json'):
        train(cfg)


def test_missing_val_episode(state_only_ds: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(dataset=state_only_ds, policy='bc', output_dir=tmp_path / 'run', steps=1,
                      val_episodes=(7,), progress=False)
    with pytest.raises(DatasetError, match=r'validation episode\(s\) \[7\] do not exist'):
        train(cfg)


def test_unknown_policy_field(profile) -> None:  # noqa: ANN001
    with pytest.raises(TrainError, match='chunk_sise'):
        make_policy_config('act', profile.features(), device='cpu', overrides={'chunk_sise': 5})


def test_bc_state_only_is_fine(state_only_ds: Path, tmp_path: Path) -> None:
    res = train(TrainConfig(dataset=state_only_ds, policy='bc', output_dir=tmp_path / 'run',
                            steps=3, log_every=1, val_episodes=(1,), progress=False))
    assert res.step == 3 and (res.checkpoint / 'model.safetensors').is_file()
