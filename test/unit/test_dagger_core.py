"""DAgger core: gate triggers and hysteresis, handover ramp under the safety cap, stale
streams, modes and beta, intervention labels. No ROS, no sim."""
from __future__ import annotations

import numpy as np
import pytest

from imitation_ros.dagger import (
    CoreConfig,
    DaggerCore,
    GateConfig,
    GateSafety,
    HandoverRamp,
    ModeConfig,
    beta_for_round,
)
from imitation_ros.dagger.labels import (
    events_from_flags,
    flags_from_events,
    frame_weights,
    intervention_rate,
    segments,
)
from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter
from imitation_ros.errors import ConfigError

N = 6
P = 1 / 30            # control period, s
CAP = 0.05            # safety step cap, rad


def gate_safety(cap: float = CAP) -> GateSafety:
    """The policy node's filter: velocity cap/P rad/s per joint (cap rad per period)."""
    return GateSafety(SafetyFilter(-np.full(N, 2.0), np.full(N, 2.0), SafetyConfig(),
                                   max_velocity=np.full(N, cap / P), period_s=P))


def make_core(triggers=('joy', 'service', 'deviation'), *, mode='hg', ramp_s=0.5,
              **gate_kw) -> DaggerCore:
    safety = gate_safety()
    return DaggerCore(safety, gate=GateConfig(triggers=triggers, **gate_kw),
                      mode=ModeConfig(mode=mode), config=CoreConfig(ramp_s=ramp_s), seed=0)


def feed(core: DaggerCore, t: float, *, policy=None, leader=None, measured=None) -> None:
    core.on_measured(np.zeros(N) + 0.1 if measured is None else measured, t)
    core.on_policy(np.zeros(N) + 0.1 if policy is None else policy, t)
    core.on_leader(np.zeros(N) + 0.1 if leader is None else leader, t)


def test_joy_switches_within_one_period_both_ways() -> None:
    core = make_core(('joy',))
    t = 0.0
    for _ in range(5):
        feed(core, t)
        assert not core.tick(t).human
        t += P
    core.on_joy(True, t - P / 2)         # pressed between two ticks
    feed(core, t)
    res = core.tick(t)
    assert res.human and res.event is not None and res.event.human_in_control
    assert res.event.source == 'joy' and res.latency_s is not None and res.latency_s <= P
    t += P
    core.on_joy(False, t - P / 2)
    feed(core, t)
    res = core.tick(t)
    assert not res.human and res.reset_policy and res.event is not None
    assert not res.event.human_in_control


def test_service_switches_within_one_period() -> None:
    core = make_core(('service',))
    feed(core, 0.0)
    assert not core.tick(0.0).human
    core.on_service(True, 0.01)
    feed(core, P)
    res = core.tick(P)
    assert res.human and res.event.source == 'service'
    core.on_service(False, P + 0.01)
    feed(core, 2 * P)
    assert not core.tick(2 * P).human


def test_deviation_takes_over_within_one_period_and_releases_when_still() -> None:
    core = make_core(('deviation',), release_s=0.2, min_dwell_s=0.1)
    feed(core, 0.0)
    assert not core.tick(0.0).human
    grabbed = np.full(N, 0.1)
    grabbed[1] += 0.5                       # a person pulled the leader 0.5 rad away
    feed(core, P, leader=grabbed)
    res = core.tick(P)
    assert res.human and res.event.source == 'deviation'
    # the person holds the leader still, the follower arrives: released after release_s
    t, released_at = P, None
    for _ in range(30):
        t += P
        feed(core, t, leader=grabbed, measured=grabbed)
        if not core.tick(t).human:
            released_at = t
            break
    assert released_at is not None and released_at - P >= 0.2


def test_deviation_hysteresis_no_chatter() -> None:
    core = make_core(('deviation',), deviation_on_rad=0.3, deviation_off_rad=0.1,
                     release_s=0.3, min_dwell_s=0.5)
    rng = np.random.default_rng(0)
    t = 0.0
    for _ in range(300):       # 10 s of a deviation wandering between the thresholds
        lead = np.full(N, 0.1)
        lead[0] += rng.uniform(0.12, 0.29)
        feed(core, t, leader=lead)
        core.tick(t)
        t += P
    assert core.gate.switches == 0
    # noisy around the on threshold: at most one switch per min_dwell_s
    for _ in range(300):
        lead = np.full(N, 0.1)
        lead[0] += 0.3 + rng.uniform(-0.05, 0.05)
        feed(core, t, leader=lead, measured=np.full(N, 0.1))
        core.tick(t)
        t += P
    assert 1 <= core.gate.switches <= 2


@pytest.mark.parametrize('ramp_s', [0.0, 0.5])
def test_handover_steps_never_exceed_the_cap_either_way(ramp_s: float) -> None:
    core = make_core(('joy',), ramp_s=ramp_s)
    policy = np.full(N, 0.1)
    leader = np.full(N, 0.1)
    leader[:3] = [1.2, -0.9, 0.8]           # the leader is far away
    t, prev, cmds, switched = 0.0, None, [], []
    for k in range(150):
        core.on_joy(20 <= k < 80, t)        # joy drivers repeat the state (autorepeat)
        measured = np.full(N, 0.1) if prev is None else prev   # arm tracks the command
        feed(core, t, policy=policy, leader=leader, measured=measured)
        res = core.tick(t)
        assert res.command is not None
        if res.event is not None:
            switched.append(k)
        if prev is not None:
            assert np.abs(res.command - prev).max() <= CAP + 1e-9, k
        assert np.any(res.command != 0.0)
        prev = res.command
        cmds.append(res.command)
        t += P
    assert switched == [20, 80]
    assert np.allclose(cmds[79], leader, atol=1e-6)       # reached the leader
    assert np.allclose(cmds[-1], policy, atol=1e-6)       # and back to the policy


