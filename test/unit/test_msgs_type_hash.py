"""RIHS01 type hashes: what the DDS backend advertises for our ``msg/`` types.

rosidl computes a RIHS01 hash of every interface at build time and rmw_cyclonedds_cpp
advertises it (USER_DATA ``typehash=``); the DDS backend advertises rosbags' ``hash_rihs01``
of the same definition. No rosidl here, so pinned instead:
- rosbags' hash equals the one ROS 2 itself wrote into the reference bags
  (``type_description_hash`` of every topic of ``test/data/realbags``: headers, strings,
  numeric sequences, nested types -- every field kind ``msg/`` uses; a type with constants,
  like ``EpisodeEvent``'s START/STOP/DISCARD, is pinned against real rclpy by
  ``test_graph_param_services``: ``ListParameters_Request`` has ``DEPTH_RECURSIVE``);
- the typestore of the suite registers ``msg/`` exactly as the files say: its hash of
  ``EpisodeEvent`` / ``InterventionEvent`` equals rosbags' hash of the .msg text, and the DDS
  type name is ``imitation_ros::msg::dds_::<Name>_``.
``test/ros/test_ros_msgs.py`` compares the hash of the colcon-built package with rosbags' where
ROS 2 exists.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from imitation_ros.graph.dds import wire
from imitation_ros.messages import runtime, typestore

ROOT = Path(__file__).resolve().parents[2]
OWN = ('EpisodeEvent', 'InterventionEvent')


def _bag_hashes(realbags: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for meta in sorted(realbags.glob('*/metadata.yaml')):
        info = yaml.safe_load(meta.read_text())['rosbag2_bagfile_information']
        for topic in info['topics_with_message_count']:
            md = topic['topic_metadata']
            out[md['type']] = md['type_description_hash'].strip()
    return out


def test_rosbags_rihs01_equals_what_ros2_wrote(realbags: Path) -> None:
    hashes = _bag_hashes(realbags)
    assert len(hashes) >= 4, hashes
    store = get_typestore(Stores.ROS2_JAZZY)
    for name, want in hashes.items():
        assert want.startswith('RIHS01_'), (name, want)
        assert store.hash_rihs01(name) == want, name


@pytest.mark.parametrize('name', OWN)
def test_own_types_hash_and_dds_name(name: str) -> None:
    full = f'imitation_ros/msg/{name}'
    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(get_types_from_msg((ROOT / 'msg' / f'{name}.msg').read_text(), full))
    want = store.hash_rihs01(full)
    assert typestore().hash_rihs01(full) == want
    assert runtime.type_hash(full) == want           # what Publisher/Subscription advertise
    assert wire.dds_type_name(full) == f'imitation_ros::msg::dds_::{name}_'
    assert runtime.msg_class(full)._type == full


def test_rclpy_msg_type_says_when_messages_were_not_generated(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On rclpy, ``imitation_ros/msg/*`` needs the classes a colcon build generates; the source
    tree (what this test imports) has none, and the error says what to do."""
    import importlib
    import sys
    import types

    fake = {name: types.ModuleType(name) for name in (
        'rclpy', 'rclpy.executors', 'rclpy.signals', 'rclpy.node', 'rclpy.qos')}
    for attr in ('try_shutdown', 'spin', 'spin_once', 'spin_until_future_complete', 'ok',
                 'init'):
        setattr(fake['rclpy'], attr, lambda *a, **k: None)
    fake['rclpy.executors'].ExternalShutdownException = Exception
    fake['rclpy.executors'].SingleThreadedExecutor = object
    fake['rclpy.signals'].SignalHandlerOptions = object
    fake['rclpy.node'].Node = object
    for attr in ('DurabilityPolicy', 'HistoryPolicy', 'QoSProfile', 'ReliabilityPolicy'):
        setattr(fake['rclpy.qos'], attr, object)
    for name, mod in fake.items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.delitem(sys.modules, 'imitation_ros.graph.rclpy_backend', raising=False)
    backend = importlib.import_module('imitation_ros.graph.rclpy_backend')
    try:
        from imitation_ros.errors import GraphError

        with pytest.raises(GraphError, match=r'no generated rclpy class.*colcon build'):
            backend.msg_type('imitation_ros/msg/EpisodeEvent')
        with pytest.raises(GraphError, match='not available in this ROS 2 install'):
            backend.msg_type('no_such_pkg/msg/X')
    finally:
        sys.modules.pop('imitation_ros.graph.rclpy_backend', None)
