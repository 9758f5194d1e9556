"""PolicyController: the control tick never waits for the policy.

Fake clocks (DeferredWorker: the chunk arrives `latency` after the request, on the tick's
clock) make the schedule deterministic; one test runs a real thread and a sleeping policy.
Every assertion is on what the controller would publish (``verdict.command``).

Regressions pinned:
- a policy slower than several periods: a command every period once the first chunk is in,
  each from the row predicted for that time (never a future or replayed past row), the
  queue never runs dry, no command from an observation older than the plan-age limit;
- a seam never steps more than the velocity cap, and blending makes it smaller;
- ~/enable ramps from the measured pose; reset drops in-flight chunks;
- NaN chunks, missing/stale streams and policy errors hold the last command (or publish
  nothing before the first), never zeros;
- trajectory output: the rest of the chunk, on the period grid, clamped point by point;
- stop-the-world (inline worker): replans every n_action_steps, as lerobot does.
"""
from __future__ import annotations

import time
from functools import partial

import numpy as np
import pytest

from imitation_ros.deploy import (
    ControllerConfig,
    DeferredWorker,
    InlineWorker,
    PolicyController,
    SafetyConfig,
    ProcessWorker,
    SafetyFilter,
    ThreadWorker,
)
from imitation_ros.errors import TrainError
from imitation_ros.profile import OBS_STATE

DT = 1 / 30
SCALE = 0.01            # joint 0 of each row = SCALE * (time the row is predicted for)
T_KEY = 'obs_time'      # the fake observation carries its time, so rows can encode it


class TimePolicy:
    """Chunk of k rows: joint 0 = SCALE * (obs time + j DT), others = ``level``."""

    def __init__(self, k: int = 30, n_exec: int = 30, *, level: float = 0.2,
                 sleep_s: float = 0.0, jump: float = 0.0) -> None:
        self.k, self.n_action_steps, self.level = k, n_exec, level
        self.sleep_s, self.jump, self.calls = sleep_s, jump, 0
        self.nan_after: int | None = None
        self.fail_on: set[int] = set()

    def reset(self) -> None:
        pass

    def __call__(self, obs):
        self.calls += 1
        if self.sleep_s:
            time.sleep(self.sleep_s)
        if self.calls in self.fail_on:
            raise TrainError('observation.images.front: expected (96, 128, 3) uint8')
        t0 = float(obs[T_KEY])
        out = np.full((self.k, 3), self.level + self.jump * self.calls)
        out[:, 0] = SCALE * (t0 + DT * np.arange(self.k))
        if self.nan_after is not None and self.calls > self.nan_after:
            out[:, 1] = np.nan
        return out


def _safety(**kw) -> SafetyFilter:  # noqa: ANN003
    return SafetyFilter(np.full(3, -1.0), np.full(3, 1.0), SafetyConfig(stale_obs_s=0.1, **kw),
                        ('a', 'b', 'c'), max_velocity=np.full(3, 2.0), period_s=DT)


def _obs(t: float, state: float = 0.2) -> dict:
    return {OBS_STATE: np.array([SCALE * t, state, state]), T_KEY: t}


def _ctl(policy, *, latency: float | None = None, worker=None, **cfg) -> PolicyController:  # noqa: ANN001, ANN003
    w = worker or (DeferredWorker(policy, latency_s=latency) if latency is not None
                   else InlineWorker(policy))
    cfg.setdefault('latency_margin_s', DT / 2)
    return PolicyController(policy, _safety(), worker=w,
                            config=ControllerConfig(period_s=DT, **cfg))


def test_slow_policy_commands_every_period_from_the_right_row() -> None:
    latency = 0.25                                   # 7.5 control periods
    pol = TimePolicy(k=30, n_exec=30)
    ctl = _ctl(pol, latency=latency, blend_steps=3, max_plan_age_s=1.0)
    first = None
    for i in range(300):
        now = i * DT
        res = ctl.tick(now, _obs(now - 0.01), now - 0.01)     # observations 10 ms old
        cmd = res.verdict.command
        if cmd is None:
            assert first is None, f'tick {i}: nothing published after the first command'
            continue
        first = i if first is None else first
        assert res.verdict.action != 'hold', f'tick {i}: held ({res.verdict.reasons})'
        assert abs(cmd[0] / SCALE - now) <= DT / 2 + 1e-6, f'tick {i}: row for another time'
        assert now - res.obs_time_s <= 1.0
    assert first is not None and first == int(np.ceil(latency / DT))
    assert ctl.stalls == 0 and ctl.holds['stall'] == 0
    assert ctl.seams >= 8 and ctl.inferences >= 9
    assert ctl.latency.p99 == pytest.approx(np.ceil(latency / DT) * DT)
    assert ctl.max_step_rad <= 2.0 * DT + 1e-9


