"""`imitation-ros demo`: the whole loop, as the user runs it, and the policy it makes learns.

Regressions pinned:
- record (sim + expert + recorder processes over DDS) -> convert -> train -> eval-offline ->
  eval-sim run in order and leave their outputs (bag, dataset + quality report, checkpoint +
  loss plot, offline plot, closed-loop results, summary.json);
- the success rate is counted through sim_node + policy_node processes (their logs show the
  episodes were driven on the graph), beside expert and blind replay on the same seeds;
- the headline can fail: on ``lift_cube_wide`` (the demo's default task: the cube anywhere in
  12 x 12 cm) the image BC policy, counted through the nodes on held-out seeds 10000..10009,
  succeeds on at least 6 of 10 *and* on at least 5 more than blind replay of the demos' mean
  actions on the same seeds; the expert on at least 9. Blind replay lifts the cube on ~0-3 %
  of seeds and BC on joint state only on ~20 % (docs/sim.md), so a policy that ignores the
  camera cannot pass (P(>= 6/10) ~ 0.6 % at 20 %);
- a second run reuses what exists (no new bag, no retraining).

Settings: the demo's defaults for the data and training (30 demos, image BC 600 steps), 10
evaluation episodes instead of 20. Measured earlier with these defaults through the nodes
(README, docs/sim.md): 18/20, 17/20, 18/20 (blind replay 0/20, expert 20/20); training seeds
0, 1, 2 on one recording 20, 14, 20 /20. At a per-episode rate of 85 % the chance of fewer
than 6/10 is ~1 %; at 70 % (the worst training seed) ~15 %. The second run evaluates one
episode in-process: it checks reuse, not learning.

Time: from the README's step times on the shared 2-core machine (record 81 s, convert 18 s,
train 70 s, eval-offline 7 s, 207 s for 20 episodes through the nodes) ~5 minutes, plus the
second run. Recording and evaluation run in real time, so they need a machine that keeps the
sim in real time. Seen on 2026-12-08: on a quiet machine it passed twice (once in a
fresh-clone CI run, 342 s; once alone, 358 s: 8/10 through the nodes, blind replay 0/10,
expert 10/10, 2096 frames recorded, 0 dropped). Mutation check: with the camera zeroed at
deploy (``PolicyRunner._obs_tensors``) it fails, 0/10 through the nodes. Under load it fails:
beside real-time-priority jobs the recording dropped 3307 frames beside 2384 kept (0/10), and
at load average 5-10 a healthy recording gave 2/10; the failure message prints the
recording's kept and dropped frames.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from imitation_ros.stats import Rate

pytestmark = pytest.mark.e2e


DEMOS = 30          # the demo's default
STEPS = 600         # the demo's default for image BC
N_EVAL = 10         # the demo's default is 20


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_demo_loop_learns_the_wide_task(node_env: dict[str, str], python: str,
                                        tmp_path: Path) -> None:
    out = tmp_path / 'demo'
    cmd = [python, '-m', 'imitation_ros.cli.main', 'demo', '--out', str(out), '--episodes',
           str(DEMOS), '--steps', str(STEPS), '--eval-episodes', str(N_EVAL)]
    res = subprocess.run(cmd, env=node_env, capture_output=True, text=True, timeout=1700)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['demos'] == DEMOS and summary['eval_episodes'] == N_EVAL
    assert summary['task'] == 'lift_cube_wide' and summary['inputs'] == 'state + camera'
    bags = list((out / 'bags').glob('*/metadata.yaml'))
    assert len(bags) == 1
    assert (out / 'dataset' / 'quality' / 'report.png').is_file()
    info = json.loads((out / 'dataset' / 'meta' / 'info.json').read_text())
    assert info['total_episodes'] == DEMOS
    assert (out / 'train' / 'loss.png').is_file()
    assert (out / 'train' / 'eval' / 'actions.png').is_file()
    results = json.loads((out / 'eval_sim.json').read_text())
    assert results['headline'] == 'through_node' == summary['evaluation']
    assert [r['seed'] for r in results['results']] == list(range(10_000, 10_000 + N_EVAL))
    assert results['expert']['episodes'] == results['blind_replay']['episodes'] == N_EVAL
    assert summary['expert_success_rate'] == results['expert']['success_rate']
    sim_log = (out / 'eval_nodes' / 'sim_node.log').read_text()
    pol_log = (out / 'eval_nodes' / 'policy_node.log').read_text()
    assert 'graph backend' in sim_log and 'graph backend' in pol_log
    assert res.stdout.count('through-node episode') == N_EVAL
    assert 'success rate' in res.stdout

    quality = json.loads((out / 'dataset' / 'quality' / 'report.json').read_text())['summary']
    ok, blind = results['successes'], results['blind_replay']['successes']
    expert = results['expert']['successes']
    assert summary['success_rate'] == results['success_rate'] == ok / N_EVAL
    msg = (f'seeds 10000..{10_000 + N_EVAL - 1}: through the nodes {Rate(ok, N_EVAL)}, blind '
           f'replay {Rate(blind, N_EVAL)}, expert {Rate(expert, N_EVAL)}; recording: '
           f'{quality["frames"]} frames kept, {quality["dropped_frames"]} dropped; steps: '
           f'{summary["steps"]}')
    print(msg)
    assert expert >= N_EVAL - 1, msg
    assert ok >= 6, msg
    assert ok >= blind + 5, msg

    # Reuse: the bag and the checkpoint are not made again (1 in-process episode: cheap).
    again = subprocess.run([*cmd[:-1], '1', '--eval', 'in-process'], env=node_env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert '=== record' not in again.stdout and '=== train' not in again.stdout
    assert '=== eval-sim' in again.stdout
    assert len(list((out / 'bags').glob('*/metadata.yaml'))) == 1
