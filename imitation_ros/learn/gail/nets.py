"""A fixed input normalization for the PPO policy (imports torch and stable-baselines3).

The privileged cube pose spans a few centimetres (y +- 0.06 m) beside joints spanning
radians: an MLP on raw values learns the cube's position slowly. :class:`NormalizedFlatten`
standardizes each observation column with the expert demos' mean and standard deviation,
fixed at the start of training and stored in the checkpoint (``config.json`` ``obs_mean`` and
``obs_std``, and the module's buffers), so the deployed runner normalizes identically.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

#: Smallest standard deviation a column is divided by (a constant column stays ~0).
MIN_STD = 1e-3


class NormalizedFlatten(BaseFeaturesExtractor):
    """``(obs - mean) / std`` with fixed per-column statistics."""

    def __init__(self, observation_space: Any, mean: Sequence[float],
                 std: Sequence[float]) -> None:
        n = int(observation_space.shape[0])
        super().__init__(observation_space, n)
        mean_t = torch.as_tensor(list(mean), dtype=torch.float32)
        std_t = torch.as_tensor(list(std), dtype=torch.float32).clamp_min(MIN_STD)
        if mean_t.shape != (n,) or std_t.shape != (n,):
            msg = f'NormalizedFlatten: mean and std need {n} values'
            raise ValueError(msg)
        self.register_buffer('mean', mean_t)
        self.register_buffer('std', std_t)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Standardize (the observation is already flat)."""
        return (observations.flatten(1) - self.mean) / self.std
