"""GAIL (``imitation`` + PPO) on the simulated arm: demos, env, a short learning run, loading.

Needs ``requirements-gail.txt`` (installed ``--no-deps``) and stable-baselines3/tensorboard;
without them the tests fail at import, on purpose (see docs/gail.md).

The learning test is a CI-sized GAIL run: the ``reach`` variant of the cube lift (the first
20 control periods of the scene: the approach), 10 expert demos cut to that length, 8
environments, 24 rounds of 1024 environment steps (~25k steps, ~25-40 s on one thread).
Measured: discriminator accuracy (expert vs policy rollouts) 0.57 -> 0.79, task return
(-|grasp - cube| summed, which training never sees) -4.07 -> -3.36; the expert's is -2.89.
The bars: accuracy up by >= 0.1 and return up by >= 0.2.

The ``lift_cube_wide`` additions (docs/gail.md): the ``*_wide`` tasks' scene, demo replay
recovering the cube pose (and refusing a wrong first seed), BC pretraining of the PPO policy
on joints + cube pose with its step-0 checkpoint reloading to the same policy, and the CLI's
``--bc-pretrain``/``--demo-first-seed``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault('MUJOCO_GL', 'egl')

from imitation_ros.errors import ConfigError, DatasetError, TrainError  # noqa: E402


@pytest.fixture(scope='module')
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten state-only scripted-expert demos (~5 s)."""
    from imitation_ros.data.sim_demos import write_sim_demos

    root = tmp_path_factory.mktemp('gail') / 'demos'
    write_sim_demos(root, episodes=10, images=False)
    return root


