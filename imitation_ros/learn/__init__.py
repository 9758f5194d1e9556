"""Learning: BC / ACT / Diffusion through lerobot 0.4.4, frame cache, augmentation, evaluation.

Import rule: this room may import torch and lerobot (the only core that does, with ``data``
for lerobot); it imports ``errors`` and ``profile`` from the package and nothing else. Other
rooms (``deploy``, ``dagger``) import it lazily, inside functions, so they stay torch-free.

Public surface (loaded on first use, so ``import imitation_ros.learn`` is cheap):

* :func:`train` / :class:`TrainConfig` / :class:`TrainResult` (``trainer``)
* :func:`load_policy` -> :class:`PolicyRunner` (``inference``): the one inference path
* :func:`evaluate_offline` / :class:`EvalResult` (``evaluate``)
* :func:`open_cache` / :class:`FrameCache` (``cache``), :class:`AugmentConfig` (``augment``)
* :data:`POLICY_NAMES`, :data:`POLICY_DEFAULTS` (``policies``)
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    'train': 'trainer', 'TrainConfig': 'trainer', 'TrainResult': 'trainer',
    'load_policy': 'inference', 'PolicyRunner': 'inference',
    'evaluate_offline': 'evaluate', 'EvalResult': 'evaluate',
    'open_cache': 'cache', 'FrameCache': 'cache',
    'AugmentConfig': 'augment',
    'POLICY_NAMES': 'policies', 'POLICY_DEFAULTS': 'policies',
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f'module {__name__!r} has no attribute {name!r}'
        raise AttributeError(msg)
    return getattr(importlib.import_module(f'{__name__}.{module}'), name)
