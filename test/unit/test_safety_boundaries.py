"""One safety filter in front of every command, and no boundary that breaks its cap.

The arm in these tests lags: its measured pose is the command sent ``LAG`` ticks earlier, so
at every boundary the measured pose is several step caps behind the last command.

Regressions pinned:
- enable, reset and hand-back (filter, DaggerCore, PolicyController) never let two
  consecutive commands differ by more than the step cap; before, each restarted from the
  measured pose and jumped back by the lag;
- the DAgger gate's filter is the policy node's: per-joint velocity caps from the profile,
  the lead limit, the margin (not ``max_step_rad`` alone);
- the cap is a velocity: ticking twice as fast does not move faster, a late tick does not
  catch up, an early tick moves less;
- a cap removed by configuration (inf, nan, < 0) is refused naming the parameter; a profile
  without ``max_velocity_rad_s`` cannot command an arm;
- trajectory points are kept within ``max_lead_rad`` of the measured pose when it is given;
- only an arm that is nowhere near the last command (moved or reset while no command was
  sent) makes the next step start from the measured pose.
"""
from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import yaml

from imitation_ros.dagger import CoreConfig, DaggerCore, GateConfig, GateSafety
from imitation_ros.dagger.config import DaggerNodeConfig
from imitation_ros.deploy import ControllerConfig, InlineWorker, PolicyController
from imitation_ros.deploy.config import PolicyNodeConfig
from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter
from imitation_ros.errors import ConfigError
from imitation_ros.profile import OBS_STATE, load_profile
from imitation_ros.resources import config_path

LAG = 6               # ticks the measured pose trails the command


@pytest.fixture(scope='module')
def prof():  # noqa: ANN201
    return load_profile(config_path('sim_arm.yaml'))


class LaggingArm:
    """Measured pose = the command sent ``LAG`` ticks ago (holds when nothing is sent)."""

    def __init__(self, q0: np.ndarray) -> None:
        self.sent: deque[np.ndarray] = deque([q0.copy()] * LAG, maxlen=LAG)

    @property
    def measured(self) -> np.ndarray:
        return self.sent[0].copy()

    def send(self, cmd: np.ndarray | None) -> None:
        self.sent.append(self.sent[-1] if cmd is None else np.asarray(cmd, float).copy())


def lagging(measured: np.ndarray, last: np.ndarray, cap: np.ndarray) -> bool:
    """The arm trails the last command by more than 1.5 step caps on some joint (restarting
    from the measured pose would break the cap)."""
    return bool(np.any(np.abs(measured - last) > 1.5 * cap))


def assert_pairs_within(cmds: list[np.ndarray], cap: np.ndarray, what: str) -> None:
    assert len(cmds) > 20, what
    steps = np.abs(np.diff(np.array(cmds), axis=0))
    worst = int(np.argmax((steps / cap).max(axis=1)))
    assert np.all(steps <= cap + 1e-9), (f'{what}: step {steps[worst]} > cap {cap} between '
                                         f'commands {worst} and {worst + 1}')


# -- the filter -----------------------------------------------------------------------------
def test_filter_boundary_keeps_stepping_from_the_last_command(prof) -> None:  # noqa: ANN001
    f = SafetyFilter.from_profile(prof, SafetyConfig(max_lead_rad=0.5))
    cap = f.step_cap()
    q0 = np.array([0.0, 0.2, 0.4, 0.3, 0.0, 0.5])
    arm, cmds = LaggingArm(q0), []
    targets = [q0 + 0.45, q0 - 0.3, q0 + 0.25, q0 - 0.1, q0]
    for i, target in enumerate(targets):
        if i:
            f.mark_boundary()                       # enable / reset / hand-back
            assert lagging(arm.measured, cmds[-1], cap), 'the arm should lag at the boundary'
        for _ in range(6 if i < len(targets) - 1 else 30):
            v = f.filter(target, arm.measured, 0.01)
            arm.send(v.command)
            cmds.append(v.command)
    assert_pairs_within(cmds, cap, 'filter across boundaries')


