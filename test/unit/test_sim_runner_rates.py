"""SimRunner (the loop behind sim_node): real-time pacing, event rates, resets, commands.

Regressions pinned:
- over 3 s of (simulated) wall time, joint_states/camera/clock events come at exactly their
  configured rates, and sim time tracks wall time x real_time_factor;
- node time is monotonic across resets and each reset uses seed + episode;
- after a stall the sim catches up in steps of at most max_step_per_call_s (commands in
  between act on time); when it falls far behind, the pacer gives up time (a lag event);
- a forward command outside limits is clamped and counted; a trajectory point outside limits
  is reported once per trajectory.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from imitation_ros.sim import ArmSim, load_profile_for_sim
from imitation_ros.sim.pacing import Pacer, RateSchedule
from imitation_ros.sim.runner import SimRunner


@pytest.fixture(scope='module')
def sim():
    s = ArmSim(load_profile_for_sim())
    yield s
    s.close()


def test_rates_and_real_time(sim):
    rates = {'joint_states': 100.0, 'camera': 30.0, 'clock': 100.0}
    runner = SimRunner(sim, rates, seed=3, real_time_factor=1.0)
    counts: Counter[str] = Counter()

    def emit(t_s, names):
        counts.update(names)

    wall = 1000.0
    runner.run_until(wall, emit)
    for k in range(1, 301):       # a jittery 100 Hz timer over 3 s
        runner.run_until(wall + k * 0.01 + (0.004 if k % 3 else -0.003), emit)
    runner.run_until(wall + 3.0, emit)
    assert runner.time_s == pytest.approx(3.0, abs=0.003)
    assert counts['joint_states'] == 301       # t = 0, 0.01, ..., 3.00
    assert counts['clock'] == 301
    assert counts['camera'] == 91              # t = 0, 1/30, ..., 3.0


def test_reset_seeds_and_monotonic_time(sim):
    runner = SimRunner(sim, {'joint_states': 100.0}, seed=10)
    for k in range(51):
        runner.run_until(k * 0.01, lambda *a: None)
    t0 = runner.time_s
    assert runner.reset() == (1, 11)
    assert runner.time_s == pytest.approx(t0) and runner.episode_time_s == 0.0
    for k in range(51, 71):
        runner.run_until(k * 0.01, lambda *a: None)
    assert runner.time_s == pytest.approx(0.7, abs=0.003)
    assert runner.episode_time_s == pytest.approx(0.2, abs=0.003)
    assert runner.reset() == (2, 12)


def test_stall_is_caught_up_in_small_steps(sim):
    runner = SimRunner(sim, {'joint_states': 100.0}, seed=0, max_step_per_call_s=0.05)
    runner.run_until(0.0, lambda *a: None)
    runner.run_until(0.5, lambda *a: None)          # the timer stalled for 0.5 s
    assert runner.time_s == pytest.approx(0.05, abs=0.003)
    for k in range(12):                             # then catches up, 50 ms per call
        runner.run_until(0.5 + k * 0.001, lambda *a: None)
    assert runner.time_s == pytest.approx(0.5 + 11 * 0.001, abs=0.003)
    assert runner.pacer.lag_events == 0


def test_pacer_gives_up_time_when_far_behind():
    p = Pacer(real_time_factor=1.0, max_catch_up_s=0.25)
    assert p.goal(0.0, 0.0) == 0.0
    assert p.goal(2.0, 0.0) == pytest.approx(0.25)
    assert p.lag_events == 1
    assert p.given_up_s == pytest.approx(1.75)
    assert p.goal(2.1, 0.25) == pytest.approx(0.35)


def test_real_time_factor_scales():
    p = Pacer(real_time_factor=2.0)
    p.goal(5.0, 0.0)
    assert p.goal(5.1, 0.0) == pytest.approx(0.2)


def test_schedule_groups_simultaneous_events():
    s = RateSchedule({'a': 10.0, 'b': 5.0})
    due = s.pop_due(0.2)
    assert due[0] == (0.0, ['a', 'b']) or due[0] == (0.0, ['b', 'a'])
    assert [t for t, _ in due] == pytest.approx([0.0, 0.1, 0.2])


def test_commands_clamped_and_reported(sim):
    runner = SimRunner(sim, {'joint_states': 100.0}, seed=0)
    runner.run_until(0.0, lambda *a: None)
    q = sim.target
    q[1] = 9.0
    report = runner.command(q, source='/forward_position_controller/commands')
    assert report.clamped == ('shoulder_lift',)
    assert runner.clamp_count == 1
    assert runner.last_clamp_source == '/forward_position_controller/commands'
    rep = runner.trajectory(['elbow_flex'], [0.5], [[-5.0]], None, start_s=None,
                            source='/arm_controller/joint_trajectory')
    assert rep.clamped == ('elbow_flex',) and runner.clamp_count == 2
    for k in range(1, 101):
        runner.run_until(k * 0.01, lambda *a: None)
    i = sim.joint_names.index('elbow_flex')
    assert sim.target[i] == pytest.approx(sim.lower_rad[i])
    assert np.all(sim.joint_positions() >= sim.lower_rad - 0.03)
