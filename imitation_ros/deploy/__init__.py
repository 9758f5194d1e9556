"""Deployment core: what stands between a policy's output and the arm.

``SafetyFilter`` clamps to joint limits, caps the step per control period, and holds on stale
or non-finite input (never commanding zeros as a fallback); ``ChunkQueue`` executes action
chunks with optional temporal ensembling. numpy only; never imports graph, rclpy or torch.
"""
from __future__ import annotations

from imitation_ros.deploy.chunking import ChunkQueue
from imitation_ros.deploy.controller import ChunkPolicy, PolicyController
from imitation_ros.deploy.safety import SafetyConfig, SafetyFilter, SafetyVerdict

__all__ = ['ChunkPolicy', 'ChunkQueue', 'PolicyController', 'SafetyConfig', 'SafetyFilter', 'SafetyVerdict']
