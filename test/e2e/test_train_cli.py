"""``imitation-ros train`` and ``eval-offline`` as real processes on a converted-style dataset.

Regressions pinned:
- train exits 0 and leaves loss.png, metrics.jsonl and a lerobot-layout checkpoint;
- ``--resume`` continues to the new step count;
- eval-offline prints per-joint errors and writes eval/metrics.json + eval/actions.png;
- a policy that needs cameras on a state-only dataset exits 1 with the dataset and feature named.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imitation_ros.learn.synthetic import make_synthetic_dataset, shrink_cameras
from imitation_ros.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1')
    return subprocess.run([sys.executable, '-m', 'imitation_ros.cli.main', *args], env=env,
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_train_resume_eval(tmp_path: Path) -> None:
    profile = shrink_cameras(load_profile(ROOT / 'config' / 'sim_arm.yaml'), 24, 32)
    ds = make_synthetic_dataset(tmp_path / 'ds', profile, n_episodes=3, n_frames=20,
                                use_videos=True)
    out = tmp_path / 'run'
    common = ['--dataset', str(ds), '--policy', 'bc', '--output', str(out), '--device', 'cpu',
              '--val-episodes', '2', '--log-every', '5', '--save-every', '10', '--no-progress',
              '--set', 'hidden_dims=[32,32]', '--set', 'cnn_channels=[8,8]']
    first = _cli('train', *common, '--steps', '10')
    assert first.returncode == 0, first.stderr
    assert 'trained bc for 10 steps' in first.stdout
    second = _cli('train', *common, '--steps', '20', '--resume')
    assert second.returncode == 0, second.stderr
    assert 'trained bc for 20 steps' in second.stdout
    assert 'held-out episodes [2]' in second.stdout
    assert (out / 'checkpoints' / 'last').resolve().name == '000020'
    assert (out / 'checkpoints' / 'last' / 'pretrained_model' / 'model.safetensors').is_file()
    assert (out / 'loss.png').is_file() and (out / 'metrics.jsonl').is_file()

    ev = _cli('eval-offline', '--checkpoint', str(out), '--dataset', str(ds), '--device', 'cpu',
              '--no-progress')
    assert ev.returncode == 0, ev.stderr
    for joint in profile.joint_names:
        assert joint in ev.stdout
    metrics = json.loads((out / 'eval' / 'metrics.json').read_text())
    assert metrics['episodes'] == [2] and metrics['n_frames'] == 20
    assert (out / 'eval' / 'actions.png').stat().st_size > 1000


def test_wrong_features_exit_code(tmp_path: Path) -> None:
    profile = dataclasses.replace(load_profile(ROOT / 'config' / 'sim_arm.yaml'), cameras=())
    ds = make_synthetic_dataset(tmp_path / 'state_only', profile, n_episodes=2, n_frames=10,
                                use_videos=False)
    res = _cli('train', '--dataset', str(ds), '--policy', 'act', '--output', str(tmp_path / 'r'),
               '--steps', '1', '--no-progress')
    assert res.returncode == 1
    assert str(ds) in res.stderr and 'observation.images' in res.stderr
    assert 'Traceback' not in res.stderr
