"""Success of checkpoints and baselines on a cube-lift task variant, on the same seeds.

:func:`evaluate_checkpoint_on_task` is the *one* place the vision bench, the vision tests and
the demo's baseline line evaluate a trained policy. It builds the controller exactly as
``imitation_ros.deploy.rollout.evaluate_checkpoint`` (and so the policy node) does
(``rollout.make_controller``: worker, latency-driven chunk requests, seams, safety filter),
latency-faithful by default (the simulator keeps running while the policy infers: a chunk
lands after its measured compute time), but on any :class:`~imitation_ros.sim.arm.ArmSimConfig`
task variant.

:func:`evaluate_baselines` gives the rows every result is printed beside: the scripted expert
(ceiling, privileged cube pose) and blind replay of the demos' mean action trajectory (floor).

Imports mujoco, torch and lerobot lazily, inside the functions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from imitation_ros.profile import RobotProfile
    from imitation_ros.sim.arm import ArmSimConfig
    from imitation_ros.sim.episode import EvalSummary

#: Name of the evaluation :func:`evaluate_checkpoint_on_task` runs (printed beside results).
EVALUATION = ('in-process, latency-faithful: the sim runs on while the policy infers '
              '(deploy.rollout controller + safety, as the policy node)')

#: Held-out *test* seeds of the vision bench, tests and demo (demos use 0..N-1): numbers are
#: reported on these, never chosen on them.
HELD_OUT_FIRST_SEED = 10_000
#: *Validation* seeds: where a bench chooses a checkpoint, step count or recipe. Disjoint from
#: the test seeds (10000..19999) and from demo seeds (0..N-1, N < 10000).
VALIDATION_FIRST_SEED = 20_000


def make_task_controller(runner: Any, profile: RobotProfile, *, ensemble: float | None,
                         max_step_rad: float, timing: str = 'faithful') -> Any:
    """The policy node's controller for ``runner`` (``deploy.rollout.make_controller``)."""
    from imitation_ros.deploy.rollout import RolloutConfig, make_controller
    from imitation_ros.deploy.safety import SafetyConfig

    cfg = RolloutConfig(timing=timing, ensemble_coeff=ensemble,  # type: ignore[arg-type]
                        safety=SafetyConfig(max_step_rad=max_step_rad, max_lead_rad=0.5))
    return make_controller(runner, profile, cfg)


@dataclass(frozen=True, slots=True)
class Baselines:
    """Expert and blind-replay success on one seed list."""

    expert: EvalSummary
    blind: EvalSummary


def held_out_seeds(n: int, first: int = HELD_OUT_FIRST_SEED) -> range:
    """Return the ``n`` held-out test seeds every row of a comparison is reported on."""
    return range(first, first + n)


def validation_seeds(n: int, first: int = VALIDATION_FIRST_SEED) -> range:
    """Return ``n`` validation seeds (for choosing; disjoint from :func:`held_out_seeds`)."""
    return range(first, first + n)


def evaluate_checkpoint_on_task(checkpoint: str | Path, sim_config: ArmSimConfig,
                                seeds: Sequence[int], *, profile: RobotProfile | None = None,
                                duration_s: float = 8.0, ensemble: float | None = None,
                                max_step_rad: float = 0.1, timing: str = 'faithful'
                                ) -> EvalSummary:
    """Run a trained checkpoint closed loop on ``sim_config``'s task for each seed.

    Args:
        checkpoint: Run folder, checkpoint or ``pretrained_model`` folder.
        sim_config: The task variant (e.g. ``task_sim_config('lift_cube_wide')``).
        seeds: Episode seeds (use :func:`held_out_seeds` for every row of a table).
        profile: Robot profile (default ``sim_arm.yaml``).
        duration_s: Episode length, s.
        ensemble: ACT temporal-ensembling coefficient (``None``: off).
        max_step_rad: Safety filter's largest command step per control period, rad.
        timing: ``'faithful'`` (default) or ``'stop_the_world'`` (the sim waits).

    Returns:
        Per-episode results and the success rate.
    """
    from imitation_ros.deploy.rollout import controller_policy
    from imitation_ros.learn.inference import load_policy
    from imitation_ros.profile.keys import OBS_IMAGES
    from imitation_ros.sim import evaluate, load_profile_for_sim
    from imitation_ros.sim.arm import ArmSim

    prof = profile or load_profile_for_sim()
    runner = load_policy(checkpoint, device='cpu')
    images = any(k.startswith(OBS_IMAGES) for k in runner.config.input_features)
    controller = make_task_controller(runner, prof, ensemble=ensemble, max_step_rad=max_step_rad,
                                      timing=timing)
    sim = ArmSim(prof, sim_config)
    try:
        return evaluate(sim, controller_policy(sim, controller), seeds, duration_s=duration_s,
                        images=images)
    finally:
        sim.close()
        controller.close()


def evaluate_baselines(dataset: str | Path, sim_config: ArmSimConfig, seeds: Sequence[int],
                       *, duration_s: float = 8.0) -> Baselines:
    """Scripted expert and blind replay of ``dataset``'s mean action trajectory on ``seeds``.

    Args:
        dataset: The demos the policies were trained on (blind replay averages their actions).
        sim_config: The task variant.
        seeds: The same seeds the policies are evaluated on.
        duration_s: Episode length, s.
    """
    import dataclasses

    from imitation_ros.data.sim_demos import blind_replay_policy
    from imitation_ros.sim import ScriptedExpert, evaluate, expert_policy, load_profile_for_sim
    from imitation_ros.sim.arm import ArmSim

    prof = dataclasses.replace(load_profile_for_sim(), cameras=())
    sim = ArmSim(prof, sim_config)
    try:
        expert = ScriptedExpert(sim.geometry, sim.joint_names)
        ref = evaluate(sim, expert_policy(sim, expert), seeds, duration_s=duration_s)
        blind = evaluate(sim, blind_replay_policy(dataset), seeds, duration_s=duration_s)
    finally:
        sim.close()
    return Baselines(expert=ref, blind=blind)


