"""``imitation-ros convert`` and ``imitation-ros import-json`` run as real processes.

Regressions pinned:
- a ros2-bag-record bag, a recorder-style bag with episode events and a truncated bag go in
  with --jobs 2: exit code 1, stderr names the broken bag, the dataset holds the good bags'
  episodes and lerobot opens it; a tqdm progress bar is drawn;
- a re-run converts nothing and leaves the dataset as it is;
- import-json writes a dataset from the seed's JSON format.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imitation_ros.data.synthetic import synthetic_profile, write_synthetic_bag

pytestmark = pytest.mark.e2e

EXE = Path(sys.executable).parent / 'imitation-ros'
ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, '-m', 'imitation_ros.cli.main']
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env=env, check=False)


def test_convert_cli_mixed_bags(tmp_path: Path, realbags: Path) -> None:
    import yaml

    profile_file = ROOT / 'config' / 'so_arm.yaml'
    prof = yaml.safe_load(profile_file.read_text())
    from imitation_ros.profile import load_profile

    profile = load_profile(profile_file)
    rec = write_synthetic_bag(tmp_path / 'session', profile, duration_s=3.0, events=[
        (0.2, 0, 0, False, 'wave', ''), (1.2, 1, 0, True, '', ''),
        (1.5, 0, 1, False, 'wave', ''), (2.5, 1, 1, False, '', 'missed')]).path
    broken = tmp_path / 'broken'
    shutil.copytree(realbags / 'arm_sqlite3', broken)
    db = next(broken.glob('*.db3'))
    db.chmod(0o644)
    with db.open('r+b') as fh:
        fh.truncate(db.stat().st_size // 3)
    out = tmp_path / 'dataset'
    args = ['convert', str(realbags / 'arm_mcap'), str(rec), str(broken), '--profile',
            str(profile_file), '--out', str(out), '--jobs', '2']
    res = _run(*args)
    assert res.returncode == 1, res.stderr[-3000:]
    assert str(broken) in res.stderr and 'FAILED' in res.stderr
    assert 'convert: 100%' in res.stderr                      # tqdm bar
    assert f'{out}: written; 2 episode(s)' in res.stdout, res.stdout
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    ds = LeRobotDataset('local/dataset', root=out)
    assert ds.num_episodes == 2 and ds.fps == prof['fps']
    report = json.loads((out / 'quality' / 'report.json').read_text())
    assert [e['status'] for e in report['episodes']] == ['unlabelled', 'success', 'failed']
    assert report['failed_bags'][0]['bag'] == str(broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['broken', 'dataset', 'session']

    again = _run(*args)
    assert again.returncode == 1 and 'unchanged' in again.stdout, again.stdout


def test_import_json_cli(tmp_path: Path) -> None:
    doc = [{'observations': [[0.1 * i] * 4 for i in range(12)],
            'actions': [[0.2 * i] * 2 for i in range(12)],
            'timestamps': [100 + i / 15 for i in range(12)]}]
    (tmp_path / 'demos.json').write_text(json.dumps(doc))
    res = _run('import-json', str(tmp_path / 'demos.json'), '--out', str(tmp_path / 'ds'),
               '--task', 'push')
    assert res.returncode == 0, res.stderr[-3000:]
    assert '1 episode(s), 12 frames at 15 fps' in res.stdout
    bad = _run('import-json', str(tmp_path / 'missing.json'), '--out', str(tmp_path / 'x'))
    assert bad.returncode == 1 and 'missing.json: cannot read' in bad.stderr


def test_convert_cli_synthetic_profile_missing_topic(tmp_path: Path) -> None:
    prof = synthetic_profile(cameras={})
    bag = write_synthetic_bag(tmp_path / 'b', prof, duration_s=1.0).path
    res = _run('convert', str(bag), '--profile', 'so_arm', '--out', str(tmp_path / 'ds'))
    assert res.returncode == 1
    assert f"{bag}: topic '/camera/color/image_raw' is not in the bag" in res.stderr
    assert not (tmp_path / 'ds').exists() and sorted(p.name for p in tmp_path.iterdir()) == ['b']


def test_lerobot_train_accepts_converted_dataset(tmp_path: Path, realbags: Path) -> None:
    """lerobot's own trainer (``lerobot-train``) runs on a converted dataset."""
    out = tmp_path / 'ds'
    res = _run('convert', str(realbags / 'arm_sqlite3'), '--profile', 'so_arm', '--out',
               str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    train = Path(sys.executable).parent / 'lerobot-train'
    if not train.exists():
        pytest.fail(f'{train} missing: lerobot is installed without its console scripts')
    run = subprocess.run(
        [str(train), '--dataset.repo_id=local/ds', f'--dataset.root={out}', '--policy.type=act',
         '--policy.pretrained_backbone_weights=null', '--policy.dim_model=64',
         '--policy.chunk_size=10', '--policy.n_action_steps=10', '--steps=2',
         '--batch_size=2', '--policy.push_to_hub=false', f'--output_dir={tmp_path / "train"}',
         '--policy.device=cpu', '--wandb.enable=false', '--num_workers=0',
         '--save_checkpoint=false'],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert 'End of training' in run.stdout + run.stderr
