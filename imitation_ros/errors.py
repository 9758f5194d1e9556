"""Errors of imitation_ros: one base class and one subclass per room.

This module is a leaf: it imports nothing from the package. Every message names
the file, topic or field at fault and what is wrong with it.
"""
from __future__ import annotations


class ImitationRosError(Exception):
    """Base class of every error the suite raises on purpose."""


class ConfigError(ImitationRosError):
    """Raised when a profile, params file or option is invalid, before anything starts."""


class MessageError(ImitationRosError):
    """Raised when a message type is unknown or a message cannot be (de)serialized or decoded."""


class GraphError(ImitationRosError):
    """Raised when the ROS graph layer cannot create or use an entity (node, topic, service)."""


class BagError(ImitationRosError):
    """Raised when a bag cannot be read, written or recovered; the message names the bag."""


class RecordError(ImitationRosError):
    """Raised when the recorder cannot start or continue an episode."""


class DatasetError(ImitationRosError):
    """Raised when a dataset cannot be written or read, or has the wrong features."""


class TrainError(ImitationRosError):
    """Raised when a policy cannot be built, trained, saved or loaded."""


class SimError(ImitationRosError):
    """Raised when the simulator cannot be built or stepped."""


class SafetyError(ImitationRosError):
    """Raised when a command cannot be made safe (never silently replaced by zeros)."""


class PolicyError(ImitationRosError):
    """Raised when a deployed policy's inference worker cannot start or run."""
