"""DAgger: a person (or the scripted expert) takes over from the policy, and the policy learns.

ROS-free core of ``dagger_node`` and of the in-process rounds:

* :mod:`~imitation_ros.dagger.gate` -- who commands (Joy deadman, SetBool service, leader
  deviation), with hysteresis;
* :mod:`~imitation_ros.dagger.ramp` -- handover without a jump;
* :mod:`~imitation_ros.dagger.modes` -- HG-DAgger, classic DAgger (beta), label-only;
* :mod:`~imitation_ros.dagger.safety` -- the one adapter over the deploy safety filter;
* :mod:`~imitation_ros.dagger.core` -- one control tick from inputs to a safe command;
* :mod:`~imitation_ros.dagger.labels` -- intervention flags, segments and frame weights.

Imports numpy and ``imitation_ros.deploy.safety`` only; never rclpy or ``graph``.
"""
from __future__ import annotations

from imitation_ros.dagger.core import CoreConfig, DaggerCore, InterventionRecord, TickResult
from imitation_ros.dagger.gate import ControlGate, GateConfig, GateDecision
from imitation_ros.dagger.modes import ModeConfig, beta_for_round, expert_executes
from imitation_ros.dagger.ramp import HandoverRamp
from imitation_ros.dagger.safety import GateSafety

__all__ = [
    'ControlGate', 'CoreConfig', 'DaggerCore', 'GateConfig', 'GateDecision', 'GateSafety',
    'HandoverRamp', 'InterventionRecord', 'ModeConfig', 'TickResult', 'beta_for_round',
    'expert_executes',
]
