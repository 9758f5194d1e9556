"""In-process evaluation timing (no simulator): what the controller sees and when.

Regressions pinned:
- faithful timing hands the controller observations obs_delay_s old, with their true time,
  and the chunk only after the latency: the sim's target is kept until then (no zeros);
- stop-the-world: the chunk for the current observation at once;
- a new episode (t = 0) resets the controller even when a chunk is in flight.
"""
from __future__ import annotations

import numpy as np

from imitation_ros.deploy.rollout import RolloutConfig, controller_policy, make_controller
from imitation_ros.deploy.worker import DeferredWorker, InlineWorker
from imitation_ros.profile import OBS_STATE, load_profile
from imitation_ros.resources import config_path


class EchoPolicy:
    """Chunk of 10 rows = the observed state + 0.01 * row; remembers what it saw."""

    n_action_steps = 10

    def __init__(self) -> None:
        self.seen: list[float] = []

    def reset(self) -> None:
        pass

    def __call__(self, obs):
        s = np.asarray(obs[OBS_STATE], dtype=np.float64)
        self.seen.append(float(s[0]))
        return s[None, :] + 0.01 * np.arange(10)[:, None]


class FakeSim:
    target = np.full(6, 0.123)


def _run(timing: str, **kw):  # noqa: ANN003, ANN202
    profile = load_profile(config_path('sim_arm.yaml'))
    pol = EchoPolicy()
    ctl = make_controller(pol, profile, RolloutConfig(timing=timing, **kw))
    run = controller_policy(FakeSim(), ctl, obs_delay_s=kw.get('obs_delay_s', 0.0))
    dt = 1 / profile.fps
    outs = []
    for i in range(8):
        state = np.full(6, 0.5) + 0.001 * i            # state[0] encodes the tick
        outs.append(run({OBS_STATE: state}, round(i * dt, 6)))
    return pol, ctl, np.array(outs)


def test_faithful_delays_observation_and_chunk() -> None:
    pol, ctl, outs = _run('faithful', latency_s=0.1, obs_delay_s=1 / 30)
    assert isinstance(ctl.worker, DeferredWorker)
    assert pol.seen[0] == 0.5                          # the tick-0 observation, seen at tick 1
    n_wait = 1 + int(np.ceil(0.1 * 30))                # obs delay, then the latency
    assert np.allclose(outs[:n_wait], 0.123)           # the sim keeps its target meanwhile
    assert not np.allclose(outs[n_wait], 0.123)
    assert ctl.latency.p50 >= 0.1


def test_stop_the_world_answers_at_once() -> None:
    pol, ctl, outs = _run('stop_the_world')
    assert isinstance(ctl.worker, InlineWorker)
    assert pol.seen[0] == 0.5 and not np.allclose(outs[0], 0.123)
    assert ctl.latency.p99 == 0.0


def test_evaluation_defaults_are_the_node_defaults() -> None:
    from imitation_ros.deploy.config import PolicyNodeConfig

    node = PolicyNodeConfig(checkpoint='x')
    ev = RolloutConfig()
    assert (ev.blend_steps, ev.max_plan_age_s, ev.enable_ramp_s) == (
        node.blend_steps, node.max_plan_age_s, node.enable_ramp_s)
    assert (ev.safety.max_lead_rad, ev.safety.velocity_scale, ev.safety.max_step_rad,
            ev.safety.stale_obs_s) == (node.max_lead_rad, node.velocity_scale,
                                       node.max_step_rad, node.stale_obs_s)