def test_filter_restarts_from_the_arm_only_when_it_is_nowhere_near(prof) -> None:  # noqa: ANN001
    f = SafetyFilter.from_profile(prof, SafetyConfig(max_lead_rad=0.5))
    cap = f.step_cap()
    q = np.zeros(6) + 0.5
    for _ in range(5):
        last = f.filter(q, q, 0.01).command
    far = q.copy()
    far[0] = -1.0                                  # a simulated arm reset to a new pose
    f.mark_boundary()
    v = f.filter(far, far, 0.01)
    assert np.allclose(v.command, far) and 'boundary' in ' '.join(v.reasons)
    near = far + 0.3                               # lagging, not moved: continue
    f.mark_boundary()
    v2 = f.filter(near, far, 0.01)
    assert np.all(np.abs(v2.command - v.command) <= cap + 1e-9)
    f.reset()                                      # an explicit forget still works
    assert f.last_command is None and last is not None


def test_cap_is_a_velocity_not_a_per_tick_step(prof) -> None:  # noqa: ANN001
    vel = np.array(prof.limits.max_velocity_rad_s)
    period = 1 / prof.fps
    for rate_factor in (1, 2, 4):                  # ticking faster never moves faster
        f = SafetyFilter.from_profile(prof, SafetyConfig(), period_s=period / rate_factor)
        q = np.zeros(6) + 0.5
        cmd = None
        n = 30 * rate_factor                       # one second
        for k in range(n + 1):
            cmd = f.filter(q + 1.0, q, 0.01, now_s=k * period / rate_factor).command
        moved = np.abs(cmd - q)
        assert np.all(moved <= vel * 1.0 + vel * period / rate_factor + 1e-9), rate_factor
    f = SafetyFilter.from_profile(prof, SafetyConfig(max_step_rad=0.01))
    q = np.zeros(6) + 0.5
    a = f.filter(q + 1, q, 0.01, now_s=0.0).command
    b = f.filter(q + 1, q, 0.01, now_s=period / 4).command           # early: a quarter
    assert np.abs(b - a).max() == pytest.approx(0.01 / 4)
    c = f.filter(q + 1, q, 0.01, now_s=period / 4 + 5 * period).command   # late: one period
    assert np.abs(c - b).max() == pytest.approx(0.01)
    d = f.filter(q + 1, q, 0.01, now_s=0.0).command        # clock restarted: one period
    assert np.abs(d - c).max() == pytest.approx(0.01)


@pytest.mark.parametrize('name', ['max_step_rad', 'max_lead_rad', 'stale_obs_s',
                                  'limit_margin_rad', 'state_limit_tolerance_rad',
                                  'velocity_scale'])
@pytest.mark.parametrize('bad', [float('inf'), float('nan'), -1.0])
def test_removed_caps_are_refused_by_name(name: str, bad: float) -> None:
    with pytest.raises(ConfigError, match=name):
        SafetyConfig(**{name: bad})
    with pytest.raises(ConfigError, match=f'dagger: .*{name}'):
        DaggerNodeConfig(**{name: bad})
    with pytest.raises(ConfigError, match=f'policy: .*{name}'):
        PolicyNodeConfig(checkpoint='x', **{name: bad})


def test_nodes_start_disabled_and_use_the_same_filter_parameters() -> None:
    assert PolicyNodeConfig(checkpoint='x').enabled is False
    assert DaggerNodeConfig().enabled is False
    assert DaggerNodeConfig().safety() == PolicyNodeConfig(checkpoint='x').safety()


def test_profile_without_velocity_limits_cannot_command(prof, tmp_path) -> None:  # noqa: ANN001
    data = yaml.safe_load(config_path('sim_arm.yaml').read_text())
    del data['joints']['max_velocity_rad_s']
    path = tmp_path / 'no_vel.yaml'
    path.write_text(yaml.safe_dump(data))
    loose = load_profile(path)                      # recording may still use it
    assert not loose.limits.velocity_stated and prof.limits.velocity_stated
    with pytest.raises(ConfigError, match=r'no_vel\.yaml.*joints\.max_velocity_rad_s'):
        SafetyFilter.from_profile(loose)
    with pytest.raises(ConfigError, match='max_velocity_rad_s'):
        GateSafety.from_profile(loose)


