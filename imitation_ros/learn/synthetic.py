"""Small synthetic LeRobot datasets with a learnable observation -> action relation.

Used by the learning tests and ``bench/bench_train.py``: the frames follow the robot profile's
features (``profile.features()``), so they look like what our converter writes, and the action
depends on both the state and the image, so every policy's loss can fall.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.errors import DatasetError
from imitation_ros.profile.keys import ACTION, OBS_STATE, TASK

if TYPE_CHECKING:
    from imitation_ros.profile import RobotProfile

logger = logging.getLogger(__name__)


def shrink_cameras(profile: RobotProfile, height: int, width: int) -> RobotProfile:
    """Return ``profile`` with every camera resized to ``height`` x ``width`` pixels."""
    cams = tuple(dataclasses.replace(c, height=height, width=width) for c in profile.cameras)
    return dataclasses.replace(profile, cameras=cams)


def _render(goal: np.ndarray, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Draw a bright square whose position encodes ``goal[0:2]`` on a noisy background."""
    img = rng.integers(0, 40, size=(height, width, 3), dtype=np.uint8)
    size = max(2, min(height, width) // 5)
    cy = int((goal[1] + 1.0) / 2.0 * (height - size))
    cx = int((goal[0] + 1.0) / 2.0 * (width - size))
    img[cy:cy + size, cx:cx + size] = (230, 200, 40)
    return img


def make_synthetic_dataset(
    root: str | Path,
    profile: RobotProfile,
    *,
    n_episodes: int = 4,
    n_frames: int = 30,
    use_videos: bool = True,
    seed: int = 0,
    repo_id: str = 'local/synthetic',
) -> Path:
    """Write a LeRobotDataset v3 whose action follows the state toward an image-coded goal.

    Each episode draws a goal ``g`` in [-0.8, 0.8]^n; the camera shows a square at a position
    given by ``g[0], g[1]``; ``action[t] = state[t] + 0.2 * (g - state[t])`` and the next state
    is the action plus a little noise.

    Args:
        root: Dataset directory; must not exist yet.
        profile: Robot profile giving joint names, fps and cameras.
        n_episodes: Number of episodes.
        n_frames: Frames per episode.
        use_videos: Store cameras as video (True) or as PNG images in the parquet files.
        seed: Random seed.
        repo_id: Repo id recorded in the metadata.

    Returns:
        The dataset root.

    Raises:
        DatasetError: If ``root`` exists already.
    """
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(root)
    if root.exists():
        msg = f'{root}: exists already; refusing to overwrite a dataset'
        raise DatasetError(msg)
    rng = np.random.default_rng(seed)
    n = profile.n_joints
    ds = LeRobotDataset.create(
        repo_id=repo_id, fps=int(round(profile.fps)),
        features=profile.features(use_videos=use_videos),
        root=root, use_videos=use_videos, robot_type=profile.name,
        image_writer_threads=0, image_writer_processes=0,
    )
    for _ in range(n_episodes):
        goal = rng.uniform(-0.8, 0.8, size=n).astype(np.float32)
        state = rng.uniform(-0.3, 0.3, size=n).astype(np.float32)
        for _t in range(n_frames):
            action = (state + 0.2 * (goal - state)).astype(np.float32)
            frame = {OBS_STATE: state.copy(), ACTION: action, TASK: profile.task or 'task'}
            for cam in profile.cameras:
                frame[cam.key] = _render(goal, cam.height, cam.width, rng)
            ds.add_frame(frame)
            state = (action + rng.normal(0.0, 0.005, size=n)).astype(np.float32)
        # lerobot's parallel encoding forks a process pool from a threaded process (DDS,
        # torch, tqdm): children can deadlock on a lock held at fork. Encode in-process.
        ds.save_episode(parallel_encoding=False)
    ds.finalize()
    logger.info('wrote synthetic dataset %s (%d episodes x %d frames)', root, n_episodes, n_frames)
    return root
