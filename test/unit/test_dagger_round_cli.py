"""``imitation-ros dagger-round`` on synthetic bags: converts with the intervention feature,
aggregates with the previous round, trains, writes the per-round report and plot."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import yaml

from imitation_ros.cli.main import main
from imitation_ros.data.synthetic import write_synthetic_bag
from imitation_ros.profile import profile_from_dict

if TYPE_CHECKING:
    from pathlib import Path

PROFILE = {
    'name': 'synthetic', 'fps': 10.0, 'task': 'synthetic task',
    'joints': {'names': ['j_a', 'j_b', 'j_c'], 'lower_rad': [-9.0] * 3, 'upper_rad': [9.0] * 3},
    'state': {'topic': '/joint_states', 'max_age_s': 0.1},
    'action': {'topic': '/leader/joint_states', 'max_age_s': 0.1},
    'extra_topics': [{'topic': '/intervention_events',
                      'type': 'imitation_ros/msg/InterventionEvent'}],
}
EVENTS = [(0.10, 0, 0, False, 'pick', ''), (1.90, 1, 0, True, '', '')]


def test_dagger_round_report(tmp_path: Path) -> None:
    prof_path = tmp_path / 'profile.yaml'
    prof_path.write_text(yaml.safe_dump(PROFILE))
    prof = profile_from_dict(PROFILE)
    b0 = write_synthetic_bag(tmp_path / 'b0', prof, duration_s=2.0, events=EVENTS).path
    b1 = write_synthetic_bag(tmp_path / 'b1', prof, duration_s=2.0, events=EVENTS,
                             interventions=[(0.5, True, 0, 'joy'), (1.0, False, 0, 'joy')]).path
    common = ['--profile', str(prof_path), '--steps', '10', '--eval-sim', '0']
    assert main(['dagger-round', str(b0), '--out', str(tmp_path / 'r0'), *common]) == 0
    assert main(['dagger-round', str(b1), '--out', str(tmp_path / 'r1'),
                 '--previous', str(tmp_path / 'r0'), *common]) == 0
    rows = json.loads((tmp_path / 'r1' / 'report.json').read_text())['rounds']
    assert [r['round'] for r in rows] == ['r0', 'r1']
    assert rows[0]['expert_frames_added'] == 0
    assert rows[1]['expert_frames_added'] == 5          # 0.5 .. 1.0 s at 10 fps
    assert rows[1]['frames_total'] == rows[0]['frames_total'] + rows[1]['frames_added']
    assert (tmp_path / 'r1' / 'rounds.png').is_file()
    assert (tmp_path / 'r1' / 'train').is_dir()
    # round 2 after rounds 0 and 1: each earlier round adds its own frames once (not its
    # aggregate), and --policy-weight weighs the frames the policy drove in the loss
    b2 = write_synthetic_bag(tmp_path / 'b2', prof, duration_s=2.0, events=EVENTS,
                             interventions=[(0.2, True, 0, 'joy'), (0.8, False, 0, 'joy')]).path
    assert main(['dagger-round', str(b2), '--out', str(tmp_path / 'r2'), '--previous',
                 str(tmp_path / 'r0'), str(tmp_path / 'r1'), '--policy-weight', '0.25',
                 *common]) == 0
    rows = json.loads((tmp_path / 'r2' / 'report.json').read_text())['rounds']
    assert [r['round'] for r in rows] == ['r0', 'r1', 'r2']
    assert rows[2]['frames_total'] == sum(r['frames_added'] for r in rows)
    assert rows[2]['expert_frames_added'] == 6          # 0.2 .. 0.8 s at 10 fps
    import numpy as np

    from imitation_ros.cli.dagger import _flags
    from imitation_ros.data.writer import INTERVENTION

    w = np.load(tmp_path / 'r2' / 'frame_weights.npy')
    flags = _flags(tmp_path / 'r2' / 'dataset', INTERVENTION)
    assert len(w) == len(flags) == rows[2]['frames_total']
    n0 = rows[0]['frames_added']                # round 0: no gate (demos): all weigh 1
    assert not rows[0]['gated'] and rows[1]['gated'] and rows[2]['gated']
    assert np.all(w[:n0] == 1.0) and not flags[:n0].any()
    assert np.array_equal(w[n0:], np.where(flags[n0:], 1.0, 0.25).astype(np.float32))
    assert flags.sum() == 5 + 6
    run = json.loads((tmp_path / 'r2' / 'train' / 'checkpoints' / 'last' / 'pretrained_model'
                      / 'imitation_ros_train.json').read_text())
    assert run['train']['frame_weights'] == str(tmp_path / 'r2' / 'frame_weights.npy')
