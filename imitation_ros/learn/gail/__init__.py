"""GAIL (``imitation`` library + stable-baselines3 PPO) on the simulated arm.

``train_gail(GailConfig(dataset=..., output_dir=...))`` trains from a LeRobot dataset of
demos; ``load_policy(run_dir)`` (``imitation_ros.learn.inference``) loads the result as a
:class:`GailRunner`; :func:`evaluate_gail_checkpoint` measures it on held-out seeds. See
``docs/gail.md``. torch, gymnasium, imitation and stable-baselines3 are imported lazily.
"""
from __future__ import annotations

from typing import Any

__all__ = ['GailConfig', 'GailResult', 'GailRunner', 'evaluate_gail_checkpoint',
           'is_gail_checkpoint', 'load_gail_policy', 'train_gail']


def __getattr__(name: str) -> Any:
    if name in ('GailConfig', 'GailResult', 'train_gail'):
        from imitation_ros.learn.gail import trainer

        return getattr(trainer, name)
    if name in ('GailRunner', 'evaluate_gail_checkpoint', 'is_gail_checkpoint',
                'load_gail_policy'):
        from imitation_ros.learn.gail import runner

        return getattr(runner, name)
    msg = f'module {__name__!r} has no attribute {name!r}'
    raise AttributeError(msg)
