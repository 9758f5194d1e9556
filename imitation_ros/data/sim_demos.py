"""Expert demonstrations on the simulated arm, written in-process as a LeRobotDataset v3.

The fast path to a training set for experiments and tests: the scripted expert drives
:class:`imitation_ros.sim.ArmSim` through :func:`imitation_ros.sim.run_episode`, and every
control period becomes one dataset frame with the semantics the bag converter produces from a
recorded ``sim_record`` session:

* ``observation.state``: the measured joint positions at the frame;
* ``action``: the expert's command issued at that frame (the "leader arm" stream);
* ``observation.images.<camera>``: the camera image at the frame (video, the profile's size);
* ``task``: the profile's task text.

Like the expert node, an episode ends once success has held for ``hold_s`` (or at
``duration_s``). Episode ``i`` uses sim seed ``seed + i``; evaluation seeds (``eval-sim``
starts at 10000) stay disjoint as long as ``seed + episodes <= 10000``.

Imports mujoco (through ``imitation_ros.sim``) and lerobot lazily, inside the function.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.errors import ConfigError, DatasetError
from imitation_ros.profile.keys import ACTION, OBS_STATE, TASK

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from imitation_ros.profile import RobotProfile
    from imitation_ros.sim import ArmSimConfig

logger = logging.getLogger(__name__)


class _EpisodeDone(Exception):  # noqa: N818 - control flow inside this module only
    """Raised by the frame callback to end an episode once success has held."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SimDemoStats:
    """What :func:`write_sim_demos` wrote."""

    root: Path
    episodes: int
    frames: int
    successes: int           # episodes in which the expert succeeded


def write_sim_demos(
    out: str | Path,
    *,
    episodes: int,
    seed: int = 0,
    profile: str | RobotProfile = 'sim_arm.yaml',
    sim_config: ArmSimConfig | None = None,
    images: bool = True,
    noise_std_rad: float = 0.0,
    perturb_prob: float = 0.0,
    duration_s: float | None = None,
    hold_s: float | None = None,
    only_successes: bool = False,
    vcodec: str = 'libsvtav1',
    overwrite: bool = False,
    progress: bool = False,
    repo_id: str = 'local/sim_demos',
    intervention: bool = False,
) -> SimDemoStats:
    """Run the scripted expert ``episodes`` times in-process and write a LeRobotDataset.

    Args:
        out: Dataset folder; must not exist unless ``overwrite``.
        episodes: Number of demonstrations (seeds ``seed .. seed + episodes - 1``).
        seed: First sim seed (also seeds the expert's noise).
        profile: Robot profile (path, config file name, or a loaded profile).
        sim_config: Randomization of the simulated arm (default ``ArmSimConfig()``).
        images: Write the profile's cameras (video); ``False`` writes a state-only dataset.
        noise_std_rad: Gaussian noise on every expert command, rad (recorded as the action).
        perturb_prob: Chance per episode of one push off course (the expert recovers).
        duration_s: Longest episode, s (default the expert's ``episode_s``).
        hold_s: End an episode once success has held this long, s (default the expert's
            ``hold_s``, as the expert node does).
        only_successes: Skip episodes in which the expert failed (seeds are not reused).
        vcodec: Video codec of the camera streams.
        overwrite: Delete ``out`` first when it exists.
        progress: Show a progress bar.
        repo_id: Repo id stored in the metadata.
        intervention: Add the per-frame ``intervention`` feature (all false: the expert
            drove), so the dataset aggregates with DAgger rounds.

    Returns:
        The dataset root and counts (``.root``, ``.episodes``, ``.frames``, ``.successes``).

    Raises:
        ConfigError: Bad arguments.
        DatasetError: ``out`` exists, or nothing was written.
    """
    from imitation_ros.data.writer import INTERVENTION, create_dataset, dataset_features
    from imitation_ros.sim import (
        ArmSim,
        ExpertConfig,
        ScriptedExpert,
        expert_policy,
        load_profile_for_sim,
        run_episode,
    )

    if episodes < 1:
        msg = f'episodes must be >= 1, got {episodes}'
        raise ConfigError(msg)
    root = Path(out)
    if root.exists():
        if not overwrite:
            msg = f'{root}: exists already; refusing to overwrite a dataset'
            raise DatasetError(msg)
        shutil.rmtree(root)
    prof = load_profile_for_sim(profile) if isinstance(profile, (str, Path)) else profile
    if not images:
        import dataclasses

        prof = dataclasses.replace(prof, cameras=())
    sim = ArmSim(prof, sim_config)
    try:
        exp_cfg = ExpertConfig(noise_std_rad=noise_std_rad, perturb_prob=perturb_prob)
        expert = ScriptedExpert(sim.geometry, sim.joint_names, exp_cfg, seed=seed)
        length_s = exp_cfg.episode_s if duration_s is None else duration_s
        hold = exp_cfg.hold_s if hold_s is None else hold_s
        if length_s <= 0 or hold < 0:
            msg = f'duration_s must be > 0 and hold_s >= 0, got {length_s}, {hold}'
            raise ConfigError(msg)
        hold_frames = int(round(hold / sim.control_period_s))
        ds = create_dataset(root, repo_id, prof.fps,
                            dataset_features(prof, intervention=intervention),
                            robot_type=prof.name, vcodec=vcodec)
        task = prof.task or 'task'
        policy = expert_policy(sim, expert)
        cams = [c.key for c in prof.cameras]
        it: Any = range(seed, seed + episodes)
        if progress:
            from tqdm import tqdm

            it = tqdm(it, desc='sim demos', unit='ep')
        n_saved = n_frames = n_success = 0
        for ep_seed in it:
            frames: list[dict[str, Any]] = []
            streak = [0]          # consecutive frames with success, at the frame's time
            done_at = [-1]

            def on_frame(obs: dict[str, Any], action: NDArray[np.float64],
                         frames: list[dict[str, Any]] = frames, streak: list[int] = streak,
                         done_at: list[int] = done_at) -> None:
                if done_at[0] >= 0:
                    return
                frame = {OBS_STATE: np.asarray(obs[OBS_STATE], np.float32).copy(),
                         ACTION: np.asarray(action, np.float32).copy()}
                for key in cams:
                    frame[key] = np.array(obs[key], dtype=np.uint8, copy=True)
                frames.append(frame)
                streak[0] = streak[0] + 1 if sim.success() else 0
                if streak[0] > hold_frames:
                    done_at[0] = len(frames)
                    raise _EpisodeDone

            expert.reset(ep_seed)
            try:
                res = run_episode(sim, policy, seed=ep_seed, duration_s=length_s,
                                  images=bool(cams), on_frame=on_frame)
                success = res.success
            except _EpisodeDone:
                success = True
            n_success += success
            if only_successes and not success:
                logger.info('sim demo seed %d: expert failed; skipped', ep_seed)
                continue
            for frame in frames:
                frame[TASK] = task
                if intervention:
                    frame[INTERVENTION] = np.array([False])
                ds.add_frame(frame)
            # lerobot's parallel encoding forks a process pool from a threaded process (DDS,
            # torch, tqdm): children can deadlock on a lock held at fork. Encode in-process.
            ds.save_episode(parallel_encoding=False)
            n_saved += 1
            n_frames += len(frames)
        ds.finalize()
    finally:
        sim.close()
    if n_saved == 0:
        msg = f'{root}: the expert failed every episode; nothing written'
        raise DatasetError(msg)
    if images:
        from imitation_ros.data.writer import fix_image_stats

        fix_image_stats(root)       # lerobot 0.4.4's image std overflows (see there)
    logger.info('wrote %s: %d episodes, %d frames, expert succeeded %d/%d', root, n_saved,
                n_frames, n_success, episodes)
    return SimDemoStats(root=root, episodes=n_saved, frames=n_frames, successes=n_success)


