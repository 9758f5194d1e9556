"""Bags written by our recorder core (``record.RecordingSession``) convert as recorded.

A session records four episodes into one bag (success, failed, discarded, success), with
data before, between and after them, as the recorder node would; messages are synthetic
CDR whose joint value is the header time in seconds since the session start.

Regressions pinned:
- episodes come from the recorder's /episode_events; the failed and the discarded episode
  are left out by default and kept (and flagged) with keep_failed;
- every frame's state/action equals the newest message stamped at or before the tick;
- task text per episode comes from the recorder;
- a recorder bag that was never closed (custom_data imitation_ros.closed: 'false') is
  refused with a message that says how to repair it.
"""
from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import numpy as np
import pytest

from imitation_ros.data.convert import ConvertOptions, convert_bags
from imitation_ros.errors import BagError
from imitation_ros.profile import profile_from_dict

if TYPE_CHECKING:
    from pathlib import Path

from imitation_ros import record  # noqa: E402
from imitation_ros.record import synthetic  # noqa: E402

NS = 1_000_000_000
T0 = 1_750_000_000 * NS
NAMES = ('a', 'b', 'c')
PROFILE = profile_from_dict({
    'name': 'rec', 'fps': 10, 'task': 'default task',
    'joints': {'names': list(NAMES), 'lower_rad': [-1e6] * 3, 'upper_rad': [1e6] * 3},
    'state': {'topic': '/joint_states', 'max_age_s': 0.05},
    'action': {'topic': '/leader/joint_states', 'max_age_s': 0.05},
    'cameras': {'front': {'topic': '/camera/image_raw', 'height': 32, 'width': 48}},
})
# (start s, stop s, how it ends, task)
PLAN = [(0.5, 1.5, 'success', 'first'), (2.0, 2.6, 'failed', 'second'),
        (3.0, 3.5, 'discard', 'third'), (4.0, 4.9, 'success', 'fourth')]


def _record(tmp_path: Path, *, close: bool = True) -> Path:
    cfg = record.RecorderConfig(output_dir=str(tmp_path / 'bags'), min_episode_frames=2,
                                min_free_disk_mb=0.0, preroll_s=0.2)
    session = record.RecordingSession(cfg, PROFILE)
    bag = session.open(T0)
    events = sorted([(s, 'start', task) for s, _, _, task in PLAN]
                    + [(e, how, task) for _, e, how, task in PLAN])
    ev = 0
    for k in range(0, 5500):                      # 1 kHz clock, 5.5 s
        t_s = k / 1000
        t = T0 + k * 1_000_000
        if k % 5 == 0:                            # state 200 Hz
            session.on_message('/joint_states', t + 300_000,
                               synthetic.joint_state_cdr(t, list(NAMES)[::-1], t_s))
        if k % 10 == 3:                           # action 100 Hz
            session.on_message('/leader/joint_states', t + 200_000,
                               synthetic.joint_state_cdr(t, NAMES, -t_s))
        if k % 33 == 0:                           # camera ~30 Hz
            session.on_message('/camera/image_raw', t + 1_000_000,
                               synthetic.image_cdr(t, 32, 48))
        while ev < len(events) and events[ev][0] <= t_s:   # after this ms's messages
            _, what, task = events[ev]
            if what == 'start':
                session.start_episode(t, task=task)
            elif what == 'discard':
                session.discard_episode(t)
            else:
                session.stop_episode(t, success=what == 'success')
            ev += 1
    if close:
        session.close(T0 + 5500 * 1_000_000)
    return bag


def test_recorder_bag_converts_episode_by_episode(tmp_path: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    bag = _record(tmp_path)
    out = tmp_path / 'ds'
    summary = convert_bags([bag], PROFILE, out, ConvertOptions())
    assert not summary.failed and summary.episodes == 2
    ds = LeRobotDataset('local/ds', root=out)
    rows = json.loads((out / 'quality' / 'report.json').read_text())['episodes']
    assert [(r['status'], r['kept'], r['task']) for r in rows] == [
        ('success', True, 'first'), ('failed', False, 'second'),
        ('discarded', False, 'third'), ('success', True, 'fourth')]
    state = np.stack(ds.hf_dataset['observation.state'])
    action = np.stack(ds.hf_dataset['action'])
    index = np.array(ds.hf_dataset['frame_index'])
    eps = np.array(ds.hf_dataset['episode_index'])
    for e, (start, _, _, task) in enumerate([PLAN[0], PLAN[3]]):
        sel = eps == e
        tick_ms = round(start * 1000) + 100 * index[sel]     # episode start + k / fps
        assert ds[int(np.argmax(sel))]['task'] == task
        # newest state at or before the tick: stamped every 5 ms; action every 10 ms at +3 ms
        exp_state = (tick_ms // 5) * 5 / 1000
        exp_action = -(((tick_ms - 3) // 10) * 10 + 3) / 1000
        np.testing.assert_allclose(state[sel], np.repeat(exp_state[:, None], 3, 1), atol=1e-6)
        np.testing.assert_allclose(action[sel], np.repeat(exp_action[:, None], 3, 1),
                                   atol=1e-6)
        assert sel.sum() == round((PLAN[0 if e == 0 else 3][1] - start) * 10) + 1

    kept = convert_bags([bag], PROFILE, tmp_path / 'all', ConvertOptions(keep_failed=True))
    assert kept.episodes == 4


def test_unclosed_recorder_bag_is_refused(tmp_path: Path) -> None:
    bag = _record(tmp_path, close=False)
    copy = tmp_path / 'copy'
    shutil.copytree(bag, copy)
    summary_err = None
    try:
        convert_bags([copy], PROFILE, tmp_path / 'ds', ConvertOptions())
    except Exception as err:  # noqa: BLE001 - asserted below
        summary_err = err
    assert summary_err is not None and 'bag recover' in str(summary_err)
    from imitation_ros.data.bags import resolve_bag

    with pytest.raises(BagError, match=r'never closed.*imitation-ros bag recover'):
        resolve_bag(copy)
