"""Command interfaces of the simulated arm, as ros2_control's controllers behave.

Regressions pinned:
- JointTrajectoryController emulation: reaches each point at start + time_from_start,
  interpolates from the held target before the first point, holds the last point after,
  linear without velocities and cubic Hermite (through the points, matching velocities) with;
- partial goals keep the other joints' targets; unknown joints, decreasing times and ragged
  points raise SimError naming the topic;
- forward commands must have one value per joint (SimError names the topic and the order);
- clamp_command clamps to limits, reports the joints, holds NaN joints.
"""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.errors import SimError
from imitation_ros.sim.clamp import clamp_command
from imitation_ros.sim.controllers import TrajectoryFollower, forward_command

NAMES = ('a', 'b', 'c')


def test_linear_interpolation_from_hold_through_points():
    f = TrajectoryFollower(NAMES)
    hold = np.array([0.0, 1.0, 2.0])
    f.set_trajectory(['a', 'b', 'c'], [1.0, 2.0], [[1.0, 1.0, 2.0], [3.0, 1.0, 2.0]], None,
                     start_s=10.0, hold=hold)
    np.testing.assert_allclose(f.sample(9.0), hold)
    np.testing.assert_allclose(f.sample(10.5), [0.5, 1.0, 2.0])
    np.testing.assert_allclose(f.sample(11.0), [1.0, 1.0, 2.0])
    np.testing.assert_allclose(f.sample(11.5), [2.0, 1.0, 2.0])
    np.testing.assert_allclose(f.sample(20.0), [3.0, 1.0, 2.0])


def test_cubic_with_velocities_and_partial_goal():
    f = TrajectoryFollower(NAMES)
    hold = np.array([0.0, 5.0, 7.0])
    f.set_trajectory(['b'], [1.0, 2.0], [[6.0], [8.0]], [[2.0], [0.0]], start_s=0.0,
                     hold=hold)
    assert f.sample(1.0)[1] == pytest.approx(6.0)
    assert f.sample(2.0)[1] == pytest.approx(8.0)
    eps = 1e-4       # slope at the first point matches its velocity
    slope = (f.sample(1.0 + eps)[1] - f.sample(1.0 - eps)[1]) / (2 * eps)
    assert slope == pytest.approx(2.0, rel=1e-2)
    np.testing.assert_allclose(f.sample(1.5)[[0, 2]], [0.0, 7.0])


def test_point_at_time_zero_replaces_start():
    f = TrajectoryFollower(NAMES)
    f.set_trajectory(['a'], [0.0], [[4.0]], None, start_s=1.0, hold=np.zeros(3))
    assert f.sample(1.0)[0] == 4.0 and f.sample(5.0)[0] == 4.0


def test_future_stamp_interpolates_from_arrival_like_jtc():
    f = TrajectoryFollower(NAMES)
    f.set_trajectory(['a', 'b', 'c'], [0.0, 1.0], [[1.0, 0, 0], [2.0, 0, 0]], None,
                     start_s=2.0, hold=np.zeros(3), now_s=1.0)
    assert f.sample(1.0)[0] == 0.0 and f.sample(1.5)[0] == pytest.approx(0.5)
    assert f.sample(2.5)[0] == pytest.approx(1.5)
    f.set_trajectory(['a', 'b', 'c'], [0.0, 1.0], [[1.0, 0, 0], [2.0, 0, 0]], None,
                     start_s=2.0, hold=np.zeros(3), now_s=2.5)      # late: in its segment
    assert f.sample(2.5)[0] == pytest.approx(1.5)


@pytest.mark.parametrize(('names', 'times', 'pos', 'match'), [
    (['a', 'x'], [1.0], [[0.0, 0.0]], 'unknown'),
    (['a'], [2.0, 1.0], [[0.0], [0.0]], 'increasing'),
    (['a', 'b'], [1.0], [[0.0]], 'point 0 has 1 positions'),
    (['a'], [], [], 'no points'),
])
def test_bad_trajectories_raise(names, times, pos, match):
    f = TrajectoryFollower(NAMES)
    with pytest.raises(SimError, match=match) as info:
        f.set_trajectory(names, times, pos, None, start_s=0.0, hold=np.zeros(3),
                         topic='/arm_controller/joint_trajectory')
    assert '/arm_controller/joint_trajectory' in str(info.value)


def test_forward_command_length_checked():
    assert forward_command([1, 2, 3], NAMES).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(SimError, match="'/fwd'.*2 values, expected 3"):
        forward_command([1, 2], NAMES, topic='/fwd')


def test_clamp_command_reports_and_holds_nan():
    lo, hi = np.array([-1.0, -1.0, 0.0]), np.array([1.0, 1.0, 1.0])
    out, rep = clamp_command([2.0, np.nan, 0.5], lo, hi, np.array([0.0, 0.3, 0.0]), NAMES)
    np.testing.assert_allclose(out, [1.0, 0.3, 0.5])
    assert rep.clamped == ('a',) and rep.non_finite == ('b',) and rep.changed
    assert 'clamped to limits' in rep.describe()
    out, rep = clamp_command([0.0, 0.0, 0.5], lo, hi, np.zeros(3), NAMES)
    assert not rep.changed