def mean_action_trajectory(dataset: str | Path) -> NDArray[np.float32]:
    """Return the mean action per frame index over a dataset's episodes, (T, n).

    Shorter episodes are padded with their last action, so ``T`` is the longest episode.

    Raises:
        DatasetError: The dataset has no parquet data files.
    """
    import pandas as pd

    files = sorted((Path(dataset) / 'data').rglob('*.parquet'))
    if not files:
        msg = f'{dataset}: no data/*.parquet files (not a LeRobotDataset v3?)'
        raise DatasetError(msg)
    frames = pd.concat([pd.read_parquet(p, columns=['episode_index', 'frame_index', ACTION])
                        for p in files])
    trajs = [np.stack(g.sort_values('frame_index')[ACTION].to_numpy())
             for _, g in frames.groupby('episode_index')]
    n = max(len(t) for t in trajs)
    padded = np.stack([np.concatenate([t, np.repeat(t[-1:], n - len(t), 0)]) for t in trajs])
    return padded.mean(0).astype(np.float32)


def blind_replay_policy(
    dataset: str | Path, *, max_step_rad: float = 0.1,
) -> Callable[[dict[str, Any], float], NDArray[np.float64]]:
    """A policy that ignores its observations: replays the demos' mean action trajectory.

    The baseline a learned policy must beat to show it uses what it sees. Each command moves
    at most ``max_step_rad`` per joint from the previous one (the first from the measured
    joints), like the deploy safety filter. A policy of :func:`imitation_ros.sim.run_episode`.
    """
    mean = mean_action_trajectory(dataset).astype(np.float64)
    state: dict[str, Any] = {'k': 0, 'prev': None}

    def policy(obs: dict[str, Any], t_s: float) -> NDArray[np.float64]:
        if t_s == 0.0:
            state['k'], state['prev'] = 0, None
        target = mean[min(state['k'], len(mean) - 1)]
        state['k'] += 1
        prev = state['prev']
        if prev is None:
            prev = np.asarray(obs[OBS_STATE], dtype=np.float64)
        cmd = prev + np.clip(target - prev, -max_step_rad, max_step_rad)
        state['prev'] = cmd
        return cmd

    return policy
