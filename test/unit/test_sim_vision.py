"""The cube-lift task that needs eyes (``lift_cube_wide``): config, reach, camera, expert.

Regressions pinned:
- ``lift_cube`` (the easy smoke test) keeps its defaults: cube +- 2 cm around x = 0.27 m;
- ``lift_cube_wide`` spreads the cube over x 0.25..0.37 m, y +- 6 cm, and moves its zone;
- ``sim_node``'s ``task: lift_cube_wide`` builds that variant (``make_sim``);
- the scripted expert still lifts the cube on the wide variant (the expert's ceiling);
- the front camera sees the cube wherever it lies (red pixels move with it);
- rollout paths project into the camera image where the hand is;
- a recorded rollout carries the action chunk the policy predicts every few frames, and the
  vision plot (bars, success-vs-time curves, rollouts with the predicted chunk) is written.
"""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.errors import SimError
from imitation_ros.sim import ScriptedExpert, SimNodeConfig, evaluate, expert_policy, make_sim
from imitation_ros.sim import load_profile_for_sim
from imitation_ros.sim.arm import TASK_VARIANTS, ArmSim, ArmSimConfig, task_sim_config
from imitation_ros.sim.task_eval import held_out_seeds, project_to_camera


@pytest.fixture(scope='module')
def wide_sim():
    s = ArmSim(load_profile_for_sim(), task_sim_config('lift_cube_wide'))
    yield s
    s.close()


def test_easy_task_keeps_its_defaults() -> None:
    assert task_sim_config('lift_cube') == ArmSimConfig()
    assert ArmSimConfig().cube_jitter_m == 0.02 and ArmSimConfig().cube_x_m is None
    assert set(TASK_VARIANTS) >= {'lift_cube', 'lift_cube_wide'}


def test_unknown_variant_and_out_of_reach_values_are_refused() -> None:
    with pytest.raises(SimError, match='unknown cube task'):
        task_sim_config('lift_sphere')
    with pytest.raises(SimError, match='cube_x_m'):
        ArmSimConfig(cube_x_m=0.6)
    with pytest.raises(SimError, match='cube_jitter_m'):
        ArmSimConfig(cube_jitter_m=0.1)


def test_wide_variant_spreads_the_cube(wide_sim) -> None:
    xy = []
    for seed in range(40):
        wide_sim.reset(seed)
        xy.append(wide_sim.task_state()[:2])
    xy = np.array(xy)
    assert xy[:, 0].min() >= 0.25 - 1e-3 and xy[:, 0].max() <= 0.37 + 1e-3
    assert np.abs(xy[:, 1]).max() <= 0.06 + 1e-3
    assert np.ptp(xy[:, 0]) > 0.08 and np.ptp(xy[:, 1]) > 0.08   # really spread out
    zone = wide_sim.model.geom('zone').pos
    assert zone[0] == pytest.approx(0.31)


def test_sim_node_config_builds_the_wide_variant() -> None:
    profile = load_profile_for_sim()
    sim = make_sim(SimNodeConfig(task='lift_cube_wide'), profile)
    try:
        assert sim.config.cube_x_m == pytest.approx(0.31)
        assert sim.config.cube_jitter_m == pytest.approx(0.06)
    finally:
        sim.close()
    easy = make_sim(SimNodeConfig(task='lift_cube', cube_jitter_m=0.03), profile)
    try:
        assert easy.config.cube_jitter_m == pytest.approx(0.03) and easy.config.cube_x_m is None
    finally:
        easy.close()


def test_expert_lifts_the_cube_across_the_wide_range(wide_sim) -> None:
    expert = ScriptedExpert(wide_sim.geometry, wide_sim.joint_names)
    summary = evaluate(wide_sim, expert_policy(wide_sim, expert), held_out_seeds(10),
                       duration_s=6.0)
    assert summary.successes >= 9, [r.success for r in summary.results]


def _red_centroid(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    mask = (r > 120) & (g < 70) & (b < 70)
    assert mask.sum() >= 6, 'cube not visible in the front camera'
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def test_front_camera_sees_the_cube_move(wide_sim) -> None:
    centres, cubes = [], []
    for seed in range(6):
        wide_sim.reset(seed)
        centres.append(_red_centroid(wide_sim.render('front')))
        cubes.append(wide_sim.task_state()[:3])
    centres = np.array(centres)
    assert np.ptp(centres, axis=0).max() > 10        # pixels: the image tells them apart
    uv = project_to_camera(wide_sim, 'front', np.array(cubes), 96, 128)
    assert np.abs(uv - centres).max() < 6            # projection agrees with the picture


def test_recorded_rollout_has_predicted_chunks_and_plot(tmp_path) -> None:
    """A tiny image ACT (chunk 6): its predicted chunks are recorded and drawn."""
    import torch

    from imitation_ros.data.sim_demos import write_sim_demos
    from imitation_ros.learn import TrainConfig, train
    from imitation_ros.learn.bc.vision_plot import plot_vision_results
    from imitation_ros.sim.task_eval import record_rollout

    torch.set_num_threads(1)
    cfg = task_sim_config('lift_cube_wide')
    ds = write_sim_demos(tmp_path / 'ds', episodes=2, seed=0, sim_config=cfg,
                         duration_s=1.0).root
    res = train(TrainConfig(
        dataset=ds, policy='act', output_dir=tmp_path / 'run', steps=2, batch_size=4,
        val_every=2, save_every=2, device='cpu', progress=False, augment=None,
        policy_overrides={'dim_model': 32, 'n_heads': 2, 'dim_feedforward': 64,
                          'n_encoder_layers': 1, 'n_decoder_layers': 1,
                          'n_vae_encoder_layers': 1, 'chunk_size': 6, 'n_action_steps': 6,
                          'pretrained_backbone_weights': None}))
    ro = record_rollout(res.checkpoint, cfg, 10000, duration_s=1.0, predict_every=10)
    assert ro.frames.shape[0] == 30 and ro.frames.dtype == np.uint8
    assert [t for t, _ in ro.predicted_uv] == [0, 10, 20]
    for _, uv in ro.predicted_uv:
        assert uv.shape == (6, 2) and np.all(np.isfinite(uv))
    # Rows differ: a chunk is a path, not one point repeated.
    assert float(np.ptp(ro.predicted_uv[0][1], axis=0).max()) > 0.0
    from imitation_ros.stats import Rate

    def row(policy: str, split: str, s: int, n: int, **extra: float) -> dict:
        seeds = [20000, 20000 + n] if split == 'validation' else [10000, 10000 + n]
        return {'policy': policy, 'split': split, 'seeds': seeds, **Rate(s, n).as_dict(),
                **extra}

    result = {'task': 'lift_cube_wide', 'demos': 2, 'device': 'cpu',
              'validation_seeds': [20000, 20002], 'test_seeds': [10000, 10002],
              'rows': [row('expert', 'validation', 2, 2), row('blind replay', 'validation', 0, 2),
                       row('act', 'validation', 0, 2, step=1, train_s=30.0),
                       row('act', 'validation', 1, 2, step=2, train_s=60.0),
                       row('bc_image', 'validation', 2, 2, step=2, train_s=45.0),
                       row('act', 'test', 1, 2, step=2, train_s=60.0),
                       row('bc_image', 'test', 2, 2, step=2, train_s=45.0),
                       row('expert', 'test', 2, 2), row('blind replay', 'test', 0, 2)]}
    png = plot_vision_results(result, tmp_path / 'v.png', checkpoint=str(res.checkpoint),
                              sim_config=cfg, seeds=[10000])
    assert png.stat().st_size > 10_000
