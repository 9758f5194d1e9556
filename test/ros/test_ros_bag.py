"""rosbag2 and our bags, both directions, on the sourced ROS 2.

Regressions pinned:
- ``ros2 bag play`` of a bag written by our recorder: ``ros2 topic echo`` receives its joint
  states, and our recorder_node (rclpy, from the colcon workspace) records the replay into a
  new bag holding >= 90 % of the replayed joint states and camera frames inside the episode,
  and only its own two episode events (the replayed ``/episode_events`` are not recorded again;
  ``test_ros_msgs`` checks that ``ros2 topic echo`` shows the replayed ones);
- ``ros2 bag record`` of the topics our sim_node and expert_node publish, then
  ``imitation-ros convert`` of that bag: one episode (a plain rosbag2 bag is one episode)
  with frames of the profile's features.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from rostools import NEUTRAL_CWD, ROOT, Proc, ros2

pytestmark = [pytest.mark.ros, pytest.mark.e2e]

TOPICS = ('/joint_states', '/leader/joint_states', '/camera/color/image_raw')


def _cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return ros2(env, 'run', 'imitation_ros', 'imitation-ros', *args, timeout=timeout)


def _only_bag(out: Path) -> Path:
    bags = [p for p in out.iterdir() if p.is_dir()]
    assert len(bags) == 1, f'{out}: expected one bag, found {bags}'
    return bags[0]


def _info(env: dict[str, str], bag: Path) -> dict:
    return json.loads(_cli(env, 'bag', 'info', str(bag), '--json').stdout)


def test_bag_play_of_recorder_bag(ws_env: dict[str, str], tmp_path: Path, procs) -> None:  # noqa: ANN001
    src_out, out = tmp_path / 'src', tmp_path / 'replayed'
    made = subprocess.run(['ros2', 'launch', 'imitation_ros', 'sim_record.launch.py',
                           'episodes:=1', f'output_dir:={src_out}'], env=ws_env, cwd=NEUTRAL_CWD,
                          capture_output=True, text=True, timeout=240, check=False)
    assert made.returncode == 0, made.stdout[-4000:] + made.stderr[-2000:]
    src = _only_bag(src_out)
    src_info = _info(ws_env, src)
    assert src_info['closed'] and len(src_info['episodes']) == 1, src_info

    rec = Proc(['ros2', 'run', 'imitation_ros', 'recorder_node', '--ros-args',
                '-p', f'output_dir:={out}', '-p', 'min_free_disk_mb:=10.0'],
               ws_env, tmp_path / 'rec.log')
    echo = Proc(['ros2', 'topic', 'echo', '/joint_states', 'sensor_msgs/msg/JointState',
                 '--field', 'name'], ws_env, tmp_path / 'echo.log')
    procs += [rec, echo]
    rec.wait_for('start an episode with ~/start_episode')
    time.sleep(2.0)                    # echo's subscription discovered by the player's start
    start = ros2(ws_env, 'service', 'call', '/recorder/start_episode', 'std_srvs/srv/Trigger')
    assert 'success=True' in start.stdout, start.stdout
    play = ros2(ws_env, 'bag', 'play', str(src), timeout=120)
    time.sleep(0.5)
    stop = ros2(ws_env, 'service', 'call', '/recorder/stop_episode', 'std_srvs/srv/SetBool',
                '{data: true}')
    assert 'success=True' in stop.stdout, stop.stdout + rec.text()[-3000:]
    assert rec.stop() == 0, rec.text()[-4000:]
    echo.stop()
    assert 'shoulder_pan' in echo.text(), echo.text()[-2000:] + play.stderr[-2000:]
    got = _info(ws_env, _only_bag(out))
    assert got['closed'] and [e['kept'] for e in got['episodes']] == [True], got
    # the player republished the source bag's /episode_events (EpisodeEvent type support from
    # the colcon build); the recorder does not record that topic, only writes its own START/STOP
    assert src_info['topics']['/episode_events']['count'] == 2, src_info
    assert got['topics']['/episode_events']['count'] == 2, got
    for topic in ('/joint_states', '/camera/color/image_raw'):
        sent = src_info['topics'][topic]['count']
        kept = got['topics'][topic]['count']
        assert kept >= 0.9 * sent, (topic, kept, sent, rec.text()[-3000:])


def test_ros2_bag_record_of_our_nodes_then_convert(ws_env: dict[str, str], tmp_path: Path,  # noqa: ANN001
                                                   procs) -> None:
    bag = tmp_path / 'plain_bag'
    sim = Proc(['ros2', 'run', 'imitation_ros', 'sim_node'], ws_env, tmp_path / 'sim.log')
    procs.append(sim)
    sim.wait_for('imitation_ros graph backend: rclpy')
    rec = Proc(['ros2', 'bag', 'record', '-o', str(bag), *TOPICS], ws_env,
               tmp_path / 'bagrec.log')
    procs.append(rec)
    rec.wait_for('Recording...', timeout=60)
    time.sleep(1.0)
    expert = subprocess.run(['ros2', 'run', 'imitation_ros', 'expert_node', '--ros-args',
                             '-p', 'episodes:=1', '-p', 'use_recorder:=false'], env=ws_env,
                            cwd=NEUTRAL_CWD, capture_output=True, text=True, timeout=180,
                            check=False)
    assert expert.returncode == 0, expert.stdout[-3000:] + expert.stderr[-3000:]
    assert rec.stop() == 0, rec.text()[-3000:]
    assert sim.stop() == 0, sim.text()[-3000:]
    info = ros2(ws_env, 'bag', 'info', str(bag))
    for topic in TOPICS:
        assert topic in info.stdout, info.stdout
    conv = _cli(ws_env, 'convert', '--profile', str(ROOT / 'config' / 'sim_arm.yaml'),
                '--out', str(tmp_path / 'ds'), str(bag), timeout=600)
    meta = json.loads((tmp_path / 'ds' / 'meta' / 'info.json').read_text())
    assert meta['total_episodes'] == 1, (meta, conv.stdout[-2000:])
    assert meta['total_frames'] >= 30, (meta, conv.stdout[-2000:])
    assert {'observation.state', 'action', 'observation.images.front'} <= set(meta['features'])
