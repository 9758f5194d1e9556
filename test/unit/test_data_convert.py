"""convert_bags writes a LeRobotDataset that lerobot reopens, with the expected values.

Regressions pinned:
- the dataset loads with ``LeRobotDataset(repo_id, root=...)``; it has observation.state,
  action, one video per camera, the task text per episode and statistics;
- state and action in the dataset equal the aligned values frame by frame; video frames
  show the colour of the camera message the alignment chose (within codec error);
- failed / discarded episodes are left out by default and kept with keep_failed, flagged in
  quality/report.json (status, kept, dataset_episode); report.png is written;
- a re-run with the same bags rewrites nothing; a new bag is converted alone and appended;
  a changed setting (fps) reconverts;
- lerobot's streaming encoder path (no PNG frames) writes every frame, none dropped.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest

from imitation_ros.data.align import align_bag, stream_span
from imitation_ros.data.bags import scan_bag
from imitation_ros.data.convert import ConvertOptions, convert_bags
from imitation_ros.data.episodes import cut_episodes
from imitation_ros.data.synthetic import (
    SynthStream,
    image_colour,
    synthetic_profile,
    write_synthetic_bag,
)
from imitation_ros.frames import FrameAssembler
from imitation_ros.profile.keys import ACTION, OBS_STATE, image_key

if TYPE_CHECKING:
    from pathlib import Path

PROFILE = synthetic_profile(fps=10.0, size=(32, 48), camera_max_age_s=0.1)
EVENTS = [
    (0.10, 0, 0, False, 'pick red', ''),
    (0.95, 1, 0, True, '', ''),
    (1.00, 0, 1, False, 'pick blue', ''),
    (1.45, 1, 1, False, '', 'slipped'),
    (1.50, 0, 2, False, 'pick green', ''),
    (1.95, 1, 2, True, '', ''),
]
STREAMS = {'/wrist/image_raw/compressed': SynthStream(rate_hz=30.0, encoding='png'),
           '/front/image_raw': SynthStream(rate_hz=30.0, encoding='bgr8', lag_s=0.01)}


@pytest.fixture(scope='module')
def bags(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp('bags')
    return [write_synthetic_bag(root / f'rec{i}', PROFILE, duration_s=2.0, events=EVENTS,
                                streams=STREAMS, storage='mcap' if i != 1 else 'sqlite3',
                                seed=i).path for i in range(3)]


def _load(root: Path):  # noqa: ANN202
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(f'local/{root.name}', root=root)


def _aligned(bag: Path) -> list:
    asm = FrameAssembler(PROFILE)
    scan = scan_bag(bag, asm)
    eps = cut_episodes(scan.events, None, *stream_span(scan), PROFILE.task)
    return align_bag(scan, asm, eps, PROFILE.fps)


def test_dataset_values_report_and_rerun(tmp_path: Path, bags: list[Path]) -> None:
    out = tmp_path / 'ds'
    summary = convert_bags(bags[:2], PROFILE, out, ConvertOptions())
    assert [b.status for b in summary.bags] == ['converted', 'converted']
    assert summary.episodes == 4                       # 2 successful episodes per bag
    ds = _load(out)
    assert ds.num_episodes == 4
    keys = set(ds.meta.features)
    assert {OBS_STATE, ACTION, image_key('front'), image_key('wrist')} <= keys
    assert ds.meta.features[image_key('front')]['dtype'] == 'video'
    assert set(ds.meta.stats) >= {OBS_STATE, ACTION, image_key('front')}
    expected = [a for bag in bags[:2] for a in _aligned(bag) if a.episode.status == 'success']
    assert ds.num_frames == sum(len(a) for a in expected)
    i = 0
    for ep_index, a in enumerate(expected):
        for f in range(len(a)):
            item = ds[i]
            assert int(item['episode_index']) == ep_index
            assert item['task'] == a.episode.task
            np.testing.assert_array_equal(item[OBS_STATE].numpy(), a.state[f])
            np.testing.assert_array_equal(item[ACTION].numpy(), a.action[f])
            for cam in ('front', 'wrist'):
                want = np.array(image_colour(int(a.cam_index[image_key(cam)][f]))) / 255.0
                got = item[image_key(cam)].numpy().reshape(3, -1).mean(axis=1)
                np.testing.assert_allclose(got, want, atol=0.04, err_msg=f'{cam} frame {i}')
            i += 1

    report = json.loads((out / 'quality' / 'report.json').read_text())
    rows = report['episodes']
    assert [(r['status'], r['kept'], r['dataset_episode']) for r in rows[:3]] == [
        ('success', True, 0), ('failed', False, None), ('success', True, 1)]
    assert rows[1]['reason'] == 'slipped'
    assert report['summary']['frames'] == ds.num_frames
    assert (out / 'quality' / 'report.png').stat().st_size > 1000
    info_mtime = (out / 'meta' / 'info.json').stat().st_mtime_ns

    again = convert_bags(bags[:2], PROFILE, out, ConvertOptions())
    assert again.unchanged and [b.status for b in again.bags] == ['cached', 'cached']
    assert (out / 'meta' / 'info.json').stat().st_mtime_ns == info_mtime

    more = convert_bags(bags, PROFILE, out, ConvertOptions())
    assert [b.status for b in more.bags] == ['cached', 'cached', 'converted']
    assert _load(out).num_episodes == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ds']


def test_keep_failed_and_settings_change(tmp_path: Path, bags: list[Path]) -> None:
    out = tmp_path / 'ds'
    summary = convert_bags(bags[:1], PROFILE, out, ConvertOptions(keep_failed=True))
    assert summary.episodes == 3
    ds = _load(out)
    assert ds.num_episodes == 3
    tasks = [ds[int(i)]['task'] for i in ds.meta.episodes['dataset_from_index']]
    assert tasks == ['pick red', 'pick blue', 'pick green']
    rows = json.loads((out / 'quality' / 'report.json').read_text())['episodes']
    assert [(r['status'], r['kept']) for r in rows] == [
        ('success', True), ('failed', True), ('success', True)]
    changed = convert_bags(bags[:1], PROFILE, out, ConvertOptions(keep_failed=True, fps=20.0))
    assert [b.status for b in changed.bags] == ['converted']
    assert _load(out).fps == 20


def test_refuses_foreign_output_folder(tmp_path: Path, bags: list[Path]) -> None:
    from imitation_ros.errors import DatasetError

    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'thesis.txt').write_text('do not delete')
    with pytest.raises(DatasetError, match='not written by imitation-ros convert'):
        convert_bags(bags[:1], PROFILE, tmp_path / 'mine', ConvertOptions())
    assert (tmp_path / 'mine' / 'thesis.txt').is_file()


def test_streaming_encoder_path(tmp_path: Path, bags: list[Path]) -> None:
    out = tmp_path / 'ds'
    summary = convert_bags(bags[2:], PROFILE, out, ConvertOptions(streaming_encoding=True))
    ds = _load(out)
    (a0, _, a2) = _aligned(bags[2])
    assert summary.frames == ds.num_frames == len(a0) + len(a2)
    for i, (a, f) in enumerate([(a0, 0), (a0, len(a0) - 1), (a2, 0), (a2, len(a2) - 1)]):
        idx = f if a is a0 else len(a0) + f
        got = ds[idx][image_key('front')].numpy().reshape(3, -1).mean(axis=1)
        want = np.array(image_colour(int(a.cam_index[image_key('front')][f]))) / 255.0
        np.testing.assert_allclose(got, want, atol=0.04, err_msg=str(i))
