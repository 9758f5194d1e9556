"""DAgger rounds on the simulated arm, in one process (no DDS): the measurement path.

One round: the current checkpoint drives the sim through the same gate core the node runs
(:class:`~imitation_ros.dagger.core.DaggerCore`: gate, handover ramp, mode, safety filter);
the scripted expert plays the person (:class:`~imitation_ros.sim.expert.TakeoverMonitor`
takes over when the policy strays and hands back when it agrees again) and labels every
state; the round's frames become a LeRobotDataset with the per-frame ``intervention`` flag;
it is aggregated with the earlier rounds (lerobot's ``aggregate_datasets``), BC is retrained
on the aggregate, and the new checkpoint is evaluated closed loop on the held-out test seeds
(:func:`imitation_ros.sim.task_eval.evaluate_checkpoint_on_task`: latency-faithful, the policy
node's controller), beside the scripted expert and blind replay of the round-0 demos
(:func:`~imitation_ros.sim.task_eval.evaluate_baselines`) on the same seeds.

``task`` picks a cube task variant (``lift_cube_wide`` needs eyes: blind replay fails there);
``images`` trains image BC (state + camera, the demo's recipe) instead of state-only BC, and
the gated episodes then record the camera frames too.

Frame semantics match converted DAgger bags: ``observation.state`` = measured joints,
``action`` = the expert's command (the leader stream), ``intervention`` = the gate gave the
expert control at the frame. Policy-controlled frames are kept, dropped or down-weighted
(kept with probability ``policy_weight``) by ``policy_frames``.

torch, lerobot and MuJoCo are imported inside the functions.
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.dagger.core import CoreConfig, DaggerCore
from imitation_ros.dagger.gate import GateConfig
from imitation_ros.dagger.labels import POLICY_FRAMES, frame_weights, subsample_by_weight
from imitation_ros.dagger.modes import ModeConfig
from imitation_ros.dagger.safety import GateSafety
from imitation_ros.errors import ConfigError
from imitation_ros.profile.keys import ACTION, OBS_IMAGES, OBS_STATE, TASK
from imitation_ros.stats import Rate

if TYPE_CHECKING:
    from imitation_ros.profile import RobotProfile
    from imitation_ros.sim.arm import ArmSimConfig
    from imitation_ros.sim.episode import EvalSummary

logger = logging.getLogger(__name__)
EVAL_SEED0 = 10_000          # the held-out test seeds (task_eval.HELD_OUT_FIRST_SEED)
ROUND_SEED0 = 1_000          # round r collects on seeds ROUND_SEED0 * r + i


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundsConfig:
    """An in-process DAgger experiment."""

    out: Path
    demos: int = 5                   # round-0 expert demonstrations
    rounds: int = 4                  # DAgger rounds after round 0
    episodes: int = 10               # DAgger episodes per round
    eval_episodes: int = 20          # held-out closed-loop episodes per checkpoint
    eval_s: float = 8.0              # closed-loop episode length, s
    steps: int = 1000                # BC training steps per round (retrained on the aggregate)
    state_noise: float | None = None  # training state noise, rad (None: 0.05 with images, as
    #                                   the demo's image BC; 0.01 state-only)
    task: str | None = None          # cube task variant (sim.arm.task_sim_config); None: the
    #                                  sim's default (lift_cube)
    images: bool = False             # image BC (state + camera; colour jitter + random shift)
    mode: str = 'hg'                 # hg, classic or label_only
    beta0: float = 1.0
    beta_decay: float = 0.5
    policy_frames: str = 'drop'      # keep | weight | drop: frames the policy drove
    policy_weight: float = 0.25      # keep-probability of policy frames for 'weight'
    ramp_s: float = 0.2              # gate handover ramp, s
    max_step_rad: float = 0.1        # safety cap per period (what eval-sim uses)
    seed: int = 0
    stop_on_success: bool = False    # end gated episodes once success held (else run eval_s:
    #                                  the expert then also labels what to do after the lift)
    baseline: bool = True            # also train plain BC on as many extra demo frames
    baseline_last_only: bool = False  # ... only after the last round (saves CPU)
    baseline_full: bool = False      # baseline demos run the full eval_s like the gated
    #                                  episodes (else they end once success held, as usual)
    profile: str = 'sim_arm.yaml'
    progress: bool = True

    def __post_init__(self) -> None:
        if self.policy_frames not in POLICY_FRAMES:
            msg = f'policy_frames must be one of {POLICY_FRAMES}, got {self.policy_frames!r}'
            raise ConfigError(msg)
        if self.task is not None:
            from imitation_ros.sim.arm import TASK_VARIANTS

            if self.task not in TASK_VARIANTS:
                msg = f'unknown task {self.task!r}; known: {sorted(TASK_VARIANTS)}'
                raise ConfigError(msg)
        if min(self.demos, self.episodes, self.eval_episodes, self.steps) < 1 or self.rounds < 0:
            msg = 'demos, episodes, eval_episodes, steps must be >= 1 and rounds >= 0'
            raise ConfigError(msg)

    @property
    def noise(self) -> float:
        """The training state noise, rad."""
        if self.state_noise is not None:
            return self.state_noise
        return 0.05 if self.images else 0.01

    def sim_config(self) -> ArmSimConfig:
        """The task variant every episode (demos, gated, evaluation) runs on."""
        from imitation_ros.sim.arm import task_sim_config

        return task_sim_config(self.task or 'lift_cube')


@dataclass(slots=True)
class RoundRecord:
    """One row of the report."""

    round: int
    checkpoint: str
    success_rate: float
    frames_total: int
    successes: int = 0                # held-out test episodes that succeeded, of ``episodes``
    episodes: int = 0                 # frames in the aggregate trained on
    expert_frames_added: int = 0      # frames under expert control added this round
    frames_added: int = 0             # frames added this round (after policy_frames)
    intervention_rate: float = 0.0    # fraction of this round's steps under expert control
    interventions: int = 0
    collect_success_rate: float = 0.0  # success of the gated episodes themselves
    handover_latency_p99_s: float = float('nan')
    baseline_success_rate: float | None = None   # plain BC with as many extra demo frames
    baseline_successes: int | None = None
    baseline_frames: int | None = None


@dataclass(slots=True)
class EpisodeFrames:
    """The frames of one gated episode."""

    state: list[np.ndarray] = field(default_factory=list)
    label: list[np.ndarray] = field(default_factory=list)
    executed: list[np.ndarray] = field(default_factory=list)
    human: list[bool] = field(default_factory=list)
    images: list[dict[str, np.ndarray]] = field(default_factory=list)   # per frame, by key
    success: bool = False


def _load_controller(checkpoint: Path, profile: RobotProfile, max_step_rad: float) -> Any:
    from imitation_ros.deploy.controller import PolicyController
    from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter
    from imitation_ros.learn.inference import load_policy

    runner = load_policy(checkpoint, device='cpu')
    return PolicyController(runner, SafetyFilter.from_profile(
        profile, SafetyConfig(max_step_rad=max_step_rad), period_s=1.0 / profile.fps))


def make_core(profile: RobotProfile, cfg: RoundsConfig, round_index: int, seed: int
              ) -> DaggerCore:
    """The gate core of the in-process rounds: service trigger fed by the scripted person."""
    safety = GateSafety.from_profile(profile, max_step_rad=cfg.max_step_rad, stale_obs_s=1.0)
    return DaggerCore(safety, gate=GateConfig(triggers=('service',)),
                      mode=ModeConfig(mode=cfg.mode, beta0=cfg.beta0,  # type: ignore[arg-type]
                                      beta_decay=cfg.beta_decay, round=round_index),
                      config=CoreConfig(ramp_s=cfg.ramp_s), seed=seed)


def run_gated_episode(sim: Any, controller: Any, expert: Any, monitor: Any, core: DaggerCore,
                      *, seed: int, duration_s: float, hold_frames: int | None,
                      images: bool = False) -> EpisodeFrames:
    """One episode: policy and expert through the gate core; returns its frames.

    Every control period: the policy proposes (its controller and safety filter, as the
    policy node), the expert labels, the scripted person decides (service trigger), the core
    picks and filters the executed command; on hand-back the policy's chunks are reset.
    Ends once success has held ``hold_frames`` periods (None: never) or at ``duration_s``.
    ``images``: the policy sees (and the frames keep) the profile's camera images.
    """
    sim.reset(seed)
    expert.reset(seed)
    monitor.reset()
    core.reset(forget_last=True)          # the sim put the arm at a new pose
    controller.reset()
    controller.safety.reset()
    out = EpisodeFrames()
    n = max(1, round(duration_s / sim.control_period_s))
    streak = 0
    for _ in range(n):
        t = sim.time_s
        obs = sim.observation(images=images)
        q = np.asarray(obs[OBS_STATE], np.float64)
        if core.gate.human:        # the policy re-plans from where the arm is, not from
            controller.safety.reset()    # its own last (unexecuted) proposal
        verdict = controller.tick(t, obs, t).verdict      # stop-the-world: inline worker
        pcmd = verdict.command
        ecmd = expert.act(sim.task_state(), sim.joint_positions(), t)
        core.on_service(monitor.update(pcmd, ecmd, t), t)
        core.on_measured(q, t)
        core.on_leader(ecmd, t)
        if pcmd is not None:
            core.on_policy(pcmd, t)
        res = core.tick(t)
        if res.reset_policy:
            controller.reset()
        cmd = res.command if res.command is not None else sim.target
        out.state.append(q.astype(np.float32))
        out.label.append(np.asarray(ecmd, np.float32))
        out.executed.append(np.asarray(cmd, np.float32))
        out.human.append(bool(res.human))
        if images:
            out.images.append({k: v for k, v in obs.items() if k.startswith(OBS_IMAGES)})
        sim.set_command(cmd)
        sim.advance(sim.control_period_s)
        streak = streak + 1 if sim.success() else 0
        if hold_frames is not None and streak > hold_frames:
            break
    out.success = bool(sim.success())
    return out


def collect_round(checkpoint: Path, cfg: RoundsConfig, round_index: int, root: Path
                  ) -> tuple[RoundRecord, Path]:
    """Run ``cfg.episodes`` gated episodes with ``checkpoint``; write them as a dataset."""
    import dataclasses

    from imitation_ros.data.writer import (
        INTERVENTION,
        create_dataset,
        dataset_features,
        fix_image_stats,
    )
    from imitation_ros.sim import ArmSim, ExpertConfig, ScriptedExpert, load_profile_for_sim
    from imitation_ros.sim.expert import TakeoverMonitor

    prof = load_profile_for_sim(cfg.profile)
    if not cfg.images:
        prof = dataclasses.replace(prof, cameras=())
    sim = ArmSim(prof, cfg.sim_config())
    rng = np.random.default_rng(cfg.seed + 7919 * round_index)
    try:
        controller = _load_controller(checkpoint, prof, cfg.max_step_rad)
        exp_cfg = ExpertConfig()
        expert = ScriptedExpert(sim.geometry, sim.joint_names, exp_cfg)
        monitor = TakeoverMonitor.for_expert(expert)
        core = make_core(prof, cfg, round_index, cfg.seed + round_index)
        hold = int(round(exp_cfg.hold_s / sim.control_period_s))
        seeds = [ROUND_SEED0 * round_index + cfg.seed * 100 + i for i in range(cfg.episodes)]
        it: Any = seeds
        if cfg.progress:
            from tqdm import tqdm

            it = tqdm(seeds, desc=f'round {round_index} episodes', unit='ep')
        episodes = [run_gated_episode(sim, controller, expert, monitor, core, seed=s,
                                      duration_s=cfg.eval_s,
                                      hold_frames=hold if cfg.stop_on_success else None,
                                      images=cfg.images)
                    for s in it]
    finally:
        sim.close()
    shutil.rmtree(root, ignore_errors=True)
    ds = create_dataset(root, f'local/{root.name}', prof.fps,
                        dataset_features(prof, intervention=True), robot_type=prof.name)
    steps = sum(len(e.human) for e in episodes)
    expert_steps = sum(sum(e.human) for e in episodes)
    added = expert_added = 0
    for ep in episodes:
        flags = np.array(ep.human, bool)
        keep = subsample_by_weight(frame_weights(flags, cfg.policy_frames,  # type: ignore[arg-type]
                                                 cfg.policy_weight), rng)
        if not keep.any():
            continue
        for k in np.flatnonzero(keep):
            frame = {OBS_STATE: ep.state[k], ACTION: ep.label[k],
                     INTERVENTION: np.array([bool(flags[k])]), TASK: prof.task or 'task'}
            if cfg.images:
                frame.update(ep.images[k])
            ds.add_frame(frame)
        ds.save_episode(parallel_encoding=False)
        added += int(keep.sum())
        expert_added += int((keep & flags).sum())
    ds.finalize()
    if cfg.images:
        fix_image_stats(root)       # lerobot 0.4.4's image std overflows (see there)
    rec = RoundRecord(
        round=round_index, checkpoint='', success_rate=float('nan'), frames_total=0,
        expert_frames_added=expert_added, frames_added=added,
        intervention_rate=expert_steps / max(steps, 1),
        interventions=core.stats.interventions,
        collect_success_rate=float(np.mean([e.success for e in episodes])),
        handover_latency_p99_s=core.stats.latency_p(0.99))
    return rec, root


def _train(dataset: Path, out: Path, cfg: RoundsConfig) -> Path:
    from imitation_ros.learn.augment import AugmentConfig
    from imitation_ros.learn.trainer import TrainConfig, train

    shutil.rmtree(out, ignore_errors=True)
    # image BC: the demo's recipe (augmentation defaults: colour jitter 0.1, random shift
    # 4 px; batch 64); state-only: no image augmentation
    augment = (AugmentConfig(state_noise_std=cfg.noise) if cfg.images else
               AugmentConfig(images=False, state_noise_std=cfg.noise))
    res = train(TrainConfig(dataset=dataset, policy='bc', output_dir=out, steps=cfg.steps,
                            seed=cfg.seed, device='cpu', val_every=cfg.steps,
                            save_every=cfg.steps, progress=False, batch_size=64,
                            inputs='all' if cfg.images else 'state', augment=augment))
    return Path(res.checkpoint)


def evaluate(checkpoint: Path, cfg: RoundsConfig) -> EvalSummary:
    """Closed-loop success on the held-out test seeds 10000.. (``task_eval``: the policy
    node's controller and safety filter, latency-faithful)."""
    from imitation_ros.sim import load_profile_for_sim
    from imitation_ros.sim.task_eval import evaluate_checkpoint_on_task, held_out_seeds

    return evaluate_checkpoint_on_task(checkpoint, cfg.sim_config(),
                                       held_out_seeds(cfg.eval_episodes, EVAL_SEED0),
                                       profile=load_profile_for_sim(cfg.profile),
                                       duration_s=cfg.eval_s, max_step_rad=cfg.max_step_rad)


def _frames(root: Path) -> int:
    return int(json.loads((root / 'meta' / 'info.json').read_text())['total_frames'])


def run_rounds(cfg: RoundsConfig) -> list[RoundRecord]:
    """Round 0 (BC on ``cfg.demos`` demos), then ``cfg.rounds`` DAgger rounds; writes
    ``report.json``, ``report.md`` and ``rounds.png`` under ``cfg.out``."""
    import os

    os.environ.setdefault('MUJOCO_GL', 'egl')
    import torch

    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.data.writer import fix_image_stats, merge_datasets
    from imitation_ros.sim.task_eval import evaluate_baselines, held_out_seeds

    torch.set_num_threads(1)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    base = out / 'round0' / 'demos'
    write_sim_demos(base, episodes=cfg.demos, seed=cfg.seed * 100, profile=cfg.profile,
                    sim_config=cfg.sim_config(), images=cfg.images, overwrite=True,
                    intervention=True, repo_id='local/dagger')
    refs = evaluate_baselines(base, cfg.sim_config(),
                              held_out_seeds(cfg.eval_episodes, EVAL_SEED0),
                              duration_s=cfg.eval_s)
    floor = {'expert': refs.expert.rate.as_dict(), 'blind_replay': refs.blind.rate.as_dict()}
    logger.info('expert %s, blind replay of the round-0 demos %s', refs.expert.rate,
                refs.blind.rate)
    ckpt = _train(base, out / 'round0' / 'train', cfg)
    ev = evaluate(ckpt, cfg)
    records = [RoundRecord(round=0, checkpoint=str(ckpt), success_rate=ev.success_rate,
                           successes=ev.successes, episodes=ev.n, frames_total=_frames(base))]
    logger.info('round 0: BC on %d demos: %s', cfg.demos, ev.rate)
    write_report(records, cfg, floor)
    parts = [base]
    extra_frames = 0
    for r in range(1, cfg.rounds + 1):
        rdir = out / f'round{r}'
        rec, ds = collect_round(ckpt, cfg, r, rdir / 'collected')
        parts.append(ds)
        agg = rdir / 'aggregate'
        shutil.rmtree(agg, ignore_errors=True)
        merge_datasets(parts, 'local/dagger', agg)
        if cfg.images:
            fix_image_stats(agg)
        ckpt = _train(agg, rdir / 'train', cfg)
        rec.checkpoint, rec.frames_total = str(ckpt), _frames(agg)
        ev = evaluate(ckpt, cfg)
        rec.success_rate, rec.successes, rec.episodes = ev.success_rate, ev.successes, ev.n
        extra_frames += rec.frames_added
        if cfg.baseline and (r == cfg.rounds or not cfg.baseline_last_only):
            bev, rec.baseline_frames = _baseline(cfg, base, extra_frames, rdir / 'baseline')
            rec.baseline_success_rate, rec.baseline_successes = bev.success_rate, bev.successes
        records.append(rec)
        logger.info('round %d: +%d frames (%d expert), intervention rate %.0f%%, '
                    'success %s (plain BC with as many demo frames: %s)', r,
                    rec.frames_added, rec.expert_frames_added, 100 * rec.intervention_rate,
                    ev.rate, rec.baseline_successes)
        write_report(records, cfg, floor)
    write_report(records, cfg, floor)
    return records


def _baseline(cfg: RoundsConfig, base: Path, extra_frames: int, root: Path
              ) -> tuple[EvalSummary, int]:
    """Plain BC: the round-0 demos plus fresh expert demos with >= ``extra_frames`` frames."""
    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.data.writer import fix_image_stats, merge_datasets

    per_demo = cfg.eval_s * 30 if cfg.baseline_full else _frames(base) / cfg.demos
    n_eps = max(1, int(np.ceil(extra_frames / per_demo)))
    while True:
        demos = root / 'demos'
        # seeds after the base demos' (cfg.seed * 100 + cfg.demos ..), below the round seeds
        write_sim_demos(demos, episodes=n_eps, seed=cfg.seed * 100 + cfg.demos,
                        profile=cfg.profile, sim_config=cfg.sim_config(), images=cfg.images,
                        overwrite=True, intervention=True, repo_id='local/dagger',
                        duration_s=cfg.eval_s if cfg.baseline_full else None,
                        hold_s=cfg.eval_s if cfg.baseline_full else None)
        if _frames(demos) >= extra_frames or n_eps > 400:
            break
        per = _frames(demos) / n_eps
        n_eps += max(1, int(np.ceil((extra_frames - _frames(demos)) / per)))
    agg = root / 'aggregate'
    shutil.rmtree(agg, ignore_errors=True)
    merge_datasets([base, demos], 'local/dagger', agg)
    if cfg.images:
        fix_image_stats(agg)
    ckpt = _train(agg, root / 'train', cfg)
    return evaluate(ckpt, cfg), _frames(demos)


def _rate(successes: int | None, n: int) -> str:
    return '' if successes is None else str(Rate(successes, n))


def write_report(records: list[RoundRecord], cfg: RoundsConfig,
                 floor: dict[str, dict[str, float | int]] | None = None) -> None:
    """``report.json``, ``report.md`` and a plot across rounds under ``cfg.out``.

    ``floor``: ``Rate.as_dict()`` of the scripted expert and of blind replay of the round-0
    demos on the same test seeds (``expert``, ``blind_replay``).
    """
    out = Path(cfg.out)
    doc: dict[str, Any] = {'config': {k: str(v) for k, v in asdict(cfg).items()},
                           'rounds': [asdict(r) for r in records]}
    if floor is not None:
        doc.update(floor)
    (out / 'report.json').write_text(json.dumps(doc, indent=1, default=str) + '\n',
                                     encoding='utf-8')
    kind = 'image BC (state + camera)' if cfg.images else 'BC state-only'
    lines = [f'# DAgger rounds (in-process, {cfg.mode}, policy frames: {cfg.policy_frames})', '',
             f'{kind} on {cfg.task or "lift_cube"}, {cfg.demos} demos in round 0, '
             f'{cfg.episodes} gated episodes per round, {cfg.steps} steps per training '
             f'(seed {cfg.seed}), {cfg.eval_episodes} held-out test seeds from {EVAL_SEED0} '
             '(latency-faithful).', '']
    if floor is not None:
        for name, key in (('scripted expert', 'expert'),
                          ('blind replay of the round-0 demos', 'blind_replay')):
            f = floor[key]
            lines.append(f'- {name}: {_rate(int(f["successes"]), int(f["n"]))}')
        lines.append('')
    lines += ['| round | frames added | expert frames | intervention rate | interventions | '
              'success | plain BC, same extra frames as demos |',
              '|---|---|---|---|---|---|---|']
    for r in records:
        base = '' if r.baseline_successes is None else \
            f'{_rate(r.baseline_successes, r.episodes)} ({r.baseline_frames} frames)'
        lines.append(f'| {r.round} | {r.frames_added} | {r.expert_frames_added} | '
                     f'{r.intervention_rate:.0%} | {r.interventions} | '
                     f'{_rate(r.successes, r.episodes)} | {base} |')
    (out / 'report.md').write_text('\n'.join(lines) + '\n', encoding='utf-8')
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:      # the plot is a convenience; the numbers are in the report
        return
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    xs = [r.round for r in records]
    ax[0].plot(xs, [r.success_rate for r in records], 'o-', label='DAgger')
    bx = [r.round for r in records if r.baseline_success_rate is not None]
    if bx:
        ax[0].plot([0, *bx], [records[0].success_rate] + [
            r.baseline_success_rate for r in records if r.baseline_success_rate is not None],
            's--', label='BC + as many demo frames')
    for key, colour in (('expert', 'g'), ('blind_replay', 'r')):
        if floor is not None:
            ax[0].axhline(float(floor[key]['success_rate']), color=colour, ls=':',
                          label=key.replace('_', ' '))
    ax[0].set(xlabel='round', ylabel='closed-loop success', ylim=(-0.02, 1.02))
    ax[0].legend()
    ax[1].bar(xs, [r.intervention_rate for r in records])
    ax[1].set(xlabel='round', ylabel='intervention rate (collection)', ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(out / 'rounds.png', dpi=100)
    plt.close(fig)