@pytest.fixture(scope='module')
def reach_run(demos: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The CI-sized GAIL run on ``reach`` (see module docstring)."""
    import torch

    from imitation_ros.learn.gail import GailConfig, train_gail

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp('gail') / 'run'
    cfg = GailConfig(dataset=demos, output_dir=out, task='reach', total_steps=24 * 1024,
                     n_envs=8, n_steps=128, ppo_batch_size=256, eval_every=8,
                     eval_episodes=5, progress=False)
    return train_gail(cfg)


def test_action_mapping_round_trips() -> None:
    from imitation_ros.sim.gym_env import (
        DEFAULT_ACTION_SCALE,
        action_from_target,
        target_from_action,
    )

    scale = np.asarray(DEFAULT_ACTION_SCALE)
    rng = np.random.default_rng(0)
    state = rng.uniform(-1, 1, (50, 6))
    act = rng.uniform(-1, 1, (50, 6))
    target = target_from_action(act, state, scale)
    np.testing.assert_allclose(action_from_target(target, state, scale), act, atol=1e-12)
    # beyond the scale clips to +-1
    far = action_from_target(state + 10.0, state, scale)
    np.testing.assert_array_equal(far, np.ones_like(far))


def test_env_observes_joints_and_privileged_cube_pose() -> None:
    from imitation_ros.sim.gym_env import ENV_STATE_NAMES, ArmLiftEnv

    env = ArmLiftEnv(task='lift', horizon=5)
    try:
        obs, _ = env.reset(seed=3)
        assert obs.shape == (6 + len(ENV_STATE_NAMES),) == env.observation_space.shape
        ts = env.sim.task_state()
        np.testing.assert_allclose(obs[:6], env.sim.joint_positions(), atol=1e-6)
        np.testing.assert_allclose(obs[6:9], ts[:3], atol=1e-6)
        obs2, _ = env.reset(seed=3)
        np.testing.assert_array_equal(obs, obs2)            # seeded reset reproduces
        steps = 0
        truncated = False
        while not truncated:
            q0 = env.sim.joint_positions()
            obs, rew, term, truncated, info = env.step(np.full(6, 0.5, np.float32))
            steps += 1
            assert not term and np.isfinite(rew) and info['is_success'] is False
        assert steps == 5                                    # fixed horizon
        # the step moved towards q0 + 0.5 * scale (rate-limited, so not all the way)
        assert np.all(env.sim.target[:5] > q0[:5])
    finally:
        env.close()
    blind = ArmLiftEnv(task='reach', privileged=False)
    try:
        assert blind.observation_space.shape == (6,) and blind.horizon == 20
    finally:
        blind.close()


def test_env_rejects_unknown_task() -> None:
    from imitation_ros.errors import SimError
    from imitation_ros.sim.gym_env import ArmLiftEnv

    with pytest.raises(SimError, match='task must be one of'):
        ArmLiftEnv(task='stack')


def test_demos_become_env_transitions(demos: Path) -> None:
    from imitation_ros.learn.gail.demos import demo_trajectories, read_demo_episodes
    from imitation_ros.sim.gym_env import DEFAULT_ACTION_SCALE

    eps = read_demo_episodes(demos)
    assert len(eps.states) == 10 and eps.fps == 30
    assert eps.joint_names[-1] == 'gripper'
    scale = np.asarray(DEFAULT_ACTION_SCALE)
    trajs = demo_trajectories(eps, action_scale=scale, obs_dim=10)
    t = trajs[0]
    assert t.obs.shape == (len(eps.states[0]), 10) and t.acts.shape == (len(t.obs) - 1, 6)
    np.testing.assert_allclose(t.obs[:, :6], eps.states[0], atol=1e-6)
    assert np.all(t.obs[:, 6:] == 0)                      # no object pose in a dataset
    expect = np.clip((eps.actions[0][:-1] - eps.states[0][:-1]) / scale, -1, 1)
    np.testing.assert_allclose(t.acts, expect, atol=1e-6)
    assert np.abs(t.acts).max() <= 1.0 and np.abs(t.acts).mean() > 0.05   # the expert moves
    short = demo_trajectories(eps, action_scale=scale, obs_dim=10, max_len=20)
    assert all(len(s.acts) == 20 for s in short)


def test_demos_bad_input_names_the_file(tmp_path: Path) -> None:
    from imitation_ros.learn.gail.demos import read_demo_episodes

    with pytest.raises(DatasetError, match='info.json'):
        read_demo_episodes(tmp_path)


def test_gail_raises_discriminator_accuracy_and_return(reach_run) -> None:  # noqa: ANN001
    res = reach_run
    first, last = res.history[0], res.history[-1]
    assert res.env_steps == 24 * 1024
    assert res.disc_acc_end >= res.disc_acc_start + 0.1, (res.disc_acc_start, res.disc_acc_end)
    assert last['return'] >= first['return'] + 0.2, (first['return'], last['return'])
    accs = [h['disc_acc'] for h in res.history]
    assert max(accs[1:]) > accs[0]                       # training batches too


def test_gail_checkpoint_layout_and_metrics(reach_run) -> None:  # noqa: ANN001
    out = reach_run.output_dir
    last = out / 'checkpoints' / 'last'
    assert last.is_symlink()
    model = last / 'pretrained_model'
    for name in ('config.json', 'model.safetensors', 'reward_net.safetensors',
                 'imitation_ros_train.json'):
        assert (model / name).is_file(), name
    assert (last / 'training_state' / 'ppo.zip').is_file()
    cfg = json.loads((model / 'config.json').read_text())
    assert cfg['type'] == 'gail' and cfg['privileged'] is True and cfg['obs_dim'] == 10
    info = json.loads((model / 'imitation_ros_train.json').read_text())
    assert info['joint_names'][-1] == 'gripper' and info['fps'] == 30
    lines = (out / 'metrics.jsonl').read_text().splitlines()
    assert len(lines) == 25 and (out / 'gail.png').is_file()
    with pytest.raises(TrainError, match='holds checkpoints already'):
        from imitation_ros.learn.gail import GailConfig, train_gail

        train_gail(GailConfig(dataset=Path(info['dataset']), output_dir=out, task='reach',
                              total_steps=1024, n_envs=8, n_steps=128))


def test_gail_policy_loads_and_steps_through_deploy_path(reach_run) -> None:  # noqa: ANN001
    from imitation_ros.deploy.controller import PolicyController
    from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter
    from imitation_ros.learn.gail import evaluate_gail_checkpoint
    from imitation_ros.learn.gail.runner import OBS_ENV_STATE, GailRunner
    from imitation_ros.learn.inference import load_policy
    from imitation_ros.profile.keys import OBS_STATE
    from imitation_ros.sim import load_profile_for_sim

    runner = load_policy(reach_run.output_dir, device='cpu')
    assert isinstance(runner, GailRunner) and runner.n_action_steps == 1
    state = np.array([0.0, 0.2, 1.25, 1.25, 0.0, 1.0], np.float32)
    obs = {OBS_STATE: state, OBS_ENV_STATE: np.array([0.2, 0.0, 0.02, 0.0], np.float32)}
    chunk = runner(obs)
    assert chunk.shape == (1, 6) and np.all(np.isfinite(chunk))
    assert np.all(np.abs(chunk[0] - state) <= np.asarray(runner.action_scale) + 1e-6)
    np.testing.assert_array_equal(chunk, runner(obs))       # deterministic
    with pytest.raises(TrainError, match='environment_state.*simulation only'):
        runner({OBS_STATE: state})
    profile = load_profile_for_sim()
    ctl = PolicyController(runner, SafetyFilter.from_profile(
        profile, SafetyConfig(max_step_rad=0.1), period_s=1.0 / profile.fps))
    verdict = ctl.tick(0.0, obs, 0.0).verdict
    assert verdict.command is not None and np.all(np.isfinite(verdict.command))
    ctl.reset()
    held = ctl.tick(0.0, {OBS_STATE: state}, 0.0).verdict   # no cube pose: hold, say why
    assert 'environment_state' in ' '.join(held.reasons)
    summary = evaluate_gail_checkpoint(reach_run.output_dir, episodes=2, duration_s=0.5)
    assert summary.n == 2 and all(r.steps == 15 for r in summary.results)


def test_state_only_gail_runs_in_eval_sim(demos: Path, tmp_path: Path) -> None:
    """A GAIL policy without the privileged pose runs through ``eval-sim``'s own function."""
    from imitation_ros.deploy.rollout import RolloutConfig, evaluate_checkpoint
    from imitation_ros.learn.gail import GailConfig, train_gail
    from imitation_ros.sim import load_profile_for_sim

    res = train_gail(GailConfig(dataset=demos, output_dir=tmp_path / 'blind', task='reach',
                                privileged=False, total_steps=512, n_envs=4, n_steps=128,
                                ppo_batch_size=128, eval_episodes=1, progress=False))
    summary = evaluate_checkpoint(res.output_dir, load_profile_for_sim(),
                                  RolloutConfig(episodes=1, duration_s=0.5)).summary
    assert summary.n == 1 and summary.results[0].steps == 15


def test_cli_gail_needs_sim(demos: Path, tmp_path: Path) -> None:
    from imitation_ros.cli.main import build_parser

    args = build_parser().parse_args(['train', '--dataset', str(demos), '--policy', 'gail',
                                      '--output', str(tmp_path / 'x')])
    with pytest.raises(ConfigError, match='--sim'):
        args.func(args)


def test_cli_trains_gail(demos: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from imitation_ros.cli.main import main

    out = tmp_path / 'cli'
    rc = main(['train', '--dataset', str(demos), '--policy', 'gail', '--sim', 'reach',
               '--steps', '512', '--n-envs', '2', '--output', str(out), '--no-progress'])
    assert rc == 0
    text = capsys.readouterr().out
    assert 'trained gail (reach) for 512 env steps' in text
    assert (out / 'checkpoints' / 'last' / 'pretrained_model' / 'model.safetensors').is_file()


def test_config_rejects_less_than_one_round(demos: Path, tmp_path: Path) -> None:
    from imitation_ros.learn.gail import GailConfig

    with pytest.raises(ConfigError, match="less than one round"):
        GailConfig(dataset=demos, output_dir=tmp_path, total_steps=100, n_envs=8, n_steps=128)


def test_privileged_gail_runs_through_eval_sim(reach_run) -> None:  # noqa: ANN001
    """``eval-sim``'s own function feeds a cube-pose policy the sim's pose, so it commands."""
    from imitation_ros.deploy.rollout import RolloutConfig, evaluate_checkpoint
    from imitation_ros.sim import load_profile_for_sim

    report = evaluate_checkpoint(reach_run.output_dir, load_profile_for_sim(),
                                 RolloutConfig(episodes=2, duration_s=0.5))
    assert report.summary.n == 2 and all(r.steps == 15 for r in report.summary.results)
    assert report.stats['policy_errors'] == 0, report.stats
    assert report.stats['inferences'] > 0, report.stats


def test_wide_tasks_use_the_wide_scene() -> None:
    """``lift_wide``/``reach_wide``: the ``lift_cube_wide`` cube square, the lift/reach rules."""
    from imitation_ros.sim.gym_env import ArmLiftEnv

    wide, narrow = ArmLiftEnv(task='lift_wide'), ArmLiftEnv(task='lift')
    try:
        assert wide.kind == 'lift' and wide.horizon == 90 and wide.scene == 'lift_cube_wide'
        xy_wide = np.array([wide.reset(seed=s)[0][6:8] for s in range(40)])
        xy_narrow = np.array([narrow.reset(seed=s)[0][6:8] for s in range(40)])
        assert np.ptp(xy_wide[:, 1]) > 0.08 > 0.04 >= np.ptp(xy_narrow[:, 1])
        assert 0.25 <= xy_wide[:, 0].min() and xy_wide[:, 0].max() <= 0.37
        assert abs(xy_wide[:, 0].mean() - 0.31) < 0.02
    finally:
        wide.close()
        narrow.close()
    reach = ArmLiftEnv(task='reach_wide')
    try:
        assert reach.kind == 'reach' and reach.horizon == 20
        reach.reset(seed=0)
        assert reach.task_reward() == pytest.approx(-reach.grasp_distance_m())
    finally:
        reach.close()


def test_replay_recovers_the_demos_cube_pose(demos: Path) -> None:
    """sim-demos episode i ran on seed i: replaying its commands gives its cube poses."""
    from imitation_ros.learn.gail.demos import (
        demo_trajectories,
        read_demo_episodes,
        replay_env_states,
    )
    from imitation_ros.sim import ArmSim, load_profile_for_sim
    from imitation_ros.sim.gym_env import DEFAULT_ACTION_SCALE, ENV_STATE_NAMES

    eps = read_demo_episodes(demos)
    env, err = replay_env_states(eps, first_seed=0)
    assert err < 1e-4 and len(env) == 10
    sim = ArmSim(load_profile_for_sim())
    try:
        idx = [sim.task_state_names.index(k) for k in ENV_STATE_NAMES]
        for i in (0, 7):
            sim.reset(i)
            np.testing.assert_allclose(env[i][0], sim.task_state()[idx], atol=1e-9)
    finally:
        sim.close()
    for e in env:                           # the expert lifted the cube: z rises >= 5 cm
        assert e[-1, 2] - e[0, 2] >= 0.05
    trajs = demo_trajectories(eps, action_scale=np.asarray(DEFAULT_ACTION_SCALE), obs_dim=10,
                              env_states=env)
    np.testing.assert_allclose(trajs[3].obs[:, 6:], env[3], atol=1e-6)
    with pytest.raises(DatasetError, match='seed 2: replaying|sim seed 2'):
        replay_env_states(eps, first_seed=2)        # wrong seeds: the joints disagree


def test_bc_pretrain_on_the_cube_pose_then_gail(demos: Path, tmp_path: Path) -> None:
    """BC of the PPO policy on joints + replayed cube pose, checkpointed at step 0, then GAIL.

    The untrained policy holds still (never lifts); BC alone must lift the cube (>= 5 cm, at
    some step of the 8 s episode) on most validation seeds past the demo seeds (measured: 8/8
    at 1500 batches; holding it to the end needs more: 3/8 at 3000), and its checkpoint must
    reload to the same policy (the input normalization travels with it).
    """
    import torch
    from lerobot.utils.train_utils import get_step_checkpoint_dir

    from imitation_ros.learn.gail import GailConfig, train_gail
    from imitation_ros.learn.gail.trainer import evaluate_env_policy, plot_curves
    from imitation_ros.learn.inference import load_policy

    torch.set_num_threads(1)
    out = tmp_path / 'bcgail'
    cfg = GailConfig(dataset=demos, output_dir=out, task='lift', total_steps=512,
                     n_envs=4, n_steps=128, ppo_batch_size=128, lr=1e-4, eval_every=1,
                     eval_episodes=4, eval_first_seed=10, eval_duration_s=8.0,
                     demo_first_seed=0, bc_pretrain_steps=1500, progress=False)
    res = train_gail(cfg)
    h0 = res.history[0]
    assert h0['bc_steps'] == 1500 and h0['bc_loss_last'] < h0['bc_loss_first'] - 3, h0
    assert h0['success_any'] >= 0.75, h0
    assert res.env_steps == 512 and len(res.history) == 2
    ck0 = get_step_checkpoint_dir(out, 512, 0) / 'pretrained_model'
    conf = json.loads((ck0 / 'config.json').read_text())
    assert conf['disc_input_dim'] == 10 and len(conf['obs_mean']) == 10
    assert min(conf['obs_std'][6:9]) > 1e-3           # the cube pose was recovered, not zeros
    runner = load_policy(ck0, device='cpu')
    again = evaluate_env_policy(runner.policy, cfg, range(10, 14))
    assert again['success_any'] == h0['success_any']
    assert again['return'] == pytest.approx(h0['return'], rel=1e-4)
    plot_curves({'run': res.history}, tmp_path / 'c.png', title='t', baselines={'b': 0.5})
    assert (tmp_path / 'c.png').stat().st_size > 1000


def test_cli_bc_only_and_wrong_demo_seed(demos: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    from imitation_ros.cli.main import main

    out = tmp_path / 'bc_only'
    rc = main(['train', '--dataset', str(demos), '--policy', 'gail', '--sim', 'reach',
               '--steps', '0', '--bc-pretrain', '200', '--n-envs', '2', '--output', str(out),
               '--no-progress'])
    assert rc == 0
    text = capsys.readouterr().out
    assert 'BC pretraining: 200 batches' in text and 'for 0 env steps' in text
    assert (out / 'checkpoints' / 'last' / 'pretrained_model' / 'model.safetensors').is_file()
    rc = main(['train', '--dataset', str(demos), '--policy', 'gail', '--sim', 'reach',
               '--steps', '512', '--n-envs', '2', '--output', str(tmp_path / 'bad'),
               '--demo-first-seed', '5', '--no-progress'])
    assert rc == 1                        # the demos were not recorded on seeds 5..14
    assert 'sim seed 5' in capsys.readouterr().err


def test_config_needs_gail_steps_or_bc(demos: Path, tmp_path: Path) -> None:
    from imitation_ros.learn.gail import GailConfig

    with pytest.raises(ConfigError, match='one of them > 0'):
        GailConfig(dataset=demos, output_dir=tmp_path, total_steps=0)
    GailConfig(dataset=demos, output_dir=tmp_path, total_steps=0, bc_pretrain_steps=10)
