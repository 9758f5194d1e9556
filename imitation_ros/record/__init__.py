"""Recorder core: raw CDR messages -> crash-safe rosbag2 bags, episode by episode.

Imports ``profile``, ``messages``, ``errors`` and rosbags only; never rclpy, cyclonedds,
``imitation_ros.graph`` or ``imitation_ros.nodes``. The recorder node is thin wiring around
``RecordingSession``; ``recover_bag`` and ``bag_summary`` back ``imitation-ros bag``.
"""
from __future__ import annotations

from imitation_ros.record.bag_writer import BagWriter
from imitation_ros.record.config import RecorderConfig
from imitation_ros.record.health import HealthMonitor, header_stamp_ns
from imitation_ros.record.info import bag_summary
from imitation_ros.record.netbuf import socket_buffer_warning
from imitation_ros.record.qos import choose_qos
from imitation_ros.record.recover import RecoverReport, is_closed, recover_bag
from imitation_ros.record.session import (
    EVENTS_TOPIC,
    EpisodeResult,
    Notice,
    RecordingSession,
    TopicPlan,
    plan_topics,
)

__all__ = [
    'EVENTS_TOPIC',
    'BagWriter',
    'EpisodeResult',
    'HealthMonitor',
    'Notice',
    'RecorderConfig',
    'RecordingSession',
    'RecoverReport',
    'TopicPlan',
    'bag_summary',
    'choose_qos',
    'header_stamp_ns',
    'is_closed',
    'plan_topics',
    'recover_bag',
    'socket_buffer_warning',
]
