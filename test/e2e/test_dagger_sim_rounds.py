"""A CI-sized DAgger run in-process on the task that needs eyes (``lift_cube_wide``: the cube
starts within +-6 cm, blind replay of the demos' mean trajectory fails), with image BC (state +
camera, the demo's recipe, 600 steps): round 0 = BC on 3 scripted demos, then one round of 6
gated episodes in which that
checkpoint drives through the gate core while the scripted expert takes over when it strays and
labels every state; BC is retrained on the aggregate.

Pinned, on the same 10 held-out test seeds (10000..): round 0 is not saturated (at most half;
the expert succeeds in >= 9); the retrained round-1 checkpoint succeeds in at least ``GAIN``
more episodes than round 0 and than blind replay of the demos; the round added expert frames
flagged ``intervention`` in the aggregate; the report (with the expert and blind-replay rows)
and the plot are written.

Calibrated (2026-12-08, training seeds 0 and 1 of this configuration, latency-faithful
evaluation on a heavily loaded 2-core machine): round 0 2/10 and 2/10, round 1 5/10 and 5/10,
blind replay 0/10 and 2/10, expert 10/10. With the aggregate left without the round's frames
(round 1 = round 0 retrained) the gain is 0 and the test fails.
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

if TYPE_CHECKING:
    from pathlib import Path

# ~4 min on 2 idle cores, 610 s measured at load 25: above pytest.ini's 600 s default
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]
os.environ.setdefault('MUJOCO_GL', 'egl')
#: Held-out test episodes per checkpoint.
EVAL = 10
#: Round 1 must beat round 0 (and blind replay) by this many of the EVAL test episodes.
GAIN = 2


def test_dagger_round_lifts_an_image_policy_on_the_wide_task(tmp_path: Path) -> None:
    from imitation_ros.dagger.rounds import RoundsConfig, run_rounds
    from imitation_ros.data.writer import INTERVENTION

    out = tmp_path / 'dagger'
    cfg = RoundsConfig(out=out, task='lift_cube_wide', images=True, demos=3, rounds=1,
                       episodes=6, eval_episodes=EVAL, steps=600, policy_frames='keep',
                       baseline=False, progress=False)
    r0, r1 = run_rounds(cfg)
    report = json.loads((out / 'report.json').read_text())
    blind, expert = report['blind_replay'], report['expert']
    got = (f'blind {blind["successes"]}/{EVAL}, expert {expert["successes"]}/{EVAL}, '
           f'round 0 {r0.successes}/{EVAL}, round 1 {r1.successes}/{EVAL}')
    print(got)
    assert r0.episodes == r1.episodes == blind['n'] == expert['n'] == EVAL
    # the gain: the expert's labels on the states the policy visited
    assert r1.successes >= r0.successes + GAIN, got
    assert r1.successes >= blind['successes'] + GAIN, got
    # ... from a start that leaves room (not saturated), on a task the expert solves
    assert r0.successes <= EVAL // 2 and expert['successes'] >= EVAL - 1, got

    assert r1.expert_frames_added > 0 and r1.interventions > 0
    assert r1.frames_total == r0.frames_total + r1.frames_added
    files = sorted((out / 'round1' / 'aggregate' / 'data').rglob('*.parquet'))
    flags = np.array([bool(np.asarray(v).reshape(-1)[0]) for v in pd.concat(
        [pd.read_parquet(p, columns=[INTERVENTION]) for p in files])[INTERVENTION]])
    assert int(flags.sum()) == r1.expert_frames_added
    assert len(flags) == r1.frames_total
    assert [r['round'] for r in report['rounds']] == [0, 1]
    assert (out / 'rounds.png').is_file()
