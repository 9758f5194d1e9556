"""GAIL on the simulated arm, through the ``imitation`` library and stable-baselines3 PPO.

``train_gail(GailConfig(...))``: expert transitions come from a LeRobot dataset
(:mod:`imitation_ros.learn.gail.demos`); the generator is PPO on ``n_envs`` copies of
:class:`imitation_ros.sim.gym_env.ArmLiftEnv` (vectorized); the discriminator sees the joint
state and the action only (the dataset has no object pose), while the policy also sees the
privileged cube pose unless ``privileged=False``. Output, in the layout of the other
policies' runs (``imitation_ros.learn.trainer``)::

    <output>/checkpoints/<env steps>/pretrained_model/  config.json (type gail),
                                                        model.safetensors (the PPO policy),
                                                        reward_net.safetensors, imitation_ros_train.json
    <output>/checkpoints/<env steps>/training_state/    ppo.zip (stable-baselines3)
    <output>/checkpoints/last -> <env steps>
    <output>/metrics.jsonl, <output>/gail.png (success and discriminator accuracy vs env steps)

With ``demo_first_seed`` set (demos from ``imitation-ros sim-demos``), the demos are replayed
in the simulator to recover the cube pose of each frame
(:func:`imitation_ros.learn.gail.demos.replay_env_states`): the discriminator then sees the
whole observation (joints and cube pose), and the policy's input is standardized with the
demos' statistics (:mod:`imitation_ros.learn.gail.nets`). ``bc_pretrain_steps`` > 0 first
trains the PPO policy by behaviour cloning on the demos (``imitation.algorithms.bc``; the
same network and observation), evaluates and checkpoints it at environment step 0 (the
"BC with the privileged pose" baseline), then fine-tunes it with GAIL.

Each round: PPO collects ``n_envs * n_steps`` environment steps and updates on the
discriminator's reward, then the discriminator takes ``n_disc_updates`` steps. Every
``eval_every`` rounds the deterministic policy is run on held-out seeds (success rate and
task return, which training never sees). Requires ``requirements-gail.txt``.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.errors import ConfigError, TrainError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

INSTALL_HINT = ('GAIL needs the imitation library: pip install -r requirements.txt && '
                'pip install --no-deps -r requirements-gail.txt')


@dataclass(frozen=True, slots=True, kw_only=True)
class GailConfig:
    """One GAIL run.

    Attributes:
        dataset: LeRobot dataset of expert demos (``observation.state`` + ``action``).
        output_dir: Run folder.
        task: ``lift``, ``reach``, ``lift_wide`` or ``reach_wide``
            (:data:`imitation_ros.sim.gym_env.TASK_SCENES`).
        horizon: Control periods per training episode (default: the task's).
        privileged: The policy also observes the cube pose (sim only).
        total_steps: Environment steps to collect (rounded down to whole rounds).
        n_envs: Parallel environments.
        subproc: One process per environment (else all in this process).
        n_steps: PPO rollout length per environment per round.
        ppo_batch_size: PPO minibatch size.
        ppo_epochs: PPO epochs per round.
        lr: PPO learning rate.
        ent_coef: PPO entropy bonus.
        log_std_init: Initial log standard deviation of the policy's actions.
        net_arch: Hidden sizes of the policy and value networks.
        demo_batch_size: Expert (and generator) samples per discriminator update.
        n_disc_updates: Discriminator updates per round.
        disc_lr: Discriminator learning rate.
        eval_every: Evaluate and checkpoint every this many rounds (and at the end).
        eval_episodes: Held-out episodes per evaluation.
        eval_first_seed: First held-out seed (``eval-sim`` uses 10000..).
        eval_duration_s: Evaluation episode length, s (default: the training horizon).
        demo_episodes: Dataset episodes to use (default all).
        seed: Seed of PPO, the discriminator and the training episodes.
        progress: Show a progress bar.
        max_wall_s: Stop after the round that passes this much training wall time, s
            (evaluating and checkpointing there); None: run all ``total_steps``.
        demo_first_seed: Sim seed of the dataset's episode 0 (``sim-demos --seed``): replay
            the demos to recover the cube pose (discriminator and BC see it). None: the
            cube-pose columns of the demos are zeros and the discriminator sees the joints
            and the action only (any dataset).
        normalize_obs: Standardize the policy's input with the demos' statistics (default:
            when ``demo_first_seed`` is set).
        bc_pretrain_steps: Behaviour-cloning batches on the demos before GAIL (0: none);
            the BC policy is evaluated and checkpointed at environment step 0.
        bc_batch_size: BC minibatch size.
        bc_lr: BC learning rate (Adam).
    """

    dataset: Path
    output_dir: Path
    task: str = 'lift'
    horizon: int | None = None
    privileged: bool = True
    total_steps: int = 200_000
    n_envs: int = 8
    subproc: bool = False
    n_steps: int = 256
    ppo_batch_size: int = 256
    ppo_epochs: int = 5
    lr: float = 3e-4
    ent_coef: float = 0.0
    log_std_init: float = -0.5
    net_arch: tuple[int, ...] = (64, 64)
    demo_batch_size: int = 512
    n_disc_updates: int = 4
    disc_lr: float = 3e-4
    eval_every: int = 5
    eval_episodes: int = 10
    eval_first_seed: int = 10_000
    eval_duration_s: float | None = None
    demo_episodes: tuple[int, ...] | None = None
    seed: int = 0
    progress: bool = True
    max_wall_s: float | None = None
    demo_first_seed: int | None = None
    normalize_obs: bool | None = None
    bc_pretrain_steps: int = 0
    bc_batch_size: int = 256
    bc_lr: float = 1e-3

    def __post_init__(self) -> None:
        if self.total_steps < 0 or self.bc_pretrain_steps < 0 or (
                self.total_steps == 0 and self.bc_pretrain_steps == 0):
            msg = (f'GailConfig: total_steps ({self.total_steps}) and bc_pretrain_steps '
                   f'({self.bc_pretrain_steps}) must be >= 0, and one of them > 0')
            raise ConfigError(msg)
        for name in ('n_envs', 'n_steps', 'ppo_batch_size', 'ppo_epochs',
                     'demo_batch_size', 'n_disc_updates', 'eval_every', 'eval_episodes'):
            if getattr(self, name) < 1:
                msg = f'GailConfig.{name} must be >= 1, got {getattr(self, name)}'
                raise ConfigError(msg)
        if 0 < self.total_steps < self.round_steps:
            msg = (f'GailConfig.total_steps={self.total_steps} is less than one round '
                   f'(n_envs * n_steps = {self.round_steps})')
            raise ConfigError(msg)

    @property
    def round_steps(self) -> int:
        """Environment steps per round."""
        return self.n_envs * self.n_steps

    @property
    def replays_demos(self) -> bool:
        """Whether the demos' cube pose is recovered by replay (privileged policies only)."""
        return self.privileged and self.demo_first_seed is not None

    @property
    def normalizes_obs(self) -> bool:
        """Whether the policy standardizes its input."""
        return self.replays_demos if self.normalize_obs is None else self.normalize_obs

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        d = asdict(self)
        d['dataset'], d['output_dir'] = str(self.dataset), str(self.output_dir)
        return d


@dataclass(slots=True)
class GailResult:
    """What :func:`train_gail` did."""

    output_dir: Path
    checkpoint: Path
    env_steps: int
    wall_s: float
    disc_acc_start: float             # untrained discriminator: expert vs initial policy
    disc_acc_end: float               # final discriminator: expert vs final policy
    history: list[dict[str, Any]] = field(default_factory=list)


def _import_imitation() -> None:
    import importlib

    try:
        for name in ('imitation', 'stable_baselines3', 'tensorboard'):
            importlib.import_module(name)
    except ImportError as err:
        msg = f'{INSTALL_HINT} ({err})'
        raise TrainError(msg) from None


def make_env_fn(cfg: GailConfig, rank: int, *, horizon: int | None = None) -> Any:
    """A picklable factory of one training environment (for the vec env)."""
    def make() -> Any:
        from imitation.data.wrappers import RolloutInfoWrapper

        from imitation_ros.sim.gym_env import ArmLiftEnv

        env = ArmLiftEnv(task=cfg.task, horizon=horizon or cfg.horizon,
                         privileged=cfg.privileged)
        return RolloutInfoWrapper(env)

    del rank
    return make


class JointStateRewardNet:
    """Factory of the discriminator: a ``BasicRewardNet`` on the first ``n`` obs columns.

    (A class holding the factory so the module imports without torch/imitation.)
    """

    @staticmethod
    def build(observation_space: Any, action_space: Any, n_state: int,
              hid_sizes: tuple[int, ...] = (64, 64)) -> Any:
        """Return a reward net on ``obs[..., :n_state]`` and the action.

        A state-action discriminator: the next state and ``done`` are not used, and the
        observation columns past ``n_state`` (the privileged cube pose, which datasets lack)
        are never seen.
        """
        import gymnasium as gym
        from imitation.rewards.reward_nets import BasicRewardNet, RewardNet
        from imitation.util.networks import RunningNorm

        sub_space = gym.spaces.Box(-np.inf, np.inf, (n_state,), np.float32)

        class _Net(RewardNet):
            def __init__(self) -> None:
                super().__init__(observation_space, action_space)
                self.inner = BasicRewardNet(sub_space, action_space, use_state=True,
                                            use_action=True, use_next_state=False,
                                            use_done=False, hid_sizes=hid_sizes,
                                            normalize_input_layer=RunningNorm)

            def forward(self, state: torch.Tensor, action: torch.Tensor,
                        next_state: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
                return self.inner(state[..., :n_state], action, next_state[..., :n_state],
                                  done)

        return _Net()


def _rollout_transitions(policy: Any, venv: Any, n_episodes: int, seed: int) -> Any:
    from imitation.data import rollout

    rng = np.random.default_rng(seed)
    trajs = rollout.generate_trajectories(
        policy, venv, rollout.make_sample_until(min_episodes=n_episodes), rng=rng,
        deterministic_policy=False)
    return rollout.flatten_trajectories(trajs)


def disc_accuracy(trainer: Any, expert: Any, gen: Any, n: int = 1024) -> float:
    """Accuracy of the discriminator telling ``n`` expert from ``n`` generator transitions."""
    import torch

    rng = np.random.default_rng(0)
    accs = []
    for trans, label in ((expert, 1.0), (gen, 0.0)):
        idx = rng.choice(len(trans), size=min(n, len(trans)), replace=False)
        net = trainer.reward_train
        with torch.no_grad():
            s, a, ns, d = net.preprocess(trans.obs[idx], trans.acts[idx],
                                         trans.next_obs[idx], trans.dones[idx])
            logits = trainer.logits_expert_is_high(s, a, ns, d, None)
        accs.append(float(((logits > 0).float() == label).float().mean()))
    return float(np.mean(accs))


def evaluate_env_policy(policy: Any, cfg: GailConfig, seeds: range) -> dict[str, float]:
    """Run the deterministic ``policy`` on ``ArmLiftEnv`` for each seed (no safety filter).

    Returns:
        ``success`` (fraction succeeding at the episode's end), ``return`` (mean task return),
        ``success_any`` (fraction succeeding at any step).
    """
    from imitation_ros.sim.gym_env import ArmLiftEnv

    env = ArmLiftEnv(task=cfg.task, horizon=cfg.horizon, privileged=cfg.privileged)
    if cfg.eval_duration_s:
        env.horizon = max(2, round(cfg.eval_duration_s * env.sim.profile.fps))
    ok = any_ok = 0
    total = 0.0
    try:
        for seed in seeds:
            obs, _ = env.reset(seed=seed)
            done, info, hit = False, {}, False
            while not done:
                act, _ = policy.predict(obs, deterministic=True)
                obs, rew, term, trunc, info = env.step(act)
                total += rew
                hit = hit or info['is_success']
                done = term or trunc
            ok += bool(info.get('is_success'))
            any_ok += hit
    finally:
        env.close()
    n = max(1, len(seeds))
    return {'success': ok / n, 'return': total / n, 'success_any': any_ok / n}


def _save(out: Path, step: int, total: int, gen_algo: Any, reward_net: Any,
          run_info: dict[str, Any], model_config: dict[str, Any]) -> Path:
    from lerobot.utils.train_utils import get_step_checkpoint_dir, update_last_checkpoint
    from safetensors.torch import save_file

    from imitation_ros.learn.inference import RUN_FILE

    ckpt = get_step_checkpoint_dir(out, total, step)
    model_dir = ckpt / 'pretrained_model'
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / 'config.json').write_text(json.dumps(model_config, indent=1))
    save_file({k: v.detach().clone().contiguous()   # clone: shared normalization buffers
               for k, v in gen_algo.policy.state_dict().items()},
              str(model_dir / 'model.safetensors'))
    save_file({k: v.detach().contiguous() for k, v in reward_net.state_dict().items()},
              str(model_dir / 'reward_net.safetensors'))
    (model_dir / RUN_FILE).write_text(json.dumps({**run_info, 'step': step}, indent=1))
    (ckpt / 'training_state').mkdir(exist_ok=True)
    gen_algo.save(str(ckpt / 'training_state' / 'ppo.zip'))
    update_last_checkpoint(ckpt)
    return model_dir


def plot_gail(history: list[dict[str, Any]], path: Path, *, title: str,
              baselines: dict[str, float] | None = None) -> None:
    """Plot held-out success (end of episode and at any step, with baseline lines), the
    task return and the discriminator's accuracy vs environment steps."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    evals = [h for h in history if 'success' in h]
    steps = [h['env_steps'] for h in evals]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(13, 3.6))
    if evals:
        ax1.plot(steps, [h['success'] for h in evals], 'o-', label='GAIL: success at the end')
        ax1.plot(steps, [h['success_any'] for h in evals], 's:',
                 label='GAIL: success at some step')
        ax2.plot(steps, [h['return'] for h in evals], 'o-')
    groups: dict[float, list[str]] = {}
    for name, val in (baselines or {}).items():
        groups.setdefault(round(float(val), 3), []).append(name)
    for i, (val, names) in enumerate(groups.items()):
        ax1.axhline(val, ls='--', color=f'C{i + 2}', label=f"{', '.join(names)} ({val:.0%})")
    ax1.set_xlabel('environment steps')
    ax1.set_ylabel('success rate (held-out seeds)')
    ax1.set_ylim(-0.05, 1.05)
    ax1.legend(fontsize=7, loc='center left')
    ax2.set_xlabel('environment steps')
    ax2.set_ylabel('task return (not seen by GAIL)')
    ax3.plot([h['env_steps'] for h in history], [h['disc_acc'] for h in history], '-')
    ax3.set_xlabel('environment steps')
    ax3.set_ylabel('discriminator accuracy (train batches)')
    ax3.set_ylim(0.0, 1.05)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_curves(curves: dict[str, list[dict[str, Any]]], path: Path, *, title: str,
                baselines: dict[str, float] | None = None) -> None:
    """Plot several runs' evaluation success (end of episode) vs environment steps, with
    baseline rates as dashed lines (left), and their discriminator accuracy (right)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={'width_ratios': [2, 1]})
    for i, (name, hist) in enumerate(curves.items()):
        ev = [h for h in hist if 'success' in h]
        ax1.plot([h['env_steps'] for h in ev], [h['success'] for h in ev], 'o-', ms=3,
                 color=f'C{i}', label=name)
        ax2.plot([h['env_steps'] for h in hist], [h['disc_acc'] for h in hist], '-',
                 color=f'C{i}', label=name)
    styles = ['--', ':', '-.']
    for j, (name, val) in enumerate((baselines or {}).items()):
        ax1.axhline(val, ls=styles[j % 3], color='grey' if j % 2 else 'k', lw=1,
                    label=f'{name}: {val:.0%}')
    ax1.set_xlabel('environment steps')
    ax1.set_ylabel('success rate')
    ax1.set_ylim(-0.05, 1.05)
    ax1.legend(fontsize=6.5, loc='center right')
    ax2.set_xlabel('environment steps')
    ax2.set_ylabel('discriminator accuracy (train batches)')
    ax2.set_ylim(0.0, 1.05)
    fig.suptitle(title, fontsize=8.5)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def bc_pretrain(policy: Any, venv: Any, expert: Any, cfg: GailConfig,
                out: Path) -> dict[str, Any]:
    """Behaviour-clone ``policy`` (the PPO actor) on the expert transitions, in place.

    Returns:
        ``bc_steps``, ``bc_wall_s`` and the last logged ``bc_loss``/``bc_neglogp``.
    """
    from imitation.algorithms import bc as imit_bc
    from imitation.util import logger as imit_logger

    t0 = time.perf_counter()
    trainer = imit_bc.BC(
        observation_space=venv.observation_space, action_space=venv.action_space,
        rng=np.random.default_rng(cfg.seed), policy=policy, demonstrations=expert,
        batch_size=min(cfg.bc_batch_size, len(expert)), optimizer_kwargs={'lr': cfg.bc_lr},
        device='cpu', custom_logger=imit_logger.configure(str(out / 'bc_log'), ['csv']))
    losses: list[float] = []
    trainer.train(n_batches=cfg.bc_pretrain_steps, progress_bar=False,
                  log_interval=max(1, cfg.bc_pretrain_steps // 10),
                  on_batch_end=None)
    csv = out / 'bc_log' / 'progress.csv'
    if csv.is_file():
        import pandas as pd

        frame = pd.read_csv(csv)
        if 'bc/loss' in frame:
            losses = [float(x) for x in frame['bc/loss'].dropna()]
    wall = time.perf_counter() - t0
    logger.info('BC pretraining: %d batches in %.0f s, loss %s', cfg.bc_pretrain_steps, wall,
                losses[-1:] or '?')
    return {'bc_steps': cfg.bc_pretrain_steps, 'bc_wall_s': round(wall, 2),
            'bc_loss_first': losses[0] if losses else None,
            'bc_loss_last': losses[-1] if losses else None}


def train_gail(cfg: GailConfig) -> GailResult:  # noqa: PLR0915 - one linear recipe
    """Run GAIL (see module docstring).

    Raises:
        TrainError: ``imitation`` missing, or the output folder holds checkpoints already.
        DatasetError: The dataset cannot be read or its joints differ from the sim's.
    """
    _import_imitation()
    import torch
    from imitation.algorithms.adversarial.gail import GAIL
    from imitation.data import rollout
    from imitation.util import logger as imit_logger
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
    from tqdm import tqdm

    from imitation_ros.errors import DatasetError
    from imitation_ros.learn.gail.demos import (
        demo_trajectories,
        read_demo_episodes,
        replay_env_states,
    )
    from imitation_ros.sim.arm import task_sim_config
    from imitation_ros.sim.gym_env import ENV_STATE_NAMES, TASK_SCENES

    out = Path(cfg.output_dir)
    if (out / 'checkpoints').exists():
        msg = f'{out}: holds checkpoints already; choose another output folder'
        raise TrainError(msg)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    t_start = time.perf_counter()
    fns = [make_env_fn(cfg, i) for i in range(cfg.n_envs)]
    venv = SubprocVecEnv(fns) if cfg.subproc and cfg.n_envs > 1 else DummyVecEnv(fns)
    probe = fns[0]().unwrapped
    joint_names, horizon, fps = probe.joint_names, probe.horizon, probe.sim.profile.fps
    scale = probe.action_scale
    probe.close()
    demos = read_demo_episodes(cfg.dataset, cfg.demo_episodes)
    if demos.joint_names and tuple(demos.joint_names) != tuple(joint_names):
        msg = (f'{cfg.dataset}/meta/info.json: action joints {list(demos.joint_names)} differ '
               f'from the sim profile joints {list(joint_names)}')
        raise DatasetError(msg)
    obs_dim = int(venv.observation_space.shape[0])
    n_state = len(joint_names)
    max_len = horizon if cfg.task.startswith('reach') else None
    env_states, replay_err = None, None
    if cfg.replays_demos:
        env_states, replay_err = replay_env_states(
            demos, first_seed=int(cfg.demo_first_seed),
            sim_config=task_sim_config(TASK_SCENES[cfg.task]))
        logger.info('demos replayed on seeds %d..: joints within %.2g rad of the recorded',
                    cfg.demo_first_seed, replay_err)
    n_disc = obs_dim if env_states is not None else n_state
    expert = rollout.flatten_trajectories(
        demo_trajectories(demos, action_scale=scale, obs_dim=obs_dim, max_len=max_len,
                          env_states=env_states))
    policy_kwargs: dict[str, Any] = {
        'net_arch': {'pi': list(cfg.net_arch), 'vf': list(cfg.net_arch)},
        'log_std_init': cfg.log_std_init}
    obs_mean = obs_std = None
    if cfg.normalizes_obs:
        from imitation_ros.learn.gail.nets import MIN_STD, NormalizedFlatten

        obs_mean = [float(x) for x in expert.obs.mean(0)]
        obs_std = [float(max(x, MIN_STD)) for x in expert.obs.std(0)]
        policy_kwargs.update(features_extractor_class=NormalizedFlatten,
                             features_extractor_kwargs={'mean': obs_mean, 'std': obs_std})
    venv.seed(200_000 + 1000 * cfg.seed)        # the initial policy's probe rollouts
    gen_algo = PPO(
        'MlpPolicy', venv, n_steps=cfg.n_steps, batch_size=cfg.ppo_batch_size,
        n_epochs=cfg.ppo_epochs, learning_rate=cfg.lr, ent_coef=cfg.ent_coef, gamma=0.99,
        seed=cfg.seed, device='cpu', verbose=0, policy_kwargs=policy_kwargs)
    reward_net = JointStateRewardNet.build(venv.observation_space, venv.action_space, n_disc)
    trainer = GAIL(
        demonstrations=expert, demo_batch_size=min(cfg.demo_batch_size, len(expert)),
        gen_replay_buffer_capacity=cfg.round_steps, n_disc_updates_per_round=cfg.n_disc_updates,
        venv=venv, gen_algo=gen_algo, reward_net=reward_net,
        disc_opt_kwargs={'lr': cfg.disc_lr}, allow_variable_horizon=False,
        custom_logger=imit_logger.configure(str(out / 'imitation_log'), ['csv']))
    model_config = {
        'type': 'gail', 'task': cfg.task, 'privileged': cfg.privileged, 'obs_dim': obs_dim,
        'state_dim': n_state, 'env_state_names': list(ENV_STATE_NAMES) if cfg.privileged else [],
        'action_scale': [float(x) for x in scale], 'net_arch': list(cfg.net_arch),
        'log_std_init': cfg.log_std_init, 'n_action_steps': 1, 'chunk_size': 1,
        'disc_input_dim': n_disc, 'obs_mean': obs_mean, 'obs_std': obs_std,
        'bc_pretrain_steps': cfg.bc_pretrain_steps}
    run_info = {
        'policy': 'gail', 'dataset': str(cfg.dataset), 'fps': fps,
        'joint_names': list(joint_names), 'train': cfg.to_dict(),
        'n_demo_episodes': len(demos.states), 'n_demo_transitions': len(expert),
        'demo_replay_max_err_rad': replay_err}

    seeds = range(cfg.eval_first_seed, cfg.eval_first_seed + cfg.eval_episodes)
    bc_info: dict[str, Any] = {}
    if cfg.bc_pretrain_steps:
        bc_info = bc_pretrain(gen_algo.policy, venv, expert, cfg, out)
    gen0 = _rollout_transitions(gen_algo.policy, venv, max(4, cfg.n_envs), cfg.seed)
    acc_start = disc_accuracy(trainer, expert, gen0)
    venv.seed(100_000 + 1000 * cfg.seed)        # training episodes (PPO resets on learn)
    first = evaluate_env_policy(gen_algo.policy, cfg, seeds)
    metrics_path = out / 'metrics.jsonl'
    history: list[dict[str, Any]] = [{
        'round': 0, 'env_steps': 0, 'wall_s': 0.0, 'disc_acc': acc_start,
        **first, **bc_info}]
    metrics_path.write_text(json.dumps(history[0]) + '\n')
    model_dir = out
    n_rounds = cfg.total_steps // cfg.round_steps
    if cfg.bc_pretrain_steps:         # the BC policy alone: a checkpoint at env step 0
        model_dir = _save(out, 0, max(1, n_rounds * cfg.round_steps), gen_algo, reward_net,
                          {**run_info, 'metrics': history[0]}, model_config)
    bar = tqdm(total=n_rounds * cfg.round_steps, desc='gail', unit='step', unit_scale=True,
               disable=not cfg.progress, dynamic_ncols=True)
    t_train = time.perf_counter()
    last_success = first['success']
    for r in range(1, n_rounds + 1):
        trainer.train_gen(cfg.round_steps)
        stats = []
        for _ in range(cfg.n_disc_updates):
            trainer.reward_train.train()
            stats.append(trainer.train_disc())
        rec: dict[str, Any] = {
            'round': r, 'env_steps': r * cfg.round_steps,
            'wall_s': round(time.perf_counter() - t_train, 2),
            'disc_acc': float(np.mean([s['disc_acc'] for s in stats])),
            'disc_loss': float(np.mean([s['disc_loss'] for s in stats])),
        }
        out_of_time = cfg.max_wall_s is not None and rec['wall_s'] >= cfg.max_wall_s
        if r % cfg.eval_every == 0 or r == n_rounds or out_of_time:
            rec.update(evaluate_env_policy(gen_algo.policy, cfg, seeds))
            last_success = rec['success']
            model_dir = _save(out, rec['env_steps'], n_rounds * cfg.round_steps, gen_algo,
                              reward_net, {**run_info, 'metrics': rec}, model_config)
        history.append(rec)
        with metrics_path.open('a') as f:
            f.write(json.dumps(rec) + '\n')
        bar.update(cfg.round_steps)
        bar.set_postfix(disc_acc=f"{rec['disc_acc']:.2f}",
                        success=f"{last_success:.2f}")
        if out_of_time:
            logger.info('GAIL: stopping after round %d (%.0f s >= max_wall_s)', r,
                        rec['wall_s'])
            break
    bar.close()
    env_steps = history[-1]['env_steps']
    gen_end = _rollout_transitions(gen_algo.policy, venv, max(4, cfg.n_envs), cfg.seed + 1)
    acc_end = disc_accuracy(trainer, expert, gen_end)
    venv.close()
    plot_gail(history, out / 'gail.png', title=f'GAIL on {cfg.task} from {cfg.dataset}')
    wall = time.perf_counter() - t_start
    logger.info('GAIL %s: %d env steps in %.0f s, disc acc %.2f -> %.2f', cfg.task,
                env_steps, wall, acc_start, acc_end)
    return GailResult(output_dir=out, checkpoint=model_dir, env_steps=env_steps, wall_s=wall,
                      disc_acc_start=acc_start, disc_acc_end=acc_end, history=history)