@pytest.mark.parametrize('kind', ['thread', 'process'])
def test_real_worker_with_sleeping_policy_keeps_publishing(kind: str) -> None:
    period = 0.02                                    # 50 Hz; the policy sleeps 6 periods
    pol = TimePolicy(k=60, n_exec=40, sleep_s=0.12)
    safety = SafetyFilter(np.full(3, -1.0), np.full(3, 1.0), SafetyConfig(stale_obs_s=0.1),
                          max_velocity=np.full(3, 2.0), period_s=period)
    worker = (ThreadWorker(pol) if kind == 'thread' else
              ProcessWorker(partial(TimePolicy, k=60, n_exec=40, sleep_s=0.12), torch_threads=0))
    ctl = PolicyController(pol, safety, worker=worker, config=ControllerConfig(
        period_s=period, latency_margin_s=period, max_plan_age_s=1.5))
    t_start = time.monotonic()
    published, prev = 0, None
    try:
        for i in range(90):
            time.sleep(max(0.0, t_start + i * period - time.monotonic()))
            now = time.monotonic() - t_start
            res = ctl.tick(now, _obs(now), now)
            cmd = res.verdict.command
            if cmd is None:
                assert published == 0, 'a tick published nothing after the first command'
                continue
            published += 1
            if res.verdict.action != 'hold':       # a hold re-sends the last command
                # row predicted for this tick's time (rows encode time at DT spacing)
                assert res.row_time_s is not None and abs(res.row_time_s - now) <= period
                assert now - res.obs_time_s <= 1.5
            if prev is not None:
                assert np.max(np.abs(cmd - prev)) <= 2.0 * period + 1e-9
            prev = cmd
    finally:
        ctl.close()
    assert published > 30
    assert ctl.inferences >= 2 and ctl.holds['non_finite'] == 0
    assert (pol.calls >= 2) if kind == 'thread' else (pol.calls == 0)   # the child ran them


def test_seam_step_capped_and_smaller_when_blended() -> None:
    def seam_step(blend: int) -> float:
        pol = TimePolicy(k=20, n_exec=10, jump=0.05)      # every chunk 0.05 rad higher
        ctl = _ctl(pol, latency=0.1, blend_steps=blend)
        for i in range(200):
            now = i * DT
            ctl.tick(now, _obs(now), now)
        assert ctl.seams > 10
        return ctl.max_seam_step_rad

    hard, soft = seam_step(0), seam_step(4)
    assert hard <= 2.0 * DT + 1e-9 and soft <= 2.0 * DT + 1e-9
    assert soft < 0.6 * hard


def test_enable_ramp_from_measured_pose() -> None:
    pol = TimePolicy(level=0.3)
    ctl = _ctl(pol, enable_ramp_s=0.5)
    cmds = [ctl.tick(i * DT, _obs(i * DT, state=0.0), i * DT).verdict.command[1]
            for i in range(25)]
    ramp = 0.3 * np.minimum(1.0, np.arange(25) * DT / 0.5)
    assert cmds == pytest.approx(ramp)
    ctl.reset()                                          # ramps in again after a reset,
    again = ctl.tick(1.0, _obs(1.0, state=0.1), 1.0).verdict.command[1]
    # from the arm's pose, but the step stays capped from the last command sent (0.3)
    assert again == pytest.approx(0.3 - ctl.safety.step_cap()[1])


def test_reset_drops_the_chunk_in_flight() -> None:
    pol = TimePolicy()
    ctl = _ctl(pol, latency=0.2)
    ctl.tick(0.0, _obs(0.0), 0.0)                        # request at t=0
    ctl.reset()
    held = [ctl.tick(i * DT, _obs(i * DT), i * DT) for i in range(1, 7)]
    assert all(r.verdict.command is None for r in held)  # old chunk never executed
    assert ctl.inferences == 0
    ctl.tick(5.0, _obs(5.0), 5.0)                        # request at t=5, then the clock
    ctl.reset()                                          # starts over (a new sim episode)
    after = [ctl.tick(i * DT, _obs(i * DT), i * DT).verdict for i in range(12)]
    assert after[-1].command is not None and after[-1].action != 'hold'


def test_nan_chunk_and_missing_stream_hold_last_command() -> None:
    pol = TimePolicy(k=10, n_exec=10)
    pol.nan_after = 1
    ctl = _ctl(pol)
    good = [ctl.tick(i * DT, _obs(i * DT), i * DT).verdict for i in range(10)]
    last = good[-1].command
    bad = [ctl.tick(i * DT, _obs(i * DT), i * DT).verdict for i in range(10, 15)]
    assert all(v.action == 'hold' and v.kind == 'non_finite' for v in bad)
    assert all(np.array_equal(v.command, last) for v in bad) and not np.all(last == 0)
    miss = ctl.tick(0.6, None, None, missing='observation.images.front stale').verdict
    assert miss.kind == 'missing_stream' and 'images.front' in miss.reasons[0]
    assert np.array_equal(miss.command, last)
    stale = ctl.tick(0.7, _obs(0.5), 0.5).verdict                  # 0.2 s old > 0.1 s
    assert stale.kind == 'stale' and np.array_equal(stale.command, last)
    first_nan = TimePolicy()
    first_nan.nan_after = 0
    v = _ctl(first_nan).tick(0.0, _obs(0.0), 0.0).verdict
    assert v.command is None                              # nothing sent yet: nothing, no zeros
    assert ctl.stats(0.7)['hold_non_finite'] == 5


