"""The JointTrajectoryController model (deploy.jtc) and what JTC executes of our messages.

Hand-worked cases pin the model to JTC's rules (docs/jtc.md): start time (stamp 0 = first
sample), the point before the trajectory (the command one cycle before), linear / cubic
interpolation, holding the last point, replacement at the next update, validation, joint
order. Then the policy controller + :class:`TrajectoryStitcher` run against the model at
100 Hz and 500 Hz: every controller cycle moves every joint at most its velocity cap times
the cycle, at seams, at enable, after a reset and when the policy's latency jumps; the old
way of building messages (stamp = now, first point capped against the previous message's
first point) breaks the same check.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from imitation_ros.deploy import (
    ControllerConfig,
    DeferredWorker,
    PolicyController,
    SafetyConfig,
    SafetyFilter,
)
from imitation_ros.deploy.jtc import (
    JtcModel,
    TrajectoryStitcher,
    TrajMsg,
    execute,
    forward_execute,
    next_message,
    validate,
)
from imitation_ros.profile import OBS_STATE

J = ('a', 'b', 'c')
P = 1 / 30
VMAX = np.array([2.0, 2.0, 3.0])


def _msg(stamp: float, times: list[float], pos: list[list[float]], names=J,  # noqa: ANN001
         vel: list[list[float]] | None = None) -> TrajMsg:
    return TrajMsg(tuple(names), stamp, np.array(times), np.array(pos, dtype=float),
                   None if vel is None else np.array(vel, dtype=float))


# ---- the model, by hand -------------------------------------------------------------------

def test_stamp_zero_starts_at_first_sample_linear_then_holds_last_point() -> None:
    m = JtcModel(J, np.zeros(3))
    assert m.receive(_msg(0.0, [0.1], [[1.0, 2.0, -1.0]]), 0.003)
    assert np.allclose(m.update(0.01), 0.0)              # start = 0.01, from the command 0
    assert np.allclose(m.update(0.06), [0.5, 1.0, -0.5])  # linear to the point at 0.11
    assert np.allclose(m.update(0.11), [1.0, 2.0, -1.0])
    assert np.allclose(m.update(5.0), [1.0, 2.0, -1.0])   # ended: holds the last point


def test_future_stamp_runs_from_the_command_at_first_sample_to_the_first_point() -> None:
    m = JtcModel(J, np.zeros(3))
    m.receive(_msg(0.05, [0.0, 0.1], [[1.0, 0, 0], [2.0, 0, 0]]), 0.0)
    assert m.update(0.01)[0] == pytest.approx(0.0)        # point before: 0 at 0.01
    assert m.update(0.03)[0] == pytest.approx(0.5)        # halfway from 0.01 to 0.05
    assert m.update(0.05)[0] == pytest.approx(1.0)
    assert m.update(0.10)[0] == pytest.approx(1.5)        # between the points
    assert m.update(0.2)[0] == pytest.approx(2.0)


def test_replacement_takes_effect_at_the_next_update_and_repeats_one_cycle() -> None:
    m = JtcModel(J, np.zeros(3))
    m.receive(_msg(0.0, [1.0], [[1.0, 0, 0]]), 0.0)
    m.update(0.0)
    assert m.update(0.1)[0] == pytest.approx(0.1)
    m.receive(_msg(0.2, [0.0], [[0.0, 0, 0]]), 0.105)     # back to 0 at 0.2
    assert m.update(0.11)[0] == pytest.approx(0.1)        # the point before = last command
    assert m.update(0.155)[0] == pytest.approx(0.05)      # linear 0.1 -> 0 over 0.11..0.2
    assert m.update(0.3)[0] == pytest.approx(0.0)


def test_late_message_jumps_into_its_segment() -> None:
    """A message first sampled after its first point's time is not blended: a step."""
    m = JtcModel(J, np.zeros(3))
    m.receive(_msg(0.0, [0.0, 0.1], [[0.5, 0, 0], [0.6, 0, 0]]), 0.0)
    assert m.update(0.0)[0] == pytest.approx(0.5)         # stamp 0, tfs 0: at once


def test_cubic_when_both_points_carry_velocities() -> None:
    m = JtcModel(J, np.zeros(3))
    m.receive(_msg(1.0, [0.0, 1.0], [[0, 0, 0], [1, 0, 0]], vel=[[0, 0, 0], [0, 0, 0]]), 0.5)
    m.update(0.5)
    assert m.update(1.25)[0] == pytest.approx(3 * 0.25**2 - 2 * 0.25**3)
    assert m.update(1.5)[0] == pytest.approx(0.5)


