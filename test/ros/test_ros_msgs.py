"""The package's own messages in a colcon workspace (``msg/`` built by rosidl), on real ROS 2.

Regressions pinned:
- ``ros2 interface show imitation_ros/msg/EpisodeEvent`` / ``InterventionEvent`` print the
  definitions; the installed interpreter imports the generated ``imitation_ros.msg`` classes;
- ``ros2 topic echo /episode_events`` shows the recorder's events live (START, STOP with the
  success flag and task), with the recorder on rclpy and on the DDS backend (the DDS backend
  advertises the type name and RIHS01 hash rmw_cyclonedds_cpp would, so the ros2 CLI decodes
  it; mixing backends needs ``rmw_cyclonedds_cpp`` on the ROS side);
- the type hash the publishers advertise (``ros2 topic info -v``, Iron and later) equals the
  RIHS01 rosbags computes from ``msg/*.msg``, on both backends;
- ``ros2 bag play`` of a recorder bag replays ``/episode_events`` into ``ros2 topic echo``;
- ``dagger_node`` on rclpy publishes ``InterventionEvent`` on ``/dagger/intervention_events``
  when a person takes over (``ros2 service call /dagger/take_over``).
"""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rostools import NEUTRAL_CWD, ROOT, Proc, ros2

pytestmark = [pytest.mark.ros, pytest.mark.e2e]

TASK = 'msgcheck'


def _rihs01(name: str) -> str:
    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(get_types_from_msg((ROOT / 'msg' / f'{name}.msg').read_text(),
                                      f'imitation_ros/msg/{name}'))
    return store.hash_rihs01(f'imitation_ros/msg/{name}')


def _advertised_hashes(env: dict[str, str], topic: str) -> list[str]:
    """``Topic type hash`` of each publisher in ``ros2 topic info -v`` (none on Humble).

    ``topic info`` discovers the graph for half a second on its own: asked again a few times
    until it lists a publisher.
    """
    found: list[str] = []
    for _ in range(5):
        out = ros2(env, 'topic', 'info', '-v', topic, check=False).stdout
        pubs = out.split('Subscription count')[0]
        found = re.findall(r'Topic type hash:\s*(RIHS01_[0-9a-f]+)', pubs)
        if 'Publisher count: 0' not in pubs and 'Publisher count' in pubs:
            return found
        time.sleep(1.0)
    return found


def _events(text: str) -> list[tuple[int, str, str]]:
    """(event, success, task) of each EpisodeEvent ``ros2 topic echo`` printed."""
    out = []
    for doc in text.split('---'):
        ev = re.search(r'^event: (\d+)$', doc, re.M)
        if ev:
            out.append((int(ev.group(1)), re.search(r'^success: (\w+)$', doc, re.M).group(1),
                        re.search(r'^task: (.*)$', doc, re.M).group(1).strip("'")))
    return out


def test_interface_show_and_generated_classes(ros_ws: dict, ws_env: dict[str, str]) -> None:
    for name, field in (('EpisodeEvent', 'uint32 episode_index'),
                        ('InterventionEvent', 'bool human_in_control')):
        shown = ros2(ws_env, 'interface', 'show', f'imitation_ros/msg/{name}').stdout
        assert field in shown and 'std_msgs/Header header' in shown, shown
    listed = ros2(ws_env, 'interface', 'package', 'imitation_ros').stdout.split()
    assert set(listed) == {'imitation_ros/msg/EpisodeEvent', 'imitation_ros/msg/InterventionEvent'}
    exe = ros_ws['install'] / 'imitation_ros' / 'lib' / 'imitation_ros' / 'recorder_node'
    interpreter = exe.read_text().splitlines()[0][2:].strip()
    probe = subprocess.run(
        [interpreter, '-c', 'import imitation_ros, imitation_ros.msg as m; '
         'from imitation_ros.graph import msg_type; '
         'assert msg_type("imitation_ros/msg/EpisodeEvent") is m.EpisodeEvent; '
         'print(m.EpisodeEvent.STOP, imitation_ros.__file__)'],
        env=ws_env, capture_output=True, text=True, timeout=120, check=False, cwd=NEUTRAL_CWD)
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert probe.stdout.split()[0] == '1' and str(ros_ws['install']) in probe.stdout