def test_ramp_blends_from_start_to_moving_target() -> None:
    ramp = HandoverRamp(1.0)
    ramp.start(np.zeros(2), 0.0)
    assert np.allclose(ramp.apply(np.ones(2), 0.5), 0.5)
    assert np.allclose(ramp.apply(np.full(2, 2.0), 1.0), 2.0) and not ramp.active
    with pytest.raises(ConfigError, match='ramp_s'):
        HandoverRamp(-1)


def test_stale_stream_holds_last_command_never_zeros() -> None:
    core = make_core(('joy',))
    res = core.tick(0.0)                    # nothing arrived yet: publish nothing
    assert res.command is None and res.action == 'hold'
    feed(core, 0.0, policy=np.full(N, 0.3))
    first = core.tick(0.0).command
    assert first is not None
    # the policy goes silent; the measured stream stays fresh
    for k in range(1, 20):
        t = k * P
        core.on_measured(np.full(N, 0.1), t)
        res = core.tick(t)
        if t > 0.2:
            assert res.action == 'hold' and np.array_equal(res.command, core.safety.last)
            assert 'policy' in res.reasons[0]
    # the person takes over but the leader is stale: hold too, never the stale leader
    core.on_leader(np.full(N, 1.5), 0.0)
    core.on_joy(True, 1.0)
    core.on_measured(np.full(N, 0.1), 1.0)
    res = core.tick(1.0)
    assert res.human and res.action == 'hold'
    assert not np.allclose(res.command, 1.5) and np.any(res.command != 0)


def test_non_finite_command_holds() -> None:
    core = make_core(('joy',))
    feed(core, 0.0)
    ok = core.tick(0.0).command
    bad = np.full(N, 0.1)
    bad[2] = np.nan
    feed(core, P, policy=bad)
    res = core.tick(P)
    assert res.action == 'hold' and np.array_equal(res.command, ok)


def test_modes_classic_beta_and_label_only() -> None:
    assert beta_for_round(1.0, 0.5, 3) == pytest.approx(0.125)
    core = DaggerCore(gate_safety(1.0),
                      gate=GateConfig(triggers=('service',)),
                      mode=ModeConfig(mode='classic', beta0=0.8, beta_decay=0.5, round=1),
                      seed=1)
    n_exp = 0
    for k in range(2000):
        feed(core, k * P, leader=np.full(N, 0.2), policy=np.full(N, 0.1))
        n_exp += core.tick(k * P).expert_executed
    assert n_exp / 2000 == pytest.approx(0.4, abs=0.05)
    core = make_core(('service',), mode='label_only')
    for k in range(50):
        feed(core, k * P, leader=np.full(N, 0.2))
        assert not core.tick(k * P).expert_executed
    core.on_service(True, 50 * P)
    feed(core, 51 * P)
    assert core.tick(51 * P).expert_executed     # a takeover still wins, for safety
    with pytest.raises(ConfigError, match='mode'):
        ModeConfig(mode='nope')
    with pytest.raises(ConfigError, match='hysteresis'):
        GateConfig(deviation_on_rad=0.1, deviation_off_rad=0.2)
    with pytest.raises(ConfigError, match='triggers'):
        GateConfig(triggers=('button',))


def test_stats_count_interventions_and_time() -> None:
    core = make_core(('service',))
    for k in range(90):
        if k == 30:
            core.on_service(True, k * P)
        if k == 60:
            core.on_service(False, k * P)
        feed(core, k * P)
        core.tick(k * P)
    st = core.stats
    assert st.interventions == 1 and st.expert_s == pytest.approx(30 * P)
    assert len(st.latencies_s) == 2 and st.latency_p(0.99) <= P


def test_labels_roundtrip() -> None:
    ticks = np.arange(10, dtype=np.int64) * 100
    flags = np.array([0, 0, 1, 1, 0, 0, 0, 1, 1, 1], bool)
    events = events_from_flags(flags, ticks)
    assert events == [(200, True), (400, False), (700, True)]
    assert np.array_equal(flags_from_events(events, ticks), flags)
    assert segments(flags) == [(2, 4), (7, 10)]
    assert intervention_rate(flags) == pytest.approx(0.5)
    assert frame_weights(flags, 'drop').tolist() == flags.astype(float).tolist()
    assert frame_weights(flags, 'weight', 0.25)[0] == pytest.approx(0.25)
    with pytest.raises(ConfigError, match='policy_frames'):
        frame_weights(flags, 'maybe')


def test_early_override_tick_moves_at_most_the_scaled_cap() -> None:
    core = DaggerCore(gate_safety(), gate=GateConfig(triggers=('joy',)),
                      config=CoreConfig(ramp_s=0.0))
    feed(core, 0.0, leader=np.full(N, 1.0))
    first = core.tick(0.0).command
    core.on_joy(True, P / 4)                 # the override acts a quarter period later
    feed(core, P / 4, leader=np.full(N, 1.0))
    res = core.tick(P / 4)
    assert res.human
    step = np.abs(res.command - first).max()
    assert 0 < step <= CAP / 4 + 1e-9
    feed(core, P, leader=np.full(N, 1.0))     # the regular tick: the rest of the period
    assert np.abs(core.tick(P).command - res.command).max() <= CAP * 0.75 + 1e-9
