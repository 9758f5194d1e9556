"""PolicyController: chunk scheduling behind the safety filter.

Regressions pinned:
- the policy runs once per n_action_steps periods, and every period with ensembling;
- a stale or missing observation never reaches the policy and holds the last command;
- a policy that returns NaN leads to a hold, not to a command.
"""
from __future__ import annotations

import numpy as np

from imitation_ros.deploy import PolicyController, SafetyConfig, SafetyFilter
from imitation_ros.profile import OBS_STATE


class RampPolicy:
    """Chunk i of k steps: state + 0.01 * (1..k); counts calls."""

    def __init__(self, k: int, n_exec: int, nan: bool = False) -> None:
        self.k, self.n_action_steps, self.nan, self.calls = k, n_exec, nan, 0

    def reset(self) -> None:
        self.calls = 0

    def __call__(self, obs):
        self.calls += 1
        s = np.asarray(obs[OBS_STATE], dtype=np.float64)
        out = s[None, :] + 0.01 * np.arange(1, self.k + 1)[:, None]
        if self.nan:
            out[:, 1] = np.nan
        return out


def _filter() -> SafetyFilter:
    return SafetyFilter(np.full(3, -1.0), np.full(3, 1.0), SafetyConfig(max_step_rad=0.5,
                                                                        stale_obs_s=0.1))


def test_replans_every_n_action_steps() -> None:
    pol = RampPolicy(k=10, n_exec=4)
    ctl = PolicyController(pol, _filter())
    obs = {OBS_STATE: np.zeros(3, dtype=np.float32)}
    cmds = [ctl.step(obs, 0.0).command[0] for _ in range(8)]
    assert pol.calls == 2
    assert np.allclose(cmds[:4], [0.01, 0.02, 0.03, 0.04])
    assert np.allclose(cmds[4], 0.01)          # new chunk from the (unchanged) state


def test_ensemble_plans_every_period() -> None:
    pol = RampPolicy(k=5, n_exec=5)
    ctl = PolicyController(pol, _filter(), ensemble_coeff=0.01)
    obs = {OBS_STATE: np.zeros(3, dtype=np.float32)}
    for _ in range(3):
        ctl.step(obs, 0.0)
    assert pol.calls == 3


def test_stale_and_nan_hold() -> None:
    pol = RampPolicy(k=4, n_exec=4)
    ctl = PolicyController(pol, _filter())
    obs = {OBS_STATE: np.zeros(3, dtype=np.float32)}
    first = ctl.step(obs, 0.0)
    stale = ctl.step(obs, 0.5)
    assert stale.action == 'hold' and np.array_equal(stale.command, first.command)
    assert ctl.step(None, None).action == 'hold'
    assert pol.calls == 1
    bad = PolicyController(RampPolicy(k=4, n_exec=4, nan=True), _filter())
    v = bad.step(obs, 0.0)
    assert v.action == 'hold' and v.command is None       # nothing sent yet: publish nothing


class HistoryPolicy(RampPolicy):
    """Records observe() calls, and raises a suite error on a bad observation."""

    def __init__(self) -> None:
        super().__init__(k=4, n_exec=4)
        self.observed = 0

    def observe(self, obs) -> None:
        self.observed += 1

    def __call__(self, obs):
        if not np.all(np.isfinite(obs[OBS_STATE])):
            from imitation_ros.errors import TrainError
            raise TrainError('observation.state: non-finite values')
        return super().__call__(obs)


def test_history_fed_between_inferences_and_bad_obs_holds() -> None:
    pol = HistoryPolicy()
    ctl = PolicyController(pol, _filter())
    obs = {OBS_STATE: np.zeros(3, dtype=np.float32)}
    for _ in range(8):
        ctl.step(obs, 0.0)
    assert (pol.calls, pol.observed) == (2, 6)
    fresh = PolicyController(HistoryPolicy(), _filter())
    bad = {OBS_STATE: np.array([0.0, np.nan, 0.0], dtype=np.float32)}
    v = fresh.step(bad, 0.0)
    assert v.action == 'hold' and v.command is None
