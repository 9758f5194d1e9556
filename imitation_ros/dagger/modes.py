"""DAgger modes: who is executed, who is the label, and the beta schedule.

* ``hg`` (HG-DAgger, default): the gate decides; the person's command is executed and is the
  label while they are in control; the policy drives otherwise.
* ``classic`` (DAgger, Ross et al. 2011): the expert labels every step; the executed command
  is the expert's with probability ``beta`` per step, the policy's otherwise; ``beta`` decays
  per round: ``beta_r = beta0 * beta_decay ** round``. A gate takeover still wins.
* ``label_only``: the policy always drives (a gate takeover still wins, for safety); the
  expert's commands are recorded as labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from imitation_ros.errors import ConfigError

if TYPE_CHECKING:
    from numpy.random import Generator

MODES = ('hg', 'classic', 'label_only')
Mode = Literal['hg', 'classic', 'label_only']


@dataclass(frozen=True, slots=True, kw_only=True)
class ModeConfig:
    """DAgger mode and its mixing schedule."""

    mode: Mode = 'hg'
    beta0: float = 1.0          # classic: chance the expert's command is executed, round 0
    beta_decay: float = 0.5     # classic: beta of round r = beta0 * beta_decay ** r
    round: int = 0              # the DAgger round this session belongs to

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            msg = f'dagger mode must be one of {MODES}, got {self.mode!r}'
            raise ConfigError(msg)
        if not 0.0 <= self.beta0 <= 1.0 or not 0.0 <= self.beta_decay <= 1.0:
            msg = (f'dagger beta0 and beta_decay must be in [0, 1], got {self.beta0}, '
                   f'{self.beta_decay}')
            raise ConfigError(msg)
        if self.round < 0:
            msg = f'dagger round must be >= 0, got {self.round}'
            raise ConfigError(msg)

    @property
    def beta(self) -> float:
        """This round's beta (classic mode)."""
        return beta_for_round(self.beta0, self.beta_decay, self.round)


def beta_for_round(beta0: float, decay: float, round_index: int) -> float:
    """``beta0 * decay ** round_index``."""
    return float(beta0 * decay ** round_index)


def expert_executes(cfg: ModeConfig, gate_human: bool, rng: Generator) -> bool:
    """Whether the expert's command is executed this step.

    A person holding the gate always wins (every mode); otherwise ``hg`` and ``label_only``
    run the policy, and ``classic`` draws the expert with probability ``beta``.
    """
    if gate_human:
        return True
    if cfg.mode == 'classic':
        return bool(rng.random() < cfg.beta)
    return False


def mode_rng(seed: int | None) -> Generator:
    """The generator of the classic-mode draws."""
    return np.random.default_rng(seed)
