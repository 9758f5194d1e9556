"""Frame cache and batch slicing: frames decoded once, equal to lerobot's, lerobot padding.

Regressions pinned:
- cached video frames equal what LeRobotDataset decodes for the same index;
- a second open reuses the cache (no re-decode), a changed dataset gets a new key;
- action chunks past the episode end repeat the last action and set action_is_pad;
- observation history before the episode start repeats the first frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from imitation_ros.errors import DatasetError
from imitation_ros.learn.batches import BatchSource, ChunkIndex, ChunkSpec
from imitation_ros.learn.cache import dataset_key, open_cache
from imitation_ros.learn.synthetic import make_synthetic_dataset, shrink_cameras
from imitation_ros.learn.trainer import compute_stats
from imitation_ros.profile import load_profile
from imitation_ros.profile.keys import ACTION, OBS_STATE, image_key

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
CAM = image_key('front')


@pytest.fixture(scope='module')
def video_ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    profile = shrink_cameras(load_profile(ROOT / 'config' / 'sim_arm.yaml'), 24, 32)
    return make_synthetic_dataset(tmp_path_factory.mktemp('ds') / 'v', profile, n_episodes=3,
                                  n_frames=20, use_videos=True, seed=3)


def test_cache_matches_lerobot_decoding(video_ds: Path, tmp_path: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    cache = open_cache(video_ds, cache_dir=tmp_path, progress=False)
    assert cache.n_frames == 60
    assert cache.episodes == {0: (0, 20), 1: (20, 40), 2: (40, 60)}
    assert cache.images[CAM].shape == (60, 24, 32, 3) and cache.images[CAM].dtype == np.uint8
    ds = LeRobotDataset('local/synthetic', root=video_ds)
    for i in (0, 19, 20, 37, 59):
        item = ds[i]
        ref = (item[CAM].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        assert np.array_equal(cache.images[CAM][i], ref), f'frame {i} differs'
        assert np.allclose(cache.state[i], item[OBS_STATE].numpy())
        assert np.allclose(cache.action[i], item[ACTION].numpy())


def test_cache_reused_and_keyed_by_content(video_ds: Path, tmp_path: Path) -> None:
    first = open_cache(video_ds, cache_dir=tmp_path, progress=False)
    stamp = (first.path / f'{CAM}.npy').stat().st_mtime_ns
    again = open_cache(video_ds, cache_dir=tmp_path, progress=False)
    assert again.path == first.path
    assert (again.path / f'{CAM}.npy').stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]
    assert dataset_key(video_ds) == first.path.name


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match='meta/info.json'):
        open_cache(tmp_path, progress=False)


def test_chunks_pad_like_lerobot(video_ds: Path, tmp_path: Path) -> None:
    cache = open_cache(video_ds, cache_dir=tmp_path, progress=False)
    spec = ChunkSpec(obs_offsets=(-1, 0), action_offsets=tuple(range(-1, 7)))
    index = ChunkIndex(cache, [1], spec)
    assert len(index) == 20
    source = BatchSource(index, torch.device('cpu'))
    batch = source.batch(np.array([0, 17]))           # rows 20 (episode start), 37 (near end)
    pad = batch['action_is_pad'].numpy()
    assert pad[0].tolist() == [True] + [False] * 7
    assert pad[1].tolist() == [False] * 4 + [True] * 4
    act = batch[ACTION].numpy()
    assert np.allclose(act[0, 0], cache.action[20]) and np.allclose(act[0, 1], cache.action[20])
    assert np.allclose(act[1, 3], cache.action[39]) and np.allclose(act[1, 7], cache.action[39])
    state = batch[OBS_STATE].numpy()                  # (B, 2, n): history clamps at the start
    assert np.allclose(state[0, 0], cache.state[20]) and np.allclose(state[0, 1], cache.state[20])
    assert np.allclose(state[1, 0], cache.state[36]) and np.allclose(state[1, 1], cache.state[37])
    img = batch[CAM]
    assert img.shape == (2, 2, 3, 24, 32) and img.dtype == torch.float32
    ref = torch.from_numpy(np.array(cache.images[CAM][37])).permute(2, 0, 1).float() / 255
    assert torch.equal(img[1, 1], ref)


def test_drop_last_frames(video_ds: Path, tmp_path: Path) -> None:
    cache = open_cache(video_ds, cache_dir=tmp_path, progress=False)
    index = ChunkIndex(cache, [0, 2], ChunkSpec((0,), tuple(range(8)), drop_last=7))
    assert len(index) == 2 * 13
    assert index.anchors.max() == 40 + 12


def test_stats_from_decoded_frames(video_ds: Path, tmp_path: Path) -> None:
    cache = open_cache(video_ds, cache_dir=tmp_path, progress=False)
    rows = cache.rows_of([0, 2])
    stats = compute_stats(cache, rows)
    img = cache.images[CAM][rows].reshape(-1, 3).astype(np.float64) / 255
    assert stats[CAM]['mean'].shape == (3, 1, 1)
    assert np.allclose(stats[CAM]['mean'].ravel(), img.mean(0), atol=1e-5)
    assert np.allclose(stats[CAM]['std'].ravel(), img.std(0), atol=1e-4)
    assert stats[CAM]['std'].min() > 0.05          # lerobot 0.4.4 writes ~0.0004 here
    assert np.allclose(stats[ACTION]['mean'], cache.action[rows].mean(0), atol=1e-6)


def test_png_dataset_cache(tmp_path: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    profile = shrink_cameras(load_profile(ROOT / 'config' / 'sim_arm.yaml'), 24, 32)
    ds_root = make_synthetic_dataset(tmp_path / 'png', profile, n_episodes=2, n_frames=8,
                                     use_videos=False, seed=4)
    cache = open_cache(ds_root, progress=False)
    assert cache.path.parent == ds_root / '.imitation_ros_cache'
    ds = LeRobotDataset('local/synthetic', root=ds_root)
    for i in (0, 9, 15):
        ref = (ds[i][CAM].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        assert np.array_equal(cache.images[CAM][i], ref)
