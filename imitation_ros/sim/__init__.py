"""Simulated robots: the MuJoCo arm with its cube-lift task, a scripted expert, and adapters
that put gymnasium environments (gym-aloha included) behind the same API.

Everything here is ROS-free: ``nodes/sim_node.py`` and ``nodes/expert_node.py`` wire it to
topics. Imports ``errors``, ``profile``, ``messages.codecs`` and numpy at module level;
MuJoCo, gymnasium and gym-aloha only lazily, inside the functions that need them. Never
imports rclpy, cyclonedds or ``imitation_ros.graph``.

In-process use (what evaluation does)::

    from imitation_ros.sim import ArmSim, ScriptedExpert, load_profile_for_sim
    sim = ArmSim(load_profile_for_sim())
    obs = sim.reset(seed=0)
    obs = sim.step(action)        # one control period; obs keyed by feature keys
    sim.success()
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imitation_ros.sim.base import SimRobot
from imitation_ros.sim.clamp import ClampReport, clamp_command
from imitation_ros.sim.config import ExpertNodeConfig, SimNodeConfig, make_sim
from imitation_ros.sim.episode import (
    EpisodeResult,
    EvalSummary,
    evaluate,
    expert_policy,
    run_episode,
)
from imitation_ros.sim.expert import ExpertConfig, ScriptedExpert
from imitation_ros.sim.model import ArmGeometry

if TYPE_CHECKING:
    from imitation_ros.profile import RobotProfile


def load_profile_for_sim(name: str = 'sim_arm.yaml') -> RobotProfile:
    """Load a profile by path or by file name under the package's ``config/``."""
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import resolve_config

    return load_profile(resolve_config(name))


def __getattr__(name: str) -> Any:
    # ArmSim/ArmSimConfig import lazily-safe modules only, but keep mujoco out of `import sim`.
    if name in ('ArmSim', 'ArmSimConfig', 'TASK_STATE_NAMES'):
        from imitation_ros.sim import arm

        return getattr(arm, name)
    if name in ('GymAdapter', 'GymSim', 'make_gym_sim', 'pendulum_adapter'):
        from imitation_ros.sim import gym_adapter

        return getattr(gym_adapter, name)
    msg = f'module {__name__!r} has no attribute {name!r}'
    raise AttributeError(msg)


__all__ = [
    'ArmGeometry', 'ArmSim', 'ArmSimConfig', 'ClampReport', 'EpisodeResult', 'EvalSummary',
    'ExpertConfig', 'ExpertNodeConfig', 'GymAdapter', 'GymSim', 'ScriptedExpert',
    'SimNodeConfig', 'SimRobot', 'clamp_command', 'evaluate', 'expert_policy',
    'load_profile_for_sim', 'make_gym_sim', 'make_sim', 'pendulum_adapter', 'run_episode',
]
