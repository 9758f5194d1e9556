"""Checkpoints are chosen on validation seeds only (imitation_ros.sim.selection)."""
from __future__ import annotations

import pytest

from imitation_ros.sim.selection import check_disjoint, choose_by_validation, choose_key
from imitation_ros.sim.task_eval import held_out_seeds, validation_seeds

VAL = validation_seeds(20)
TEST = held_out_seeds(50)


def _row(policy: str, step: int, successes: int, n: int = 20, split: str = 'validation',
         seeds: range = VAL) -> dict:
    return {'policy': policy, 'step': step, 'successes': successes, 'n': n, 'split': split,
            'seeds': [seeds.start, seeds.stop], 'checkpoint': f'{policy}/{step}'}


def test_seed_ranges_are_disjoint() -> None:
    """The bench's validation and test seeds share none; overlapping ranges are refused."""
    check_disjoint(VAL, TEST)
    with pytest.raises(ValueError, match='also reported on'):
        check_disjoint(held_out_seeds(20), TEST)


def test_choose_best_validation_per_policy_ties_to_earlier_step() -> None:
    """Highest validation rate per policy; a tie goes to the less-trained checkpoint."""
    rows = [_row('act', 100, 12), _row('act', 200, 18), _row('act', 300, 18),
            _row('act', 400, 15), _row('bc', 600, 20), _row('bc', 300, 20),
            _row('bc_state', 500, 3, n=10), _row('bc_state', 1000, 5, n=20)]
    chosen = choose_by_validation(rows, TEST)
    assert {k: r['step'] for k, r in chosen.items()} == {'act': 200, 'bc': 300,
                                                         'bc_state': 500}


def test_refuses_test_rows_and_test_seeds() -> None:
    """Selecting on test rows, or on rows whose seeds are the test seeds, raises."""
    with pytest.raises(ValueError, match='choose only on validation'):
        choose_by_validation([_row('act', 100, 10), _row('act', 200, 20, split='test')], TEST)
    # Labelled validation but evaluated on the test seeds: still refused.
    with pytest.raises(ValueError, match='also reported on'):
        choose_by_validation([_row('act', 100, 10, seeds=held_out_seeds(20))], TEST)


def test_choose_key_prefers_first_on_ties() -> None:
    """Among candidates listed cheapest first, a tie keeps the cheapest."""
    assert choose_key({200: (5, 10), 400: (9, 10), 800: (9, 10)}) == 400
    with pytest.raises(ValueError, match='nothing'):
        choose_key({})


def test_published_vision_results_follow_the_protocol() -> None:
    """docs/vision_results.json: each reported checkpoint is the one its validation rows choose,
    validation and test seeds are disjoint, and every rate carries its Wilson interval."""
    import json
    from pathlib import Path

    from imitation_ros.stats import Rate

    result = json.loads((Path(__file__).resolve().parents[2] / 'docs' /
                         'vision_results.json').read_text())
    test_seeds = range(*result['test_seeds'])
    check_disjoint(range(*result['validation_seeds']), test_seeds)
    rows = result['rows']
    tests = {r['policy']: r for r in rows if r['split'] == 'test' and 'step' in r}
    assert tests, 'no reported policy rows'
    chosen = choose_by_validation(
        [r for r in rows if r['split'] == 'validation' and 'step' in r], test_seeds)
    assert {p: r['step'] for p, r in tests.items()} == {p: chosen[p]['step'] for p in tests}
    for r in rows:
        assert list(r['seeds']) == (result['test_seeds'] if r['split'] == 'test'
                                    else result['validation_seeds'])
        assert r['n'] == r['seeds'][1] - r['seeds'][0]
        assert Rate(r['successes'], r['n']).as_dict()['ci95_low'] == r['ci95_low']
    assert {'expert', 'blind replay'} <= {r['policy'] for r in rows if r['split'] == 'test'}
