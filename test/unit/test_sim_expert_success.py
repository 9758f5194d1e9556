"""The scripted expert solves the CI task; the success check is honest.

Regressions pinned:
- expert success >= 95 % over 20 seeded episodes of lift_cube (the issue's acceptance bar);
- a policy that never grasps (holds the start pose, or closes on nothing) is never a success;
- episodes are reproducible per seed (same seed -> same cube start and joint trajectory);
- the randomization really varies the start (different seeds -> different cube/arm).
"""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.sim import ArmSim, ScriptedExpert, evaluate, expert_policy, load_profile_for_sim
from imitation_ros.sim.expert import ExpertConfig


@pytest.fixture(scope='module')
def sim():
    s = ArmSim(load_profile_for_sim())
    yield s
    s.close()


def test_expert_reaches_95_percent_over_20_seeds(sim):
    expert = ScriptedExpert(sim.geometry, sim.joint_names, seed=0)
    summary = evaluate(sim, expert_policy(sim, expert), range(100, 120),
                       duration_s=expert.config.duration_s)
    assert summary.n == 20
    assert summary.success_rate >= 0.95, [r for r in summary.results if not r.success]
    # honest: the cube really went up by the lift the script commands (~0.1 m)
    assert min(r.max_lift_m for r in summary.results if r.success) > 0.08


def test_expert_with_noise_and_perturbation_still_mostly_succeeds(sim):
    cfg = ExpertConfig(noise_std_rad=0.01, perturb_prob=1.0)
    expert = ScriptedExpert(sim.geometry, sim.joint_names, cfg, seed=1)
    summary = evaluate(sim, expert_policy(sim, expert), range(5),
                       duration_s=cfg.duration_s)
    assert summary.success_rate >= 0.8


def test_holding_still_is_not_success(sim):
    def hold(obs, t_s):
        return obs['observation.state'].astype(np.float64)

    summary = evaluate(sim, hold, range(3), duration_s=2.0)
    assert summary.successes == 0
    assert all(r.max_lift_m < 0.01 for r in summary.results)


def test_closing_on_nothing_is_not_success(sim):
    expert = ScriptedExpert(sim.geometry, sim.joint_names, seed=0)
    inner = expert_policy(sim, expert)

    def miss(obs, t_s):          # same script, but the grasp target is 12 cm off the cube
        q = inner(obs, t_s)
        q[0] += 0.45             # shoulder_pan
        return q

    summary = evaluate(sim, miss, range(3), duration_s=expert.config.duration_s)
    assert summary.successes == 0


def test_reset_is_reproducible_per_seed_and_varies_across_seeds(sim):
    sim.reset(7)
    a = (sim.task_state().copy(), sim.joint_positions().copy())
    sim.reset(8)
    b = (sim.task_state().copy(), sim.joint_positions().copy())
    sim.reset(7)
    c = (sim.task_state().copy(), sim.joint_positions().copy())
    np.testing.assert_allclose(a[0], c[0])
    np.testing.assert_allclose(a[1], c[1])
    assert np.abs(a[0][:2] - b[0][:2]).max() > 1e-3       # cube xy moved
    assert np.abs(a[1] - b[1]).max() > 1e-3               # arm start moved