def test_policy_error_holds_then_recovers() -> None:
    pol = TimePolicy(k=5, n_exec=5)
    pol.fail_on = {2}
    ctl = _ctl(pol, latency_margin_s=0.0)
    kinds = [ctl.tick(i * DT, _obs(i * DT), i * DT).verdict.kind for i in range(8)]
    assert 'policy_error' in kinds and kinds[-1] == ''
    assert ctl.errors == 1


def test_trajectory_rest_of_chunk_clamped_per_point() -> None:
    pol = TimePolicy(k=12, n_exec=12, level=0.9, jump=0.3)    # rows at 1.2 rad: beyond 1.0
    ctl = _ctl(pol)
    for i in range(40):
        res = ctl.tick(i * DT, _obs(i * DT, state=0.9), i * DT, trajectory=True)
    assert len(res.traj_offsets_s) > 0
    assert np.allclose(res.traj_offsets_s / DT, np.round(res.traj_offsets_s / DT))
    assert res.traj_offsets_s[0] == pytest.approx(DT)
    pts = np.vstack([res.verdict.command, res.traj_points])
    assert np.all(pts <= 1.0 + 1e-12) and np.all(pts >= -1.0)
    dts = np.diff(np.concatenate([[0.0], res.traj_offsets_s]))
    assert np.all(np.abs(np.diff(pts, axis=0)) <= 2.0 * dts[:, None] + 1e-9)


def test_history_handed_to_the_policy() -> None:
    class Hist(TimePolicy):
        n_obs_steps = 2

        def __init__(self) -> None:
            super().__init__(k=4, n_exec=4)
            self.seen: list[float] = []

        def observe(self, obs) -> None:  # noqa: ANN001
            self.seen.append(float(obs[T_KEY]))

    pol = Hist()
    ctl = _ctl(pol, latency_margin_s=0.0)
    for i in range(6):
        ctl.tick(i * DT, _obs(i * DT), i * DT)
    assert pol.seen == pytest.approx([0.0, 3 * DT])      # the period before each request


def test_stop_the_world_replans_every_n_action_steps() -> None:
    pol = TimePolicy(k=10, n_exec=4)
    ctl = _ctl(pol, latency_margin_s=0.0, blend_steps=0)
    for i in range(8):
        ctl.tick(i * DT, _obs(i * DT), i * DT)
    assert pol.calls == 2


def test_ensembling_requests_whenever_idle() -> None:
    pol = TimePolicy(k=10, n_exec=10)
    ctl = _ctl(pol, latency=2 * DT, ensemble_coeff=0.01)
    for i in range(12):
        ctl.tick(i * DT, _obs(i * DT), i * DT)
    assert pol.calls == 6 and ctl.seams == 0


def test_one_action_policy_commands_every_period_when_async() -> None:
    pol = TimePolicy(k=1, n_exec=1)                  # BC: one action per forward pass
    ctl = _ctl(pol, latency=0.001)                  # arrives at the next tick
    cmds = [ctl.tick(i * DT, _obs(i * DT), i * DT).verdict for i in range(30)]
    assert cmds[0].command is None and all(v.action != 'hold' for v in cmds[1:])
    assert pol.calls == 30 and ctl.stalls == 0      # a new request as each result lands


def _broken_factory() -> TimePolicy:
    raise TrainError('/no/such/run: no policy checkpoint (config.json + model.safetensors)')


def test_process_worker_reports_load_failure_and_a_dead_child() -> None:
    from imitation_ros.deploy import InferenceRequest
    from imitation_ros.errors import PolicyError

    with pytest.raises(PolicyError, match='could not load the policy: TrainError: /no/such/run'):
        ProcessWorker(_broken_factory, torch_threads=0, start_timeout_s=60)

    w = ProcessWorker(partial(TimePolicy, k=5, n_exec=5, sleep_s=0.3), torch_threads=0)
    try:
        req = InferenceRequest((_obs(1.0),), 1.0, 1.0, 0)
        w.submit(req)
        assert w.busy and w.poll(1.0) is None          # never blocks on a running pass
        end = time.monotonic() + 30
        res = None
        while res is None and time.monotonic() < end:
            res = w.poll(0.0)
            time.sleep(0.01)
        assert res is not None and res.error == '' and res.request is req
        assert res.chunk.shape == (5, 3) and res.chunk[0, 0] == pytest.approx(SCALE * 1.0)
        assert res.compute_s >= 0.3 and not w.busy
        w.submit(InferenceRequest((_obs(2.0),), 2.0, 2.0, 0))
        w._proc.kill()                                  # noqa: SLF001 - the child dies mid-pass
        w._proc.join(10)                                # noqa: SLF001
        res = w.poll(2.0)
        assert res is not None and res.chunk is None and 'inference process exited' in res.error
        w.submit(InferenceRequest((_obs(3.0),), 3.0, 3.0, 0))     # later requests: errors too
        res = w.poll(3.0)
        assert res is not None and res.chunk is None and 'exited' in res.error
    finally:
        w.close()
