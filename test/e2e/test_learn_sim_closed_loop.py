"""BC learns the simulated cube lift from in-process expert demos, and succeeds closed loop.

The whole learning path without ROS: scripted-expert demos written by
``imitation_ros.data.sim_demos`` (lerobot's writer, the converter's semantics), training with
``imitation_ros.learn.train`` (CPU, one thread), and the checkpoint driving the simulated arm
through the deploy stack (``PolicyController`` + ``SafetyFilter``, as ``eval-sim`` and the
policy node run it) on held-out seeds. No DDS is involved (nothing to fake either).

Measured against a policy that ignores observations: the demos' mean action trajectory,
replayed open loop (step-capped like the safety filter) on the same held-out seeds. On the
default task (cube jitter +-2 cm) that blind replay already lifts the cube on every held-out
seed (measured 20/20 and 30/30): the task does not need perception, so no policy can be
"clearly above" it there. The honest bars are therefore: BC is as good as the blind replay
(at most three episodes of twenty worse) and close to the expert. Both bars catch a closed
loop that drifts: state noise 0.01 instead of 0.05 measured 9/20, and image BC whose gripper
closed early 0/10.

Regressions pinned:
- in-process demos carry the profile's features (video included), the task text, one
  episode per seed ending ``hold_s`` after success, action = the expert's command, state =
  the measured joints; an existing dataset folder is refused;
- demos written in-process load in the trainer (features, fps, task) and train;
- the deploy stack drives the sim from a checkpoint without error, on held-out seeds;
- state-only BC (30 demos, state noise 0.05 rad, 2000 steps, ~12 s of training) lifts the
  cube on at least 15 of 20 held-out seeds, and is not worse than the blind replay. Measured
  (bench/bench_learnability.py): 2000 steps 20/20; 1000 steps 20/20, 20/20, 18/20 over three
  demo/training seeds; 500 steps 1/20 - hence 2000, away from that cliff.

Takes ~35 s on one core (demos ~10 s, training ~12 s, three times 20 closed-loop episodes).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

HELD_OUT = range(10_000, 10_020)        # eval-sim's default seeds; demos use 0..N-1
EVAL_S = 8.0                            # eval-sim's default episode length, s


def _train_and_eval(tmp: Path, *, demos: int, cube_jitter_m: float) -> dict[str, Any]:
    import torch

    from imitation_ros.data.sim_demos import blind_replay_policy, write_sim_demos
    from imitation_ros.deploy.controller import PolicyController
    from imitation_ros.deploy.rollout import controller_policy
    from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter
    from imitation_ros.learn.augment import AugmentConfig
    from imitation_ros.learn.inference import load_policy
    from imitation_ros.learn.trainer import TrainConfig, train
    from imitation_ros.sim import (
        ArmSim,
        ArmSimConfig,
        ScriptedExpert,
        evaluate,
        expert_policy,
        load_profile_for_sim,
    )

    torch.set_num_threads(1)
    sim_cfg = ArmSimConfig(cube_jitter_m=cube_jitter_m)
    ds = write_sim_demos(tmp / 'ds', episodes=demos, seed=0, images=False,
                         sim_config=sim_cfg).root
    res = train(TrainConfig(
        dataset=ds, policy='bc', output_dir=tmp / 'run', steps=2000, device='cpu',
        val_every=2000, save_every=2000, augment=AugmentConfig(state_noise_std=0.05),
        progress=False))
    profile = load_profile_for_sim()
    runner = load_policy(res.checkpoint, device='cpu')
    controller = PolicyController(runner, SafetyFilter.from_profile(
        profile, SafetyConfig(max_step_rad=0.1)))
    sim = ArmSim(profile, sim_cfg)
    try:
        bc = evaluate(sim, controller_policy(sim, controller), HELD_OUT, duration_s=EVAL_S)
        blind = evaluate(sim, blind_replay_policy(ds), HELD_OUT, duration_s=EVAL_S)
        expert = evaluate(sim, expert_policy(sim, ScriptedExpert(sim.geometry, sim.joint_names)),
                          HELD_OUT, duration_s=EVAL_S)
    finally:
        sim.close()
    return {'bc': bc.success_rate, 'blind': blind.success_rate, 'expert': expert.success_rate,
            'val_mae': res.val.get('val_mae'), 'train': res}


@pytest.fixture(scope='module')
def default_task(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    os.environ.setdefault('MUJOCO_GL', 'egl')
    return _train_and_eval(tmp_path_factory.mktemp('default'), demos=30, cube_jitter_m=0.02)


def test_bc_lifts_the_cube_on_held_out_seeds(default_task: dict[str, Any]) -> None:
    r = default_task
    assert r['expert'] >= 0.9, r
    assert r['train'].step == 2000
    assert r['val_mae'] is not None and r['val_mae'] < 0.1, r   # rad, open loop
    # measured 20/20 (state noise 0.05); with state noise 0.01 (1000 steps): 9/20
    assert r['bc'] >= 0.75, r


def test_bc_not_worse_than_blind_replay(default_task: dict[str, Any]) -> None:
    r = default_task
    assert r['blind'] > 0.0, r      # the baseline itself runs (measured 20/20)
    assert r['bc'] >= r['blind'] - 0.15, r   # 3 of 20: other demo/train seeds gave 18/20


def test_sim_demos_dataset_layout(tmp_path: Path) -> None:
    import pandas as pd

    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.errors import DatasetError
    from imitation_ros.profile.keys import ACTION, OBS_STATE
    from imitation_ros.sim import load_profile_for_sim

    profile = load_profile_for_sim()
    stats = write_sim_demos(tmp_path / 'ds', episodes=2, seed=3)
    info = json.loads((stats.root / 'meta' / 'info.json').read_text())
    assert info['fps'] == 30 and info['total_episodes'] == 2 == stats.episodes
    for key, ft in profile.features().items():
        assert info['features'][key]['dtype'] == ft['dtype'], key
        assert list(info['features'][key]['shape']) == list(ft['shape']), key
    videos = list((stats.root / 'videos').rglob('*.mp4'))
    assert videos, 'camera stream not written as video'
    tasks = pd.read_parquet(stats.root / 'meta' / 'tasks.parquet')
    assert profile.task in list(tasks.index)
    data = pd.concat(pd.read_parquet(p) for p in (stats.root / 'data').rglob('*.parquet'))
    assert len(data) == stats.frames == info['total_frames']
    # episodes end hold_s (0.5 s = 15 frames) after success, well before the 5 s timeout
    lengths = data.groupby('episode_index').size()
    assert stats.successes == 2 and (lengths < 150).all(), lengths
    state = np.stack(data[OBS_STATE].to_numpy())
    action = np.stack(data[ACTION].to_numpy())
    # the action is the command (the gripper closes before the measured gripper follows)
    assert np.abs(action - state).max() > 0.5
    assert set(np.round(action[:, -1], 3)) <= {0.0, 1.0}   # expert's gripper: open or closed
    with pytest.raises(DatasetError, match='exists already'):
        write_sim_demos(stats.root, episodes=1)