def summary_line(name: str, summary: Any, extra: str = '') -> str:
    """One printed row: ``name  k/n  rate  extra``."""
    return f'{name:22} {summary.successes:3d}/{summary.n:<3d} {summary.success_rate:6.0%}  {extra}'


@dataclass(frozen=True, slots=True)
class Rollout:
    """One recorded closed-loop episode: camera frames, commands and end-effector paths."""

    seed: int
    success: bool
    frames: Any                 # (T, H, W, 3) uint8, the policy's camera
    commands: Any               # (T, J) joint targets the policy sent, rad
    commanded_xyz: Any          # (T, 3) grasp point of each command (forward kinematics), m
    measured_xyz: Any           # (T, 3) grasp point of the measured joints, m
    camera_uv: Any              # (T, 2) commanded_xyz projected into the camera, px
    measured_uv: Any            # (T, 2) measured_xyz projected into the camera, px
    #: Every ``predict_every``-th frame: (frame index, (chunk, 2) px) - the whole action chunk
    #: the policy predicts from that frame's observation (grasp point of each row, projected).
    predicted_uv: tuple[tuple[int, Any], ...] = ()


def project_to_camera(sim: Any, camera: str, xyz: Any, height: int, width: int) -> Any:
    """Project world points (N, 3) into ``camera``'s image (N, 2) pixel (u right, v down)."""
    import numpy as np

    m, d = sim.model, sim.data
    cid = sim._mj.mj_name2id(m, sim._mj.mjtObj.mjOBJ_CAMERA, camera)  # noqa: SLF001
    pos, rot = d.cam_xpos[cid], d.cam_xmat[cid].reshape(3, 3)
    v = (np.asarray(xyz, dtype=np.float64) - pos) @ rot     # camera frame; looks along -z
    f = 0.5 * height / np.tan(np.deg2rad(float(m.cam_fovy[cid])) / 2)
    depth = np.maximum(-v[:, 2], 1e-6)
    return np.stack([width / 2 + f * v[:, 0] / depth, height / 2 - f * v[:, 1] / depth], 1)


def record_rollout(checkpoint: str | Path, sim_config: ArmSimConfig, seed: int, *,
                   duration_s: float = 8.0, camera: str | None = None,
                   predict_every: int = 5) -> Rollout:
    """Run the checkpoint for one episode (as :func:`evaluate_checkpoint_on_task`), recording.

    Returns:
        The frames of the profile's first camera (or ``camera``), the commands and the
        commanded/measured end-effector paths, in the world and projected into the image;
        and, every ``predict_every`` frames, the action chunk the policy predicts from that
        frame alone (after the episode, from the recorded observation), projected likewise.
    """
    import numpy as np

    from imitation_ros.deploy.rollout import controller_policy
    from imitation_ros.learn.inference import load_policy
    from imitation_ros.profile.keys import image_key
    from imitation_ros.sim import load_profile_for_sim, run_episode
    from imitation_ros.sim.arm import ArmSim
    from imitation_ros.sim.expert import ARM5
    from imitation_ros.sim.kinematics import grasp_point

    prof = load_profile_for_sim()
    runner = load_policy(checkpoint, device='cpu')
    controller = make_task_controller(runner, prof, ensemble=None, max_step_rad=0.1)
    sim = ArmSim(prof, sim_config)
    cam = camera or prof.cameras[0].name
    spec = next(c for c in prof.cameras if c.name == cam)
    arm = [sim.joint_names.index(n) for n in ARM5]
    frames, cmds, meas = [], [], []
    kept: list[tuple[int, dict[str, Any]]] = []

    def on_frame(obs: dict[str, Any], action: Any) -> None:
        if predict_every > 0 and len(frames) % predict_every == 0:
            kept.append((len(frames), {k: np.array(v) for k, v in obs.items()}))
        frames.append(obs.get(image_key(cam), None))
        cmds.append(np.asarray(action, dtype=np.float64))
        meas.append(np.asarray(obs['observation.state'], dtype=np.float64))

    try:
        policy = controller_policy(sim, controller)
        res = run_episode(sim, policy, seed=seed, duration_s=duration_s, images=True,
                          on_frame=on_frame)
        c_xyz = np.array([grasp_point(sim.geometry, c[arm]) for c in cmds])
        m_xyz = np.array([grasp_point(sim.geometry, q[arm]) for q in meas])
        uv = project_to_camera(sim, cam, c_xyz, spec.height, spec.width)
        muv = project_to_camera(sim, cam, m_xyz, spec.height, spec.width)
        predicted = []
        for t, obs in kept:
            runner.reset()
            chunk = np.asarray(runner(obs), dtype=np.float64)
            p_xyz = np.array([grasp_point(sim.geometry, row[arm]) for row in chunk])
            predicted.append((t, project_to_camera(sim, cam, p_xyz, spec.height, spec.width)))
    finally:
        sim.close()
        controller.close()
    return Rollout(seed=seed, success=res.success, frames=np.stack(frames),
                   commands=np.stack(cmds), commanded_xyz=c_xyz, measured_xyz=m_xyz,
                   camera_uv=uv, measured_uv=muv, predicted_uv=tuple(predicted))
