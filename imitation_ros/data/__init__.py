"""Bags -> LeRobotDataset: reading, episode cutting, alignment, quality report, JSON import.

``convert_bags`` is the entry point of ``imitation-ros convert``; ``import_json`` that of
``imitation-ros import-json``. Alignment goes through ``imitation_ros.frames`` (the same
resampler the policy node uses).

Import rule: imports ``profile``, ``messages``, ``frames``, ``errors``, rosbags, numpy;
lerobot (and so torch) only inside the functions that write datasets. Never rclpy,
cyclonedds or ``imitation_ros.graph``.
"""
from __future__ import annotations

from imitation_ros.data.align import AlignedEpisode, align_bag
from imitation_ros.data.bags import BagScan, scan_bag
from imitation_ros.data.convert import ConvertOptions, ConvertSummary, convert_bags
from imitation_ros.data.episodes import Episode, cut_episodes
from imitation_ros.data.json_import import import_json

__all__ = [
    'AlignedEpisode',
    'BagScan',
    'ConvertOptions',
    'ConvertSummary',
    'Episode',
    'align_bag',
    'convert_bags',
    'cut_episodes',
    'import_json',
    'scan_bag',
]
