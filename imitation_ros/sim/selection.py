"""Choosing a checkpoint (step, recipe) on validation seeds, never on the seeds it is reported on.

ROS-free and pure: a bench evaluates every candidate on
:func:`imitation_ros.sim.task_eval.validation_seeds` (20000..), calls :func:`choose_by_validation`
on those rows, and evaluates only the chosen candidate on the test seeds
(:func:`imitation_ros.sim.task_eval.held_out_seeds`, 10000..). The function refuses rows that are
not validation rows, or whose seeds meet the test seeds, so a change that selects on the test
seeds fails loudly instead of quietly reporting the best of many tries.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: ``split`` of the rows a bench chooses on / reports on.
VALIDATION = 'validation'
TEST = 'test'


def check_disjoint(chosen_on: Iterable[int], reported_on: Iterable[int]) -> None:
    """Raise ``ValueError`` when a seed used to choose is also one reported on."""
    shared = set(chosen_on) & set(reported_on)
    if shared:
        msg = (f'{len(shared)} seed(s) used to choose are also reported on '
               f'(e.g. {sorted(shared)[:3]}); choose on validation_seeds, report on '
               'held_out_seeds')
        raise ValueError(msg)


def row_seeds(row: Mapping[str, Any]) -> range:
    """The seeds of a row: its ``seeds`` entry, ``[first, stop)``."""
    first, stop = row['seeds']
    return range(int(first), int(stop))


def choose_by_validation(rows: Iterable[Mapping[str, Any]],
                         test_seeds: Sequence[int]) -> dict[str, Mapping[str, Any]]:
    """Per ``policy``, the validation row with the highest success rate.

    Ties go to the earlier ``step`` (less training). Every row must have ``split ==
    'validation'`` and ``seeds`` disjoint from ``test_seeds``; otherwise ``ValueError``.

    Args:
        rows: Dicts with ``policy``, ``step``, ``successes``, ``n``, ``split``, ``seeds``.
        test_seeds: The seeds the chosen rows will be reported on.

    Returns:
        ``{policy: row}`` for every policy with at least one row.
    """
    chosen: dict[str, Mapping[str, Any]] = {}
    for r in rows:
        if r.get('split') != VALIDATION:
            msg = (f'{r.get("policy")} step {r.get("step")}: split {r.get("split")!r}; '
                   'choose only on validation rows')
            raise ValueError(msg)
        check_disjoint(row_seeds(r), test_seeds)
        rate = r['successes'] / r['n'] if r['n'] else 0.0
        best = chosen.get(r['policy'])
        if best is None:
            chosen[r['policy']] = r
            continue
        best_rate = best['successes'] / best['n'] if best['n'] else 0.0
        if rate > best_rate or (rate == best_rate and r['step'] < best['step']):
            chosen[r['policy']] = r
    return chosen


def choose_key(rates: Mapping[Any, tuple[int, int]]) -> Any:
    """The key with the highest ``successes / n`` (ties: the first key in order).

    For benches that choose one of a few candidates (a step count, a recipe) from their
    validation ``(successes, n)``; pass candidates cheapest first so ties favour them.
    """
    if not rates:
        msg = 'nothing to choose from'
        raise ValueError(msg)
    best_key, best_rate = None, -1.0
    for key, (s, n) in rates.items():
        rate = s / n if n else 0.0
        if rate > best_rate:
            best_key, best_rate = key, rate
    return best_key
