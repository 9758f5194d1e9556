"""Robot profile: topics, joint names, fps, limits and feature keys.

The profile is the waist shared by record, convert, train and deploy: every room that maps
topics to dataset features goes through it. Imports only ``errors`` and ``yaml``.
"""
from __future__ import annotations

from imitation_ros.profile.keys import ACTION, OBS_IMAGES, OBS_STATE, image_key
from imitation_ros.profile.model import (
    CameraSpec,
    CommandSpec,
    EpisodeSplitSpec,
    JointLimits,
    RobotProfile,
    StreamSpec,
    TopicSpec,
    load_profile,
    profile_from_dict,
)

__all__ = [
    'ACTION',
    'OBS_IMAGES',
    'OBS_STATE',
    'CameraSpec',
    'CommandSpec',
    'EpisodeSplitSpec',
    'JointLimits',
    'RobotProfile',
    'StreamSpec',
    'TopicSpec',
    'image_key',
    'load_profile',
    'profile_from_dict',
]
