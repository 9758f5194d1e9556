"""Policy output -> safe joint command, one control period at a time.

``PolicyController`` is the deploy loop without ROS: it asks the policy for a new chunk when
the executing one is used up (every ``n_action_steps`` periods, as lerobot does), takes this
period's action from the :class:`ChunkQueue` (optionally temporally ensembled), and passes it
through the :class:`SafetyFilter`. The policy node and the in-process simulator evaluation
both run this class, so what is measured in simulation is what the node does.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from imitation_ros.deploy.chunking import ChunkQueue
from imitation_ros.errors import ImitationRosError
from imitation_ros.profile.keys import OBS_STATE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

    from imitation_ros.deploy.safety import SafetyFilter, SafetyVerdict

logger = logging.getLogger(__name__)


class ChunkPolicy(Protocol):
    """What the controller needs of a policy (``imitation_ros.learn.PolicyRunner`` is one)."""

    @property
    def n_action_steps(self) -> int: ...

    def reset(self) -> None: ...

    def observe(self, obs: Mapping[str, Any]) -> None:
        """Add an observation to the history without inferring (optional)."""

    def __call__(self, obs: Mapping[str, Any]) -> NDArray[np.floating]: ...


class PolicyController:
    """Runs a chunking policy behind the safety filter.

    Args:
        policy: Maps an observation dict to an action chunk (T, n), row 0 = now.
        safety: The safety filter (joint limits, step cap, stale/NaN hold).
        ensemble_coeff: None to execute chunks as they are; a value >= 0 re-plans every
            period and averages overlapping chunks with weights exp(-coeff * i) (ACT).
    """

    def __init__(self, policy: ChunkPolicy, safety: SafetyFilter, *,
                 ensemble_coeff: float | None = None) -> None:
        self.policy = policy
        self.safety = safety
        self.ensemble = ensemble_coeff is not None
        self.queue = ChunkQueue(ensemble_coeff)
        self._steps_left = 0
        self.inferences = 0

    def reset(self) -> None:
        """Start a new episode: forget chunks, the policy's history and the last command."""
        self.policy.reset()
        self.queue.clear()
        self.safety.reset()
        self._steps_left = 0

    def step(self, obs: Mapping[str, Any] | None, obs_age_s: float | None) -> SafetyVerdict:
        """Return the verdict (command or hold) for this control period.

        Args:
            obs: The newest complete observation (feature key -> array), or None if the
                frame could not be assembled (a stream missing or too old).
            obs_age_s: Age of that observation, s.
        """
        measured = None if obs is None else np.asarray(obs[OBS_STATE], dtype=np.float64)
        stale = obs is None or obs_age_s is None or obs_age_s > self.safety.config.stale_obs_s
        action: NDArray[np.float64] | None = None
        if not stale:
            try:
                action = self._next_action(obs)
            except ImitationRosError as err:       # bad observation: hold, say why
                return self.safety.filter(None, measured, obs_age_s, reason=str(err))
        return self.safety.filter(action, measured, obs_age_s)

    def _next_action(self, obs: Mapping[str, Any]) -> NDArray[np.float64] | None:
        if self.ensemble or self._steps_left <= 0 or len(self.queue) == 0:
            chunk = np.asarray(self.policy(obs), dtype=np.float64)
            self.inferences += 1
            if chunk.ndim == 1:
                chunk = chunk[None, :]
            n_exec = max(1, min(int(self.policy.n_action_steps), len(chunk)))
            self.queue.push(chunk if self.ensemble else chunk[:n_exec])
            self._steps_left = n_exec
        else:
            observe = getattr(self.policy, 'observe', None)
            if observe is not None:       # policies with an observation history (Diffusion)
                observe(obs)
        self._steps_left -= 1
        return self.queue.pop()
