"""import_json: the seed's JSON demonstrations -> LeRobotDataset (same format as bags).

Regressions pinned:
- the file written by the seed's DemoCollector.save (list of episodes with observations,
  actions, timestamps) imports; every row becomes a frame with its exact values;
- fps is inferred from the timestamps when not given; joint names come from a profile when
  the sizes match;
- --resample aligns rows to ticks with the shared StreamBuffer (newest row at or before);
- bad files (ragged lists, missing field, decreasing timestamps) raise DatasetError naming
  the file and the episode, and leave nothing behind.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest

from imitation_ros.data.json_import import import_json
from imitation_ros.errors import DatasetError
from imitation_ros.profile import load_profile
from imitation_ros.profile.keys import ACTION, OBS_STATE
from imitation_ros.resources import config_path

if TYPE_CHECKING:
    from pathlib import Path


def _seed_file(path: Path, rate_hz: float = 20.0) -> list[dict[str, list]]:
    """Write what the seed's DemoCollector.save writes (obs_dim 6 here, action_dim 6)."""
    rng = np.random.default_rng(0)
    data = []
    for n in (12, 15):
        t0 = 1_700_000_000.0 + len(data) * 100
        ts = t0 + np.arange(n) / rate_hz + rng.uniform(-0.002, 0.002, n)
        data.append({'observations': rng.normal(size=(n, 6)).tolist(),
                     'actions': rng.normal(size=(n, 6)).tolist(),
                     'timestamps': ts.tolist()})
    path.write_text(json.dumps(data))
    return data


def test_import_rows_exactly(tmp_path: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    data = _seed_file(tmp_path / 'demos.json')
    profile = load_profile(config_path('so_arm.yaml'))
    res = import_json(tmp_path / 'demos.json', tmp_path / 'ds', fps=None, task='stack',
                      profile=None)
    assert res['fps'] == 20 and res['episodes'] == 2 and res['frames'] == 27
    ds = LeRobotDataset('local/ds', root=tmp_path / 'ds')
    assert ds.num_episodes == 2 and ds.fps == 20
    assert ds.meta.features[OBS_STATE]['names'] == [f'obs_{i}' for i in range(6)]
    obs = np.stack(ds.hf_dataset[OBS_STATE])
    act = np.stack(ds.hf_dataset[ACTION])
    np.testing.assert_array_equal(obs, np.concatenate(
        [np.asarray(e['observations'], np.float32) for e in data]))
    np.testing.assert_array_equal(act, np.concatenate(
        [np.asarray(e['actions'], np.float32) for e in data]))
    assert ds[0]['task'] == 'stack'
    assert (tmp_path / 'ds' / 'quality' / 'report.json').is_file()

    named = import_json(tmp_path / 'demos.json', tmp_path / 'named', profile=profile)
    assert named['fps'] == 30                           # the profile's fps wins over inference
    ds2 = LeRobotDataset('local/named', root=tmp_path / 'named')
    assert ds2.meta.features[ACTION]['names'] == list(profile.joint_names)


def test_resample_uses_newest_row_at_or_before(tmp_path: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    ts = [0.0, 0.1, 0.2, 0.5, 0.6]                      # 0.3 and 0.4 missing
    obs = [[float(i)] * 2 for i in range(5)]
    (tmp_path / 'd.json').write_text(json.dumps(
        [{'observations': obs, 'actions': obs, 'timestamps': ts}]))
    res = import_json(tmp_path / 'd.json', tmp_path / 'ds', fps=20, resample=True,
                      max_age_s=0.06)
    ds = LeRobotDataset('local/ds', root=tmp_path / 'ds')
    # ticks every 50 ms from 0 to 0.6: rows 0,0,1,1,2,2,-,-,-,-,3,3,4 (0.30..0.45 too old)
    assert np.stack(ds.hf_dataset[OBS_STATE])[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4]
    assert res['dropped'] == 4


@pytest.mark.parametrize(('doc', 'match'), [
    ([{'observations': [[1, 2]], 'actions': [[1]]}], r"episode 0: missing field\(s\) "
                                                     r"\['timestamps'\]"),
    ([{'observations': [[1, 2], [1]], 'actions': [[1], [1]], 'timestamps': [0, 1]}],
     'episode 0: observations'),
    ([{'observations': [[1]], 'actions': [[1]], 'timestamps': [0]},
      {'observations': [[1], [2]], 'actions': [[1], [2]], 'timestamps': [1, 0]}],
     'episode 1: timestamps decrease'),
    ({'observations': []}, 'expected a non-empty list of episodes'),
])
def test_bad_json(tmp_path: Path, doc: object, match: str) -> None:
    (tmp_path / 'bad.json').write_text(json.dumps(doc))
    with pytest.raises(DatasetError, match=match) as err:
        import_json(tmp_path / 'bad.json', tmp_path / 'ds', fps=10)
    assert 'bad.json' in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bad.json']
