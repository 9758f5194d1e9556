"""`imitation-ros demo`: the whole loop, small, as the user runs it.

Regressions pinned:
- record (sim + expert + recorder processes over DDS) -> convert -> train -> eval-offline ->
  eval-sim run in order and leave their outputs (bag, dataset + quality report, checkpoint +
  loss plot, offline plot, closed-loop results, summary.json);
- the success rate is counted through sim_node + policy_node processes (their logs show the
  episodes were driven on the graph), beside expert and blind replay on the same seeds;
- a second run reuses what exists (no new bag, no retraining).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_small_loop(node_env: dict[str, str], python: str, tmp_path: Path) -> None:
    out = tmp_path / 'demo'
    cmd = [python, '-m', 'imitation_ros.cli.main', 'demo', '--out', str(out), '--episodes', '3',
           '--steps', '100', '--eval-episodes', '2']
    res = subprocess.run(cmd, env=node_env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['demos'] == 3 and summary['eval_episodes'] == 2
    assert 0.0 <= summary['success_rate'] <= 1.0
    bags = list((out / 'bags').glob('*/metadata.yaml'))
    assert len(bags) == 1
    assert (out / 'dataset' / 'quality' / 'report.png').is_file()
    info = json.loads((out / 'dataset' / 'meta' / 'info.json').read_text())
    assert info['total_episodes'] == 3
    assert (out / 'train' / 'loss.png').is_file()
    assert (out / 'train' / 'eval' / 'actions.png').is_file()
    results = json.loads((out / 'eval_sim.json').read_text())
    assert results['headline'] == 'through_node' == summary['evaluation']
    assert [r['seed'] for r in results['results']] == [10000, 10001]
    assert results['expert']['episodes'] == results['blind_replay']['episodes'] == 2
    assert summary['expert_success_rate'] == results['expert']['success_rate']
    sim_log = (out / 'eval_nodes' / 'sim_node.log').read_text()
    pol_log = (out / 'eval_nodes' / 'policy_node.log').read_text()
    assert 'graph backend' in sim_log and 'graph backend' in pol_log
    assert res.stdout.count('through-node episode') == 2
    assert 'success rate' in res.stdout

    again = subprocess.run(cmd, env=node_env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert '=== record' not in again.stdout and '=== train' not in again.stdout
    assert len(list((out / 'bags').glob('*/metadata.yaml'))) == 1