def test_trajectory_points_lead_limited(prof) -> None:  # noqa: ANN001
    f = SafetyFilter.from_profile(prof, SafetyConfig(max_lead_rad=0.2))
    meas = np.zeros(6) + 0.5
    start = f.filter(meas, meas, 0.01).command
    times = np.arange(1, 31) / prof.fps
    pts = np.tile(meas + 1.0, (30, 1))                 # a chunk running far ahead
    free = f.filter_trajectory(start, times, pts)
    led = f.filter_trajectory(start, times, pts, measured=meas)
    assert np.abs(free - meas).max() > 0.5              # without the pose: velocity only
    assert np.all(np.abs(led - meas) <= 0.2 + 1e-9)     # with it: never beyond the lead
    steps = np.abs(np.diff(np.vstack([start, led]), axis=0))
    assert np.all(steps <= f.step_cap() + 1e-9)


# -- DaggerCore: the gate --------------------------------------------------------------------
def test_dagger_gate_uses_the_profile_filter(prof) -> None:  # noqa: ANN001
    cfg = DaggerNodeConfig()
    g = GateSafety.from_profile(prof, cfg.safety(), period_s=1 / prof.fps)
    vel = np.array(prof.limits.max_velocity_rad_s)
    assert g.step_cap() == pytest.approx(vel / prof.fps)
    assert g.filter_.config.max_lead_rad == pytest.approx(0.5)
    assert g.filter_.max_velocity is not None


@pytest.mark.parametrize('ramp_s', [0.0, 0.5])
def test_dagger_core_boundaries_never_exceed_the_cap(prof, ramp_s: float) -> None:  # noqa: ANN001
    period = 1 / prof.fps
    safety = GateSafety.from_profile(prof, DaggerNodeConfig().safety(), period_s=period)
    cap = safety.step_cap()
    core = DaggerCore(safety, gate=GateConfig(triggers=('joy', 'service')),
                      config=CoreConfig(ramp_s=ramp_s, policy_stale_s=0.5,
                                        leader_stale_s=0.5))
    q0 = np.array([0.0, 0.2, 0.4, 0.3, 0.0, 0.5])
    wave = np.array([1.0, -1.0, 0.8, 0.0, 0.0, 0.0])
    base = q0.copy()
    base[:3] += [0.45, -0.4, 0.35]
    arm, cmds, events = LaggingArm(q0), [], []
    t = 0.0
    for k in range(240):
        policy = q0 + 0.3 * np.sin(0.15 * k) * wave           # both keep moving, so the
        leader = base + 0.1 * np.sin(0.2 * k) * wave          # arm always trails
        if k in (20, 80):
            core.reset()                             # new episode with the arm lagging
            events.append((k, None, lagging(arm.measured, cmds[-1], cap)))
        core.on_joy(40 <= k < 52 or 150 <= k < 160, t)   # take over, hand back (x2)
        if k == 190:
            core.on_service(True, t)                 # service take-over ...
        if k == 200:
            core.on_service(False, t)                # ... and hand-back
        core.on_measured(arm.measured, t)
        core.on_policy(policy, t)
        core.on_leader(leader, t)
        res = core.tick(t)
        if res.event is not None:
            events.append((k, res.human, lagging(arm.measured, cmds[-1], cap)))
        arm.send(res.command)
        if res.command is not None:
            cmds.append(res.command)
        t += period
    assert [(k, h) for k, h, _ in events] == [(20, None), (40, True), (52, False),
                                              (80, None), (150, True), (160, False),
                                              (190, True), (200, False)]
    assert sum(lag for *_, lag in events) >= 6, events       # the arm lagged at the boundary
    assert_pairs_within(cmds, cap, 'dagger core across reset/take-over/hand-back')


