"""State-only BC learns the cube lift from a wide arm start, which blind replay cannot do.

The whole learning path without ROS: scripted-expert demos written by
``imitation_ros.data.sim_demos`` (lerobot's writer, the converter's semantics), training with
``imitation_ros.learn.train`` (CPU, one thread), and the checkpoint driving the simulated arm
through the policy node's controller and safety filter
(``imitation_ros.sim.task_eval.evaluate_checkpoint_on_task``, latency-faithful, as the vision
test and bench) on held-out seeds 10000..10019. No DDS is involved (nothing to fake either).

Why this test can fail. On ``lift_cube`` as the demo runs it (arm start +- 0.2 rad per joint,
cube +- 2 cm) blind replay of the demos' mean action trajectory lifts the cube on every seed
(30/30 measured): a success rate there says nothing about learning, and this file used to
assert exactly that. Here the arm starts anywhere within +- 0.9 rad per joint (the cube as on
``lift_cube``): the policy has to read the joint state to bring the arm onto the approach, so
blind replay mostly fails. Measured with these settings (30 demos, 29 successful; 2000 steps):
on the test seeds 10000..10019 (``pytest -s`` prints these) blind replay 6/20, state-only BC
18/20 and 19/20 (two runs: the evaluation is latency-faithful), expert 20/20; the same
checkpoint on the validation seeds 20000..20019, where the bar was chosen: BC 16/20, blind
2/20, expert 20/20 (at +- 0.6 rad, test seeds: blind 10/20, BC 18/20). The bar: BC lifts the
cube on at least 13 of 20 held-out seeds *and* on at least 5 more than blind replay on the
same seeds. A policy at 80 % falls below 13/20 with probability ~3 %; one at 30 %, as blind
replay here, reaches it with probability ~1e-3, and a policy blind to the joint state
(state zeroed in ``PolicyRunner``) scored 0/20. The camera's headline, on ``lift_cube_wide``
where the cube must be seen, is ``test/e2e/test_learn_vision.py``; the demo's, through the
nodes, ``test/e2e/test_demo_cli.py``.

Regressions pinned:
- in-process demos carry the profile's features (video included), the task text, one
  episode per seed ending ``hold_s`` after success, action = the expert's command, state =
  the measured joints; an existing dataset folder is refused;
- demos written in-process load in the trainer (features, fps, task) and train (held-out
  action error < 0.1 rad);
- the deploy stack drives the sim from a state-only checkpoint on held-out seeds;
- state-only BC (30 demos, state noise 0.05 rad, 2000 steps) >= 13/20 and >= blind replay + 5
  with the arm starting within +- 0.9 rad; the expert >= 19/20 there.

Takes ~1 minute on one idle core (estimated from the former version's ~35 s: demos ~10 s,
training ~12 s, three times 20 closed-loop episodes); 4.5-8.5 minutes on the 2 shared cores
it was measured on (load average ~30).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

DEMOS = 30
STEPS = 2000
N_EVAL = 20
ARM_JITTER_RAD = 0.9        # arm start: home +- this per joint (lift_cube: 0.2)
MIN_SUCCESSES = 13
MARGIN = 5                  # successes above blind replay on the same seeds


@pytest.fixture(scope='module')
def wide_start(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    os.environ.setdefault('MUJOCO_GL', 'egl')
    import torch

    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.learn.augment import AugmentConfig
    from imitation_ros.learn.trainer import TrainConfig, train
    from imitation_ros.sim.arm import ArmSimConfig
    from imitation_ros.sim.task_eval import (
        evaluate_baselines,
        evaluate_checkpoint_on_task,
        held_out_seeds,
    )

    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp('wide_start')
    sim_cfg = ArmSimConfig(arm_jitter_rad=ARM_JITTER_RAD)
    stats = write_sim_demos(tmp / 'ds', episodes=DEMOS, seed=0, images=False,
                            sim_config=sim_cfg)
    res = train(TrainConfig(
        dataset=stats.root, policy='bc', output_dir=tmp / 'run', steps=STEPS, device='cpu',
        val_every=STEPS, save_every=STEPS, augment=AugmentConfig(state_noise_std=0.05),
        progress=False))
    seeds = held_out_seeds(N_EVAL)
    bc = evaluate_checkpoint_on_task(res.checkpoint, sim_cfg, seeds)
    base = evaluate_baselines(stats.root, sim_cfg, seeds)
    msg = (f'arm start +-{ARM_JITTER_RAD} rad, seeds {seeds.start}..{seeds.stop - 1}: '
           f'state-only BC {bc.rate}, blind replay {base.blind.rate}, expert {base.expert.rate}')
    print(msg)
    return {'bc': bc, 'blind': base.blind, 'expert': base.expert, 'train': res,
            'demo_successes': stats.successes, 'msg': msg}


def test_demos_train_and_drive_the_sim(wide_start: dict[str, Any]) -> None:
    r = wide_start
    assert r['demo_successes'] >= DEMOS - 2, r['demo_successes']
    assert r['train'].step == STEPS
    val_mae = r['train'].val.get('val_mae')
    assert val_mae is not None and val_mae < 0.1, val_mae     # rad, open loop
    assert r['bc'].n == r['blind'].n == r['expert'].n == N_EVAL
    assert r['expert'].successes >= N_EVAL - 1, r['msg']


def test_state_bc_beats_blind_replay_from_a_wide_arm_start(wide_start: dict[str, Any]) -> None:
    r = wide_start
    assert r['bc'].successes >= MIN_SUCCESSES, r['msg']
    assert r['bc'].successes >= r['blind'].successes + MARGIN, r['msg']


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