@pytest.mark.parametrize('backend', ['rclpy', 'dds'])
def test_echo_shows_recorder_events_live(backend: str, ws_env: dict[str, str], tmp_path: Path,
                                         procs) -> None:  # noqa: ANN001
    env = dict(ws_env)
    if backend == 'dds':          # a DDS-backend node and the ros2 CLI: Cyclone on both sides
        env['RMW_IMPLEMENTATION'] = 'rmw_cyclonedds_cpp'
    node_env = dict(env, IMITATION_ROS_BACKEND=backend)
    rec = Proc(['ros2', 'run', 'imitation_ros', 'recorder_node', '--ros-args',
                '-p', f'output_dir:={tmp_path / "bags"}', '-p', 'min_free_disk_mb:=10.0',
                '-p', 'min_episode_frames:=0', '-p', f'task:={TASK}'],
               node_env, tmp_path / 'rec.log')
    echo = Proc(['ros2', 'topic', 'echo', '/episode_events', 'imitation_ros/msg/EpisodeEvent'],
                env, tmp_path / 'echo.log')
    procs += [rec, echo]
    rec.wait_for(f'imitation_ros graph backend: {backend}')
    rec.wait_for('start an episode with ~/start_episode')
    assert 'not published live' not in rec.text(), rec.text()[-3000:]
    time.sleep(2.0)                    # echo's subscription discovered
    start = ros2(env, 'service', 'call', '/recorder/start_episode', 'std_srvs/srv/Trigger')
    assert 'success=True' in start.stdout, start.stdout
    stop = ros2(env, 'service', 'call', '/recorder/stop_episode', 'std_srvs/srv/SetBool',
                '{data: true}')
    assert 'success=True' in stop.stdout, stop.stdout
    echo.wait_for('event: 1', timeout=30)
    hashes = _advertised_hashes(env, '/episode_events')
    assert rec.stop() == 0, rec.text()[-3000:]
    echo.stop()
    assert _events(echo.text()) == [(0, 'false', TASK), (1, 'true', TASK)], echo.text()[-3000:]
    if env.get('ROS_DISTRO') != 'humble':           # type hashes exist from Iron on
        assert hashes == [_rihs01('EpisodeEvent')], hashes


def test_bag_play_replays_episode_events(ws_env: dict[str, str], tmp_path: Path,
                                         procs) -> None:  # noqa: ANN001
    out = tmp_path / 'bags'
    rec = Proc(['ros2', 'run', 'imitation_ros', 'recorder_node', '--ros-args',
                '-p', f'output_dir:={out}', '-p', 'min_free_disk_mb:=10.0',
                '-p', 'min_episode_frames:=0', '-p', f'task:={TASK}'],
               ws_env, tmp_path / 'rec.log')
    procs.append(rec)
    rec.wait_for('start an episode with ~/start_episode')
    for args in (('/recorder/start_episode', 'std_srvs/srv/Trigger'),
                 ('/recorder/stop_episode', 'std_srvs/srv/SetBool', '{data: true}')):
        res = ros2(ws_env, 'service', 'call', *args)
        assert 'success=True' in res.stdout, res.stdout
    assert rec.stop() == 0, rec.text()[-3000:]
    bags = [p for p in out.iterdir() if p.is_dir()]
    assert len(bags) == 1, bags
    echo = Proc(['ros2', 'topic', 'echo', '/episode_events', 'imitation_ros/msg/EpisodeEvent'],
                ws_env, tmp_path / 'echo.log')
    procs.append(echo)
    time.sleep(2.0)
    # --delay: the player's publishers are matched with echo before the first record goes out
    play = ros2(ws_env, 'bag', 'play', '--delay', '2.0', str(bags[0]), timeout=120)
    echo.wait_for('event: 1', timeout=30)
    echo.stop()
    assert _events(echo.text()) == [(0, 'false', TASK), (1, 'true', TASK)], (
        echo.text()[-3000:] + play.stdout[-2000:] + play.stderr[-2000:])


def test_dagger_node_publishes_intervention_events(ws_env: dict[str, str], tmp_path: Path,
                                                   procs) -> None:  # noqa: ANN001
    gate = Proc(['ros2', 'run', 'imitation_ros', 'dagger_node', '--ros-args',
                 '-p', 'triggers:=[service]', '-p', 'enabled:=true'], ws_env,
                tmp_path / 'dagger.log')
    echo = Proc(['ros2', 'topic', 'echo', '/dagger/intervention_events',
                 'imitation_ros/msg/InterventionEvent'], ws_env, tmp_path / 'echo.log')
    procs += [gate, echo]
    gate.wait_for('dagger gate (')
    assert 'not published' not in gate.text(), gate.text()[-3000:]
    time.sleep(2.0)
    res = ros2(ws_env, 'service', 'call', '/dagger/take_over', 'std_srvs/srv/SetBool',
               '{data: true}')
    assert 'success=True' in res.stdout, res.stdout
    text = echo.wait_for('human_in_control: true', timeout=30)
    assert re.search(r'^source: service$', text, re.M), text[-2000:]
    hashes = _advertised_hashes(ws_env, '/dagger/intervention_events')
    if ws_env.get('ROS_DISTRO') != 'humble':
        assert hashes == [_rihs01('InterventionEvent')], hashes
    assert gate.stop() == 0, gate.text()[-3000:]
    echo.stop()