def test_partial_goal_fill_and_joint_order() -> None:
    m = JtcModel(J, np.array([0.1, 0.2, 0.3]), allow_partial_joints_goal=True)
    assert m.receive(_msg(0.0, [0.0], [[9.0]], names=('c',)), 0.0)
    assert np.allclose(m.update(0.0), [0.1, 0.2, 9.0])
    m.receive(_msg(0.0, [0.0], [[3.0, 1.0, 2.0]], names=('c', 'a', 'b')), 0.0)
    assert np.allclose(m.update(0.01), [1.0, 2.0, 3.0])


@pytest.mark.parametrize(('msg', 'why'), [
    (_msg(0.0, [0.0], [[1.0, 2.0]], names=('a', 'b')), "don't match"),
    (_msg(0.0, [0.0], [[1.0, 2.0, 3.0]], names=('a', 'b', 'x')), 'x'),
    (_msg(0.0, [0.1, 0.1], [[0, 0, 0], [1, 1, 1]]), 'strictly increasing'),
    (_msg(0.0, [0.1], [[0, 0]]), 'positions'),
    (_msg(1.0, [0.5], [[0, 0, 0]]), 'past'),
    (_msg(0.0, [0.1], [[0, 0, 0]], vel=[[0, 1, 0]]), 'velocity at the trajectory end'),
])
def test_validation_rejects(msg: TrajMsg, why: str) -> None:
    assert why in validate(msg, J, now_s=2.0)
    m = JtcModel(J, np.ones(3))
    assert not m.receive(msg, 2.0)
    assert np.allclose(m.update(2.01), 1.0)               # nothing changed


# ---- the node's loop against the model ---------------------------------------------------

class WavePolicy:
    """Chunks of 30 rows asking for more than the cap: a fast wave and jumps at every chunk."""

    n_action_steps = 10

    def __init__(self) -> None:
        self.calls = 0

    def reset(self) -> None:
        pass

    def __call__(self, obs: dict) -> np.ndarray:
        self.calls += 1
        t = float(obs['t']) + P * np.arange(30)
        out = np.empty((30, 3))
        out[:, 0] = 0.8 * np.sin(9.0 * t)                      # 7 rad/s peak
        out[:, 1] = 0.6 * (-1) ** self.calls                    # a 1.2 rad jump per chunk
        out[:, 2] = 0.3 * np.sin(3.0 * t) + 0.05 * self.calls % 0.4
        return out


