"""The review's per-episode metrics and its edit file (issue 22), on hand-made arrays/files."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest

from imitation_ros.data.edits import Edits, edits_path
from imitation_ros.errors import DatasetError
from imitation_ros.review.dataset import (action_state_lag, flags_of, jerk, jumps, robust_z,
                                          stale_frames, static_fraction)

if TYPE_CHECKING:
    from pathlib import Path

FPS = 30.0


def test_lag_finds_the_delay_of_state_behind_action() -> None:
    t = np.arange(120) / FPS
    action = np.stack([np.sin(2 * t), np.cos(3 * t)], 1)
    state = np.roll(action, 4, axis=0)
    state[:4] = action[0]
    assert action_state_lag(action, state, FPS) == pytest.approx(4 / FPS)
    assert action_state_lag(action, np.zeros_like(action), FPS) is None   # state never moves


def test_static_fraction_jerk_stale_and_jumps() -> None:
    a = np.zeros((31, 2))
    a[:10, 0] = np.linspace(0, 1, 10)        # moves for 9 steps, then holds
    a[10:, 0] = 1.0
    assert static_fraction(a, FPS) == pytest.approx(21 / 30)
    smooth = np.linspace(0, 1, 50)[:, None] ** 2
    rough = smooth + np.where(np.arange(50) % 2, 0.01, -0.01)[:, None]
    assert jerk(rough, FPS) > 100 * jerk(smooth, FPS)
    s = np.array([[0.0], [0.1], [0.1], [0.2], [0.3], [1.3], [1.4]])
    assert stale_frames(s) == [2]
    assert jumps(s) == [5]


def test_robust_z_and_flags() -> None:
    z = robust_z([1.5, 1.5, 1.5, 1.5, 4.5])          # MAD 0: mean absolute deviation
    assert z[:4] == [0.0] * 4 and z[4] > 2.5
    assert robust_z([1.0, 1.0]) == [0.0, 0.0]
    m = {'duration_z': 3.0, 'jerk_z': 0.0, 'static_frac': 0.5, 'dropped_frac': 0.2,
         'camera_lag_s': 0.2, 'stale': 10, 'frames': 20, 'human_frac': 0.1}
    assert flags_of(m) == ['duration', 'static', 'dropouts', 'camera lag', 'stale', 'human']
    quiet = {**m, 'duration_z': 0.1, 'static_frac': 0.0, 'dropped_frac': None,
             'camera_lag_s': None, 'stale': 0, 'human_frac': 0.0}
    assert flags_of(quiet) == []


def test_edit_file_round_trip_history_and_undo(tmp_path: Path) -> None:
    ds = tmp_path / 'data'
    path = edits_path(ds)
    assert path == tmp_path / 'data.edits.json'          # beside the dataset, not inside
    e = Edits.load(path, dataset='data')
    assert e.episodes == {}
    e.set(3, 'discard', True)
    e.set(1, 'trim', [0.5, 2])
    e.set(1, 'task', '  lift it ')
    e.set(1, 'success', False)
    e.save(path)
    back = Edits.load(path)
    assert back.episodes == {3: {'discard': True},
                             1: {'trim': [0.5, 2.0], 'task': 'lift it', 'success': False}}
    assert back.discarded() == [3]
    assert [h['field'] for h in back.history] == ['discard', 'trim', 'task', 'success']
    assert back.undo()['field'] == 'success'
    assert back.undo()['field'] == 'task'
    assert back.episodes[1] == {'trim': [0.5, 2.0]}
    back.set(3, 'discard', None)                           # clearing a mark removes it
    assert 3 not in back.episodes


@pytest.mark.parametrize(('field', 'value', 'why'), [
    ('discard', 'yes', 'true or false'), ('trim', [2.0, 1.0], 'in_s < out_s'),
    ('trim', [0.5], 'in_s, out_s'), ('task', '  ', 'non-empty'), ('colour', 1, 'unknown field'),
])
def test_bad_marks_are_refused(field: str, value: object, why: str) -> None:
    with pytest.raises(DatasetError, match=why):
        Edits('d').set(0, field, value)


def test_bad_edit_file_names_file_and_problem(tmp_path: Path) -> None:
    path = tmp_path / 'd.edits.json'
    path.write_text('{not json')
    with pytest.raises(DatasetError, match=r'd\.edits\.json: not a readable edit file'):
        Edits.load(path)
    path.write_text(json.dumps({'episodes': {'x': {'discard': True}}}))
    with pytest.raises(DatasetError, match="episode key 'x'"):
        Edits.load(path)
    path.write_text(json.dumps({'episodes': {'2': {'trim': [3, 1]}}}))
    with pytest.raises(DatasetError, match=r'd\.edits\.json: episode 2: trim'):
        Edits.load(path)
