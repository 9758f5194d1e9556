"""Message types and codecs.

``typestore()`` is the rosbags typestore of the ROS distribution with the suite's own
``msg/`` definitions registered; it serializes CDR for bags and for the DDS backend alike.
``codecs`` turns messages into arrays (joints by name, images as RGB) and back. Imports
rosbags and numpy only (OpenCV lazily for compressed images and resizing).
"""
from __future__ import annotations

from imitation_ros.messages.typestore import normalize_type, own_msg_types, typestore

__all__ = ['normalize_type', 'own_msg_types', 'typestore']
