"""Expert transitions for GAIL, read out of a converted LeRobot dataset.

The same datasets BC/ACT/Diffusion train on (``observation.state``, ``action`` per frame;
``imitation-ros sim-demos`` or ``convert``). Each episode becomes one ``imitation``
trajectory in the environment's action convention (:mod:`imitation_ros.sim.gym_env`: a step
from the measured joints, normalized by the action scale, clipped to [-1, 1]).

A dataset records no object pose. Two ways to fill the observation columns of the
privileged cube pose:

* zeros (``env_states=None``): the discriminator (:mod:`imitation_ros.learn.gail.trainer`)
  then looks at the joint-state columns and the action only; any dataset works;
* :func:`replay_env_states`: for demos written by ``imitation-ros sim-demos`` (episode ``i``
  ran on sim seed ``first_seed + i``), reset the simulator with that seed and replay the
  recorded commands: MuJoCo is deterministic, so this recovers the cube pose of every frame.
  The replayed joints are checked against the recorded ones (a wrong seed or scene, or a
  dataset recorded elsewhere, fails loudly). Then the discriminator and a BC pretraining of
  the policy can see the cube pose too, which the ``*_wide`` tasks need.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.errors import DatasetError
from imitation_ros.profile.keys import ACTION, OBS_STATE

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True, slots=True)
class DemoEpisodes:
    """Per-episode arrays of a dataset, in dataset units (rad)."""

    states: tuple[np.ndarray, ...]       # (T_i, n) measured joints
    actions: tuple[np.ndarray, ...]      # (T_i, n) commanded joint targets
    joint_names: tuple[str, ...]
    fps: float

    @property
    def frames(self) -> int:
        """Total number of frames."""
        return sum(len(s) for s in self.states)


def read_demo_episodes(dataset: str | Path,
                       episodes: Sequence[int] | None = None) -> DemoEpisodes:
    """Read the state and action of every (or the chosen) episode of a LeRobot v3 dataset.

    Raises:
        DatasetError: No ``meta/info.json`` or parquet files, or missing columns.
    """
    import pandas as pd

    root = Path(dataset)
    info_path = root / 'meta' / 'info.json'
    if not info_path.is_file():
        msg = f'{info_path}: missing (not a LeRobotDataset v3?)'
        raise DatasetError(msg)
    info = json.loads(info_path.read_text())
    feats = info.get('features', {})
    for key in (OBS_STATE, ACTION):
        if key not in feats:
            msg = f'{info_path}: features lack {key!r} (have {sorted(feats)})'
            raise DatasetError(msg)
    names = tuple(feats[ACTION].get('names') or ())
    files = sorted((root / 'data').rglob('*.parquet'))
    if not files:
        msg = f'{root}: no data/*.parquet files'
        raise DatasetError(msg)
    cols = ['episode_index', 'frame_index', OBS_STATE, ACTION]
    try:
        frames = pd.concat([pd.read_parquet(p, columns=cols) for p in files])
    except (KeyError, ValueError) as err:
        msg = f'{root}/data: cannot read columns {cols}: {err}'
        raise DatasetError(msg) from None
    states, actions = [], []
    for ep, group in frames.groupby('episode_index'):
        if episodes is not None and int(ep) not in set(episodes):
            continue
        g = group.sort_values('frame_index')
        states.append(np.stack(g[OBS_STATE].to_numpy()).astype(np.float64))
        actions.append(np.stack(g[ACTION].to_numpy()).astype(np.float64))
    if not states:
        msg = f'{root}: no episodes selected (asked for {episodes})'
        raise DatasetError(msg)
    return DemoEpisodes(tuple(states), tuple(actions), names, float(info.get('fps', 0)))


def replay_env_states(demos: DemoEpisodes, *, first_seed: int = 0,
                      sim_config: Any = None, tol_rad: float = 1e-3
                      ) -> tuple[tuple[np.ndarray, ...], float]:
    """Recover the cube pose of every demo frame by replaying the demos in the simulator.

    Args:
        demos: From :func:`read_demo_episodes` (all episodes, in order).
        first_seed: Sim seed of episode 0 (``sim-demos --seed``); episode ``i`` used
            ``first_seed + i``.
        sim_config: The scene the demos were recorded in (an ``ArmSimConfig``; default
            ``lift_cube``'s).
        tol_rad: Largest allowed difference between replayed and recorded joints.

    Returns:
        Per episode a (T, 4) array of :data:`imitation_ros.sim.gym_env.ENV_STATE_NAMES`, and
        the largest joint difference seen, rad.

    Raises:
        DatasetError: The replay does not reproduce the recorded joints (naming the episode
            and seed): not a ``sim-demos`` dataset of this scene and first seed.
    """
    import dataclasses

    from imitation_ros.sim import load_profile_for_sim
    from imitation_ros.sim.arm import ArmSim
    from imitation_ros.sim.gym_env import ENV_STATE_NAMES

    prof = dataclasses.replace(load_profile_for_sim(), cameras=())
    sim = ArmSim(prof, sim_config)
    idx = [sim.task_state_names.index(k) for k in ENV_STATE_NAMES]
    out, worst = [], 0.0
    try:
        for i, (states, actions) in enumerate(zip(demos.states, demos.actions, strict=True)):
            sim.reset(first_seed + i)
            env = np.zeros((len(states), len(idx)))
            err = 0.0
            for t in range(len(states)):
                err = max(err, float(np.max(np.abs(sim.joint_positions() - states[t]))))
                env[t] = sim.task_state()[idx]
                sim.set_command(actions[t])
                sim.advance(sim.control_period_s)
            if err > tol_rad:
                msg = (f'demo episode {i}: replaying its commands on sim seed '
                       f'{first_seed + i} gives joints {err:.3g} rad off the recorded ones '
                       f'(> {tol_rad}); not a sim-demos dataset of this scene with first seed '
                       f'{first_seed}? (GAIL: --demo-first-seed, or --no-demo-replay)')
                raise DatasetError(msg)
            worst = max(worst, err)
            out.append(env)
    finally:
        sim.close()
    return tuple(out), worst


def demo_trajectories(demos: DemoEpisodes, *, action_scale: np.ndarray, obs_dim: int,
                      max_len: int | None = None,
                      env_states: Sequence[np.ndarray] | None = None) -> list[Any]:
    """Turn episodes into ``imitation`` trajectories in the env's conventions.

    Args:
        demos: From :func:`read_demo_episodes`.
        action_scale: The env's step per unit action, per joint.
        obs_dim: The env's observation size (joint state first; the rest is zero-filled).
        max_len: Keep the first ``max_len + 1`` frames of each episode (short-horizon tasks).
        env_states: Per episode, the columns after the joint state (:func:`replay_env_states`);
            default zeros.

    Returns:
        ``imitation.data.types.Trajectory`` list (terminal, no infos).

    Raises:
        DatasetError: An episode is shorter than two frames, or the state is wider than the
            observation.
    """
    from imitation.data import types

    out = []
    for i, (s, a) in enumerate(zip(demos.states, demos.actions, strict=True)):
        if max_len is not None:
            s, a = s[:max_len + 1], a[:max_len + 1]
        if len(s) < 2:
            msg = f'episode {i}: {len(s)} frame(s); GAIL needs at least 2'
            raise DatasetError(msg)
        n = s.shape[1]
        if n > obs_dim or a.shape[1] != len(action_scale):
            msg = (f'episode {i}: state has {n} and action {a.shape[1]} values; the env '
                   f'observes {obs_dim} and acts on {len(action_scale)}')
            raise DatasetError(msg)
        obs = np.zeros((len(s), obs_dim), dtype=np.float32)
        obs[:, :n] = s
        if env_states is not None:
            e = np.asarray(env_states[i])[:len(s)]
            obs[:, n:n + e.shape[1]] = e
        acts = np.clip((a[:-1] - s[:-1]) / action_scale, -1.0, 1.0).astype(np.float32)
        out.append(types.Trajectory(obs=obs, acts=acts, infos=None, terminal=True))
    return out