def test_dagger_core_faster_rate_is_not_faster(prof) -> None:  # noqa: ANN001
    vel = np.array(prof.limits.max_velocity_rad_s)
    period = 1 / prof.fps
    safety = GateSafety.from_profile(prof, DaggerNodeConfig(max_lead_rad=0.0).safety(),
                                     period_s=period / 4)          # rate_hz = 4 x fps
    core = DaggerCore(safety, gate=GateConfig(triggers=('service',)))
    q0 = np.zeros(6) + 0.5
    first = None
    for k in range(121):                                           # one second
        t = k * period / 4
        core.on_measured(q0, t)
        core.on_policy(q0 + 1.5, t)
        cmd = core.tick(t).command
        first = cmd if first is None else first
    assert np.all(np.abs(cmd - first) <= vel * 1.0 + 1e-9)


# -- PolicyController: the policy node ------------------------------------------------------
class TargetPolicy:
    """A chunk that holds ``target`` (changed by the test between episodes)."""

    n_action_steps = 10

    def __init__(self, target: np.ndarray) -> None:
        self.target = target

    def reset(self) -> None:
        pass

    def __call__(self, obs: dict) -> np.ndarray:
        del obs
        return np.tile(self.target, (20, 1))


def test_policy_controller_enable_and_reset_never_exceed_the_cap(prof) -> None:  # noqa: ANN001
    period = 1 / prof.fps
    cfg = PolicyNodeConfig(checkpoint='x')
    safety = SafetyFilter.from_profile(prof, cfg.safety(), period_s=period)
    cap = safety.step_cap()
    q0 = np.array([0.0, 0.2, 0.4, 0.3, 0.0, 0.5])
    pol = TargetPolicy(q0 + 0.45)
    ctl = PolicyController(pol, safety, worker=InlineWorker(pol), config=ControllerConfig(
        period_s=period, enable_ramp_s=0.2))     # a short ramp: the cap, not it, limits
    arm, cmds, lags = LaggingArm(q0), [], []
    enabled = True
    t = 0.0
    for k in range(120):
        if k in (9, 18, 26):                         # ~/enable false, ~/reset, ~/reset
            lags.append(lagging(arm.measured, cmds[-1], cap))
            ctl.reset()
            pol.target = q0 + (-0.3, 0.35, -0.2)[(9, 18, 26).index(k)]
            enabled = k != 9
        if k == 11:
            ctl.reset()                              # ~/enable true after a short pause
            enabled = True
        cmd = None
        if enabled:
            cmd = ctl.tick(t, {OBS_STATE: arm.measured}, t).verdict.command
        arm.send(cmd)
        if cmd is not None:
            cmds.append(cmd)
        t += period
    assert all(lags), lags                               # the arm lagged at each boundary
    assert_pairs_within(cmds, cap, 'policy controller across enable/reset')
    assert np.abs(cmds[-1] - (q0 - 0.2)).max() < 1e-6    # and it still gets there


def test_dagger_core_forgets_only_when_told_the_arm_was_moved(prof) -> None:  # noqa: ANN001
    """A simulated episode reset puts the arm at a new pose: ``reset(forget_last=True)``."""
    period = 1 / prof.fps
    core = DaggerCore(GateSafety.from_profile(prof, period_s=period),       # lead off
                      gate=GateConfig(triggers=('service',)))
    q = np.zeros(6) + 0.5
    for k in range(3):
        core.on_measured(q, k * period)
        core.on_policy(q, k * period)
        last = core.tick(k * period).command
    new = q - 0.4                                   # the sim moved the arm far away
    core.reset()                                    # a real arm: keep capping from last
    core.on_measured(new, 1.0)
    core.on_policy(new, 1.0)
    kept = core.tick(1.0).command
    assert np.all(np.abs(kept - last) <= core.safety.step_cap() + 1e-9)
    core.reset(forget_last=True)
    core.on_measured(new, 2.0)
    core.on_policy(new, 2.0)
    assert np.allclose(core.tick(2.0).command, new)
