"""``imitation-ros eval-sim --through-node``: the in-process and through-the-graph runs agree on
which seeds they ran and report both, with the baselines, in one JSON.

Regressions pinned:
- eval-sim starts sim_node and policy_node as processes, drives episodes through
  /policy/enable and /sim/reset, and reads successes from /sim/success: one result per seed,
  the seeds of the in-process runs (first_seed ..);
- the JSON carries stop-the-world and faithful runs with controller stats (latency, seams,
  holds) and the top-level keys the demo reads (the faithful run);
- the nodes' logs land in --node-logs (the policy node was enabled by the driver).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from imitation_ros.profile import load_profile
from imitation_ros.resources import config_path

pytestmark = pytest.mark.e2e


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny chunked BC trained on a synthetic dataset with the sim arm's features."""
    from imitation_ros.learn import TrainConfig, train
    from imitation_ros.learn.synthetic import make_synthetic_dataset

    tmp = tmp_path_factory.mktemp('bc')
    profile = load_profile(config_path('sim_arm.yaml'))
    ds = make_synthetic_dataset(tmp / 'ds', profile, n_episodes=3, n_frames=20)
    train(TrainConfig(dataset=ds, policy='bc', output_dir=tmp / 'run', steps=10,
                      val_every=10, save_every=10, device='cpu', progress=False,
                      policy_overrides={'chunk_size': 8, 'n_action_steps': 4}))
    return tmp / 'run'


def test_eval_sim_through_node_and_in_process(checkpoint: Path, node_env: dict[str, str],
                                              python: str, tmp_path: Path) -> None:
    out, logs = tmp_path / 'eval.json', tmp_path / 'nodes'
    res = subprocess.run(
        [python, '-m', 'imitation_ros.cli.main', 'eval-sim', str(checkpoint), '--episodes', '2',
         '--first-seed', '500', '--duration-s', '1.5', '--through-node', '--baselines',
         '--json', str(out), '--node-logs', str(logs)],
        env=node_env, capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    data = json.loads(out.read_text())
    for run in ('stop_the_world', 'faithful', 'through_node', 'expert', 'blind_replay'):
        assert [r['seed'] for r in data[run]['results']] == [500, 501], run
    ctl = data['faithful']['controller']
    assert ctl['ticks'] > 0 and ctl['inferences'] > 0 and 'latency_p99_ms' in ctl
    assert data['stop_the_world']['controller']['latency_p99_ms'] == 0.0
    assert data['success_rate'] == data['faithful']['success_rate']      # what demo reads
    assert 'through_node' in res.stdout and 'success rate' in res.stdout
    assert 'episode=2 seed=501' in res.stdout            # the sim ran the same seeds
    policy_log = (logs / 'policy_node.log').read_text()
    assert 'enabled=True' in policy_log
