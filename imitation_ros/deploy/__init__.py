"""Deployment core: what stands between a policy's output and the arm.

``PolicyController`` runs one control period without waiting for the policy: a worker
(:mod:`.worker`) computes the next chunk while the current one executes, the :class:`Plan`
executes rows at the time they were predicted for (seams crossfaded, or ACT temporal
ensembling), and the ``SafetyFilter`` clamps to joint limits, caps the step at the profile's
velocity limits, bounds the lead over the measured position and holds on stale or
non-finite input (never commanding zeros). numpy only; never imports graph, rclpy or torch.
"""
from __future__ import annotations

from imitation_ros.deploy.controller import ControllerConfig, PolicyController, TickResult
from imitation_ros.deploy.latency import LatencyTracker
from imitation_ros.deploy.plan import Plan, TimedChunk
from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter, SafetyVerdict
from imitation_ros.deploy.worker import (
    ChunkPolicy,
    DeferredWorker,
    InferenceRequest,
    InferenceResult,
    InlineWorker,
    ProcessWorker,
    ThreadWorker,
)

__all__ = ['ChunkPolicy', 'ControllerConfig', 'DeferredWorker', 'InferenceRequest',
           'InferenceResult', 'InlineWorker', 'LatencyTracker', 'Plan', 'PolicyController',
           'ProcessWorker', 'SafetyConfig', 'SafetyFilter', 'SafetyVerdict', 'ThreadWorker', 'TickResult',
           'TimedChunk']