@dataclass
class Loop:
    """A 30 Hz node, DDS delivery and a JTC (or forward controller) at ``rate_hz``."""

    rate_hz: float
    mode: str = 'trajectory'
    old_way: bool = False               # stamp = now, first point = this tick's command
    seed: int = 0
    late_p: float = 0.0                 # a tick is this often up to 25 ms late (a loaded host)
    sent: list = field(default_factory=list)

    def run(self, t_end: float,
            events: dict[int, str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        tc = 1 / self.rate_hz
        safety = SafetyFilter(np.full(3, -1.5), np.full(3, 1.5), SafetyConfig(stale_obs_s=0.2,
                              max_lead_rad=0.5), J, max_velocity=VMAX, period_s=P)
        worker = DeferredWorker(WavePolicy(), latency_s=0.05)
        ctl = PolicyController(worker.policy, safety, worker=worker, config=ControllerConfig(
            period_s=P, enable_ramp_s=0.3, latency_margin_s=0.02))
        st = TrajectoryStitcher(safety, period_s=P, controller_period_s=tc, max_lead_rad=0.5)
        phase = float(rng.uniform(0, tc))
        model = JtcModel(J, np.zeros(3))
        fwd = np.zeros(3)
        updates = np.arange(phase, t_end, tc)
        arrivals: list[tuple[float, object]] = []
        out_t, out_q = [], []
        enabled = True
        n_tick, k = 0, 0
        events = events or {}
        while k < len(updates):
            t_tick = n_tick * P + float(rng.uniform(0, 0.002))           # timer jitter
            if rng.random() < self.late_p:
                t_tick += float(rng.uniform(0, 0.025))
            while k < len(updates) and updates[k] < t_tick:
                u = float(updates[k])
                for a in [a for a in arrivals if a[0] <= u]:
                    arrivals.remove(a)
                    if self.mode == 'trajectory':
                        model.receive(a[1], a[0])
                    else:
                        fwd = a[1]
                cmd = model.update(u) if self.mode == 'trajectory' else fwd.copy()
                out_t.append(u)
                out_q.append(cmd)
                k += 1
            measured = out_q[-1] if out_q else np.zeros(3)
            ev = events.get(n_tick, '')
            if ev == 'reset':
                ctl.reset()
            elif ev == 'disable':
                enabled = False
            elif ev == 'enable':
                enabled = True
                ctl.reset()
            elif ev.startswith('latency'):
                worker.latency_s = float(ev.split()[1])
            n_tick += 1
            if not enabled and self.mode == 'forward':
                continue
            obs = {OBS_STATE: measured, 't': t_tick - 0.005}
            res = ctl.tick(t_tick, obs, t_tick - 0.005, trajectory=self.mode == 'trajectory')
            arrive = t_tick + float(rng.uniform(0.0, 0.004))              # delivery
            cmd = res.verdict.command
            if self.mode == 'forward':
                if cmd is not None:
                    arrivals.append((arrive, cmd.copy()))
                continue
            if self.old_way:
                if cmd is None:
                    continue
                times = np.concatenate([[0.0], res.traj_offsets_s])
                pts = np.vstack([cmd[None], res.traj_points]) if len(res.traj_offsets_s) \
                    else cmd[None]
                msg = TrajMsg(J, t_tick, times, pts)
            else:
                held = not enabled or res.verdict.action == 'hold'
                out = next_message(st, t_tick, measured, cmd, res.traj_offsets_s,
                                   res.traj_points, hold=held)
                if out is None:
                    continue
                msg = TrajMsg(J, out[0], out[1], out[2])
            assert not validate(msg, J, arrive), validate(msg, J, arrive)
            self.sent.append((arrive, msg))
            arrivals.append((arrive, msg))
        self.ctl, self.st = ctl, st
        return np.array(out_t), np.array(out_q)


def _worst_speed_ratio(q: np.ndarray, dt: float) -> float:
    return float(np.max(np.abs(np.diff(q, axis=0)) / (VMAX * dt)))


@pytest.mark.parametrize('rate_hz', [100.0, 500.0])
@pytest.mark.parametrize(('seed', 'late_p'), [(0, 0.0), (1, 0.2)])
def test_executed_setpoint_keeps_the_velocity_cap_every_cycle(rate_hz: float, seed: int,
                                                              late_p: float) -> None:
    events = {20: 'latency 1.2', 70: 'latency 0.02', 90: 'reset', 110: 'disable',
              120: 'enable', 140: 'latency 0.12'}
    loop = Loop(rate_hz, seed=seed, late_p=late_p)
    _, q = loop.run(5.5, events)
    assert loop.ctl.seams > 5 and loop.ctl.holds['stall'] > 0    # seams, and a stall
    assert np.all(np.ptp(q, axis=0) > 0.5)                        # it really moved
    assert _worst_speed_ratio(q, 1 / rate_hz) <= 1.0 + 1e-6


@pytest.mark.parametrize('rate_hz', [100.0, 500.0])
def test_old_way_first_point_against_previous_first_point_breaks_the_cap(rate_hz: float) -> None:
    """Mutation pin: the bug of issue 19 (13 rad/s on wrist_flex) shows up in this check."""
    _, q = Loop(rate_hz, old_way=True).run(3.0, {20: 'latency 0.2', 45: 'latency 0.02'})
    assert _worst_speed_ratio(q, 1 / rate_hz) > 1.5


@pytest.mark.parametrize('rate_hz', [100.0, 500.0])
def test_forward_mode_steps_at_most_the_cap_per_command(rate_hz: float) -> None:
    """JointGroupPositionController applies each command in one cycle: the cap holds per
    node period (v x P), not per controller cycle (docs/jtc.md: use trajectory mode, or a
    node rate equal to the controller's, when the hardware follows position steps)."""
    _, q = Loop(rate_hz, mode='forward').run(3.0, {20: 'latency 0.2', 45: 'reset'})
    steps = np.abs(np.diff(q, axis=0))
    assert np.all(steps <= VMAX * P + 1e-9)
    assert np.max(steps / (VMAX * P)) > 0.9                    # the cap is reached


def test_node_stopping_stops_the_arm_within_the_horizon_and_lead() -> None:
    loop = Loop(100.0)
    loop.run(1.5)
    last_arrival, last = loop.sent[-1]
    t, q = execute(J, np.zeros(3), loop.sent, rate_hz=100.0, t_end_s=3.0)
    horizon_end = last.stamp_s + last.times_s[-1]
    assert horizon_end - last_arrival <= 0.2 + P + 1e-9
    after = q[t >= horizon_end]
    assert np.allclose(after, after[0])                          # stopped
    at_send = q[t <= last_arrival][-1]
    assert np.all(np.abs(after[0] - at_send) <= 0.5 + 1e-9)      # within the lead limit


def test_hold_stops_at_the_running_setpoint_within_the_cap() -> None:
    safety = SafetyFilter(np.full(3, -1.5), np.full(3, 1.5), SafetyConfig(), J,
                          max_velocity=VMAX, period_s=P)
    st = TrajectoryStitcher(safety, period_s=P, controller_period_s=0.01)
    st.sent_at(0.02, np.arange(7) * P, np.outer(np.arange(7) * P, VMAX * 0.9))  # moving
    stamp, tfs, pos = st.hold(0.1, np.zeros(3))
    assert len(tfs) == 1 and stamp > 0.1
    sent = [(0.0, TrajMsg(J, 0.02, np.arange(7) * P, np.outer(np.arange(7) * P, VMAX * 0.9))),
            (0.102, TrajMsg(J, stamp, tfs, pos))]
    t, q = execute(J, np.zeros(3), sent, rate_hz=100.0, t_end_s=0.6, phase_s=0.003)
    assert _worst_speed_ratio(q, 0.01) <= 1.0 + 1e-6
    assert np.allclose(q[-1], pos[0]) and np.allclose(q[t > stamp], pos[0])


def test_arm_far_from_the_running_trajectory_resyncs_and_holds_at_the_measured_pose() -> None:
    safety = SafetyFilter(np.full(3, -1.5), np.full(3, 1.5), SafetyConfig(), J,
                          max_velocity=VMAX, period_s=P)
    st = TrajectoryStitcher(safety, period_s=P, controller_period_s=0.01)
    st.sent_at(0.0, np.array([0.0]), np.array([[1.0, 1.0, 1.0]]))
    measured = np.array([0.2, 0.2, 0.2])          # another controller put it elsewhere
    out = next_message(st, 0.5, measured, np.ones(3), np.zeros(0), np.zeros((0, 3)),
                       hold=False, resync_rad=0.3)
    assert out is None and st.resyncs == 1                      # hold: send nothing
    out = next_message(st, 0.5 + P, measured, np.ones(3), np.zeros(0), np.zeros((0, 3)),
                       hold=False, resync_rad=0.3)
    assert out is not None                                       # from the measured pose
    assert np.all(np.abs(out[2][0] - measured) <= VMAX * (st.delay_s - 0.01) + 1e-9)


def test_forward_execute_keeps_the_newest_command() -> None:
    t, q = forward_execute(np.zeros(2), [(0.015, np.ones(2)), (0.025, 2 * np.ones(2))],
                           rate_hz=100.0, t_end_s=0.05)
    assert np.allclose(q[:, 0], [0, 0, 1, 2, 2])


def test_policy_node_trajectory_message_is_what_jtc_accepts() -> None:
    from imitation_ros.nodes.policy_node import trajectory_msg

    pos = np.array([[0.1, 0.2, 0.3], [0.2, 0.3, 0.4]])
    msg = trajectory_msg(1_700_000_000_123_456_789, ('c', 'a', 'b'), np.array([0.0, P]), pos)
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1_700_000_000, 123_456_789)
    assert list(msg.joint_names) == ['c', 'a', 'b']
    tfs = np.array([p.time_from_start.sec + p.time_from_start.nanosec * 1e-9
                    for p in msg.points])
    assert np.allclose(tfs, [0.0, P], atol=1e-9)
    assert all(len(p.velocities) == 0 and len(p.accelerations) == 0 for p in msg.points)
    back = TrajMsg(tuple(msg.joint_names), 1_700_000_000.123456789, tfs,
                   np.array([list(p.positions) for p in msg.points]))
    assert validate(back, J, now_s=1_700_000_000.1) == ''
    m = JtcModel(J, np.zeros(3))
    m.receive(back, 1_700_000_000.1)
    m.update(1_700_000_000.11)
    assert np.allclose(m.update(1_700_000_001.0), [0.3, 0.4, 0.2])   # reordered by name
