"""The converter writes a per-frame ``intervention`` feature, frame by frame aligned with the
bag's ``InterventionEvent`` records (issue 12), when asked, when a bag has such records (the
recorder followed a DAgger gate) or the profile records ``/intervention_events``."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from imitation_ros.dagger.labels import flags_from_events
from imitation_ros.data.convert import ConvertOptions, convert_bags, wants_intervention
from imitation_ros.data.synthetic import T0_NS, synthetic_profile, write_synthetic_bag
from imitation_ros.data.writer import INTERVENTION
from imitation_ros.profile.model import TopicSpec

if TYPE_CHECKING:
    from pathlib import Path

PROFILE = synthetic_profile(fps=10.0, cameras={})
EVENTS = [(0.10, 0, 0, False, 'pick', ''), (1.00, 1, 0, True, '', ''),
          (1.10, 0, 1, False, 'pick', ''), (2.40, 1, 1, True, '', '')]
# two interventions in episode 0, one spanning the end of episode 0 into episode 1
IVS = [(0.33, True, 0, 'joy'), (0.52, False, 0, 'joy'), (0.81, True, 0, 'deviation'),
       (1.64, False, 1, 'deviation')]


def _frames(root: Path) -> pd.DataFrame:
    files = sorted((root / 'data').rglob('*.parquet'))
    return pd.concat([pd.read_parquet(p) for p in files]).sort_values('index')


def test_intervention_feature_aligned_with_records(tmp_path: Path) -> None:
    bag = write_synthetic_bag(tmp_path / 'rec', PROFILE, duration_s=2.5, events=EVENTS,
                              interventions=IVS).path
    out = tmp_path / 'ds'
    summary = convert_bags([bag], PROFILE, out, ConvertOptions(intervention=True))
    assert not summary.failed and summary.episodes == 2
    df = _frames(out)
    assert INTERVENTION in df.columns
    records = [(T0_NS + int(round(t * 1e9)), h) for t, h, _, _ in IVS]
    for ep, (start_s, _, _, _, _, _) in zip((0, 1), EVENTS[::2], strict=True):
        rows = df[df.episode_index == ep]
        ticks = T0_NS + int(round(start_s * 1e9)) + np.round(
            rows.timestamp.to_numpy() * 1e9).astype(np.int64)
        want = flags_from_events(records, ticks)
        got = np.array([bool(np.asarray(v).reshape(-1)[0]) for v in rows[INTERVENTION]])
        assert got.any() and not got.all()
        assert np.array_equal(got, want), (ep, got.astype(int), want.astype(int))
    # episode 1 starts under expert control (the intervention spans the boundary)
    assert bool(np.asarray(df[df.episode_index == 1][INTERVENTION].iloc[0]).reshape(-1)[0])


def test_feature_by_default_only_for_bags_with_records(tmp_path: Path) -> None:
    bag = write_synthetic_bag(tmp_path / 'rec', PROFILE, duration_s=2.5, events=EVENTS,
                              interventions=IVS).path
    plain = write_synthetic_bag(tmp_path / 'plain', PROFILE, duration_s=2.5,
                                events=EVENTS).path
    convert_bags([plain], PROFILE, tmp_path / 'ds0', ConvertOptions())
    assert INTERVENTION not in _frames(tmp_path / 'ds0').columns
    convert_bags([plain, bag], PROFILE, tmp_path / 'ds1', ConvertOptions())   # any bag: all
    assert INTERVENTION in _frames(tmp_path / 'ds1').columns
    convert_bags([bag], PROFILE, tmp_path / 'ds2', ConvertOptions(intervention=False))
    assert INTERVENTION not in _frames(tmp_path / 'ds2').columns
    recorded = dataclasses.replace(PROFILE, extra_topics=(
        TopicSpec(topic='/intervention_events', type='imitation_ros/msg/InterventionEvent'),))
    assert wants_intervention(recorded, ConvertOptions())
    assert not wants_intervention(recorded, ConvertOptions(intervention=False))


@pytest.mark.parametrize('flag', [True])
def test_bag_without_records_is_all_false(tmp_path: Path, flag: bool) -> None:
    bag = write_synthetic_bag(tmp_path / 'rec', PROFILE, duration_s=2.5, events=EVENTS).path
    out = tmp_path / 'ds'
    convert_bags([bag], PROFILE, out, ConvertOptions(intervention=flag))
    df = _frames(out)
    assert len(df) > 10 and not any(bool(np.asarray(v).reshape(-1)[0])
                                    for v in df[INTERVENTION])
