"""A CI-sized DAgger run on the simulated arm, in-process: round 0 = BC on 5 demos, then one
round in which the checkpoint drives through the gate core and the scripted expert takes over
when it strays. Pinned: the round adds expert frames flagged ``intervention`` in the
aggregate, the report and plot are written, and the success rate does not drop."""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e
os.environ.setdefault('MUJOCO_GL', 'egl')


def test_dagger_round_adds_expert_frames_and_keeps_success(tmp_path: Path) -> None:
    from imitation_ros.dagger.rounds import RoundsConfig, run_rounds
    from imitation_ros.data.writer import INTERVENTION

    cfg = RoundsConfig(out=tmp_path / 'dagger', demos=5, rounds=1, episodes=6,
                       eval_episodes=10, steps=600, policy_frames='keep', baseline=False,
                       progress=False)
    r0, r1 = run_rounds(cfg)
    assert r1.expert_frames_added > 0 and r1.interventions > 0
    assert r1.frames_total == r0.frames_total + r1.frames_added
    files = sorted((tmp_path / 'dagger' / 'round1' / 'aggregate' / 'data').rglob('*.parquet'))
    flags = np.array([bool(np.asarray(v).reshape(-1)[0]) for v in pd.concat(
        [pd.read_parquet(p, columns=[INTERVENTION]) for p in files])[INTERVENTION]])
    assert int(flags.sum()) == r1.expert_frames_added
    assert len(flags) == r1.frames_total
    report = json.loads((tmp_path / 'dagger' / 'report.json').read_text())
    assert [r['round'] for r in report['rounds']] == [0, 1]
    assert (tmp_path / 'dagger' / 'rounds.png').is_file()
    assert r1.success_rate >= r0.success_rate, (r0.success_rate, r1.success_rate)
