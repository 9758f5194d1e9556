"""Bad bags: a clear BagError naming the bag and the problem; other bags still convert.

Regressions pinned:
- a truncated mcap / sqlite3 file, garbled bytes, a bag without metadata.yaml (not closed),
  a missing topic, a topic of the wrong type and unknown joint names each raise BagError
  whose message names the bag directory and the problem;
- ``convert_bags`` converts the good bags, lists the bad ones as failed and leaves no
  temporary folder behind; when every bag fails, nothing at all is left behind.
"""
from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from imitation_ros.data.bags import scan_bag
from imitation_ros.data.convert import ConvertOptions, convert_bags
from imitation_ros.data.synthetic import synthetic_profile, write_synthetic_bag
from imitation_ros.errors import BagError, DatasetError
from imitation_ros.frames import FrameAssembler
from imitation_ros.profile import profile_from_dict

if TYPE_CHECKING:
    from pathlib import Path

PROFILE = synthetic_profile(fps=10.0, cameras={})


@pytest.fixture(scope='module')
def good_bags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp('good')
    return {s: write_synthetic_bag(root / s, PROFILE, duration_s=1.0, storage=s).path
            for s in ('mcap', 'sqlite3')}


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _data_file(bag: Path) -> Path:
    return next(p for p in bag.iterdir() if p.suffix in ('.mcap', '.db3'))


def _scan(bag: Path, profile=PROFILE) -> None:  # noqa: ANN001
    scan_bag(bag, FrameAssembler(profile))


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_truncated_bag(tmp_path: Path, good_bags: dict[str, Path], storage: str) -> None:
    bag = _copy(good_bags[storage], tmp_path / 'cut')
    data = _data_file(bag)
    size = data.stat().st_size
    with data.open('r+b') as fh:
        fh.truncate(size // 2)
    with pytest.raises(BagError) as err:
        _scan(bag)
    assert str(bag) in str(err.value)


def test_garbled_mcap(tmp_path: Path, good_bags: dict[str, Path]) -> None:
    bag = _copy(good_bags['mcap'], tmp_path / 'garbled')
    data = _data_file(bag)
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 3: len(raw) // 3 + 4096] = b'\xa5' * 4096
    data.write_bytes(bytes(raw))
    with pytest.raises(BagError, match=str(bag)):
        _scan(bag)


def test_unclosed_bag_without_metadata(tmp_path: Path, good_bags: dict[str, Path]) -> None:
    bag = _copy(good_bags['mcap'], tmp_path / 'unclosed')
    (bag / 'metadata.yaml').unlink()
    with pytest.raises(BagError, match=r'unclosed.*no metadata.yaml.*not closed.*bag recover'):
        _scan(bag)


def test_not_a_bag(tmp_path: Path) -> None:
    with pytest.raises(BagError, match='no such directory'):
        _scan(tmp_path / 'nope')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(BagError, match='not a rosbag2 bag'):
        _scan(tmp_path / 'empty')


def test_missing_topic_names_bag_topic_and_key(good_bags: dict[str, Path]) -> None:
    prof = synthetic_profile(fps=10.0, cameras={'top': ('/top/image_raw',
                                                       'sensor_msgs/msg/Image')})
    with pytest.raises(BagError, match=r"sqlite3: topic '/top/image_raw' is not in the bag .*"
                                       r"observation.images.top"):
        _scan(good_bags['sqlite3'], prof)


def test_wrong_type(good_bags: dict[str, Path]) -> None:
    prof = synthetic_profile(fps=10.0, cameras={}, action_type='std_msgs/msg/Float64MultiArray')
    with pytest.raises(BagError, match=r"'/leader/joint_states' has type sensor_msgs/msg/Joint"):
        _scan(good_bags['mcap'], prof)


def test_unknown_joint_names(good_bags: dict[str, Path]) -> None:
    data = {
        'name': 'x', 'fps': 10,
        'joints': {'names': ['j_a', 'shoulder'], 'lower_rad': [-1, -1], 'upper_rad': [1, 1]},
        'state': {'topic': '/joint_states'}, 'action': {'topic': '/leader/joint_states'},
    }
    with pytest.raises(BagError, match=r"mcap: topic '/joint_states': joint\(s\) \['shoulder'\]"):
        _scan(good_bags['mcap'], profile_from_dict(data))


def test_other_bags_still_convert_and_nothing_half_written(
    tmp_path: Path, good_bags: dict[str, Path],
) -> None:
    bad = _copy(good_bags['mcap'], tmp_path / 'bags' / 'bad')
    with _data_file(bad).open('r+b') as fh:
        fh.truncate(200)
    gone = tmp_path / 'bags' / 'gone'
    out = tmp_path / 'out' / 'ds'
    seen = []
    summary = convert_bags([good_bags['mcap'], bad, gone, good_bags['sqlite3']], PROFILE, out,
                           ConvertOptions(), progress=seen.append)
    assert [b.status for b in summary.bags] == ['converted', 'failed', 'failed', 'converted']
    assert str(bad) in summary.bags[1].error and str(gone) in summary.bags[2].error
    assert len(seen) == 4 and summary.episodes == 2
    assert sorted(p.name for p in out.parent.iterdir()) == ['ds']
    assert not list(out.rglob('*.tmp-*'))

    out2 = tmp_path / 'out2' / 'ds'
    with pytest.raises(DatasetError, match='no bag could be converted'):
        convert_bags([bad, gone], PROFILE, out2, ConvertOptions())
    assert not out2.parent.exists() or not any(out2.parent.iterdir())
