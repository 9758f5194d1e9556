"""The ``ros2`` command line against each of our nodes, on each backend.

The nodes (sim, recorder, expert, policy) are the colcon workspace's executables started by
``ros2 run``, once on rclpy and once on the DDS backend (``IMITATION_ROS_BACKEND=dds``: the
same installed code on the home-made backend); the ``ros2`` CLI is always real ROS 2.

Regressions pinned:
- ``ros2 node list`` shows all four nodes; ``ros2 topic hz`` measures /joint_states;
  ``ros2 service call /sim/reset`` and the recorder's start/stop services answer;
- ``ros2 param list / get / set`` on every node, on both backends: a config parameter that
  cannot change at run time is refused with the reason and keeps its value; one the node
  supports (the recorder's ``task``) takes effect;
- ``/rosout`` carries each node's log lines (``ros2 topic echo /rosout``), on both backends.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from rostools import Proc, ros2

pytestmark = [pytest.mark.ros, pytest.mark.e2e]

NODE_NAMES = ('/sim', '/recorder', '/expert', '/policy')


@pytest.fixture(params=['rclpy', 'dds'])
def stack(request: pytest.FixtureRequest, ws_env: dict[str, str], tmp_path: Path,  # noqa: ANN001
          procs, checkpoint: Path) -> tuple[str, dict[str, str]]:
    """sim + recorder + expert + policy by ``ros2 run`` on one backend; yields (backend, env)."""
    backend = request.param
    env = dict(ws_env, IMITATION_ROS_BACKEND=backend)
    run = ['ros2', 'run', 'imitation_ros']
    started = [
        Proc([*run, 'sim_node', '--ros-args', '-r', '__node:=sim', '-p', 'seed:=5'], env,
             tmp_path / 'sim.log'),
        Proc([*run, 'recorder_node', '--ros-args', '-p', f'output_dir:={tmp_path / "bags"}',
              '-p', 'min_free_disk_mb:=10.0'], env, tmp_path / 'rec.log'),
        Proc([*run, 'expert_node', '--ros-args', '-p', 'episodes:=100',
              '-p', 'use_recorder:=false'], env, tmp_path / 'expert.log'),
        Proc([*run, 'policy_node', '--ros-args', '-r', '__node:=policy',
              '-p', f'checkpoint:={checkpoint}', '-p', 'enabled:=false'], env,
             tmp_path / 'policy.log'),
    ]
    procs += started
    for proc in started:
        proc.wait_for(f'imitation_ros graph backend: {backend}', timeout=120)
    started[1].wait_for('start an episode with ~/start_episode', timeout=60)
    started[3].wait_for('policy bc from', timeout=180)
    yield backend, ws_env
    for proc in started:
        assert proc.stop() == 0, proc.text()[-3000:]
        assert 'Traceback' not in proc.text(), proc.text()[-3000:]


def test_ros2_node_topic_service(stack) -> None:  # noqa: ANN001
    _backend, env = stack
    names = ros2(env, 'node', 'list', '--no-daemon', '--spin-time', '3').stdout.split()
    assert set(NODE_NAMES) <= set(names), names
    hz = Proc(['ros2', 'topic', 'hz', '/joint_states'], env, Path(env['ROS_LOG_DIR']).parent
              / 'hz.log')
    try:
        text = hz.wait_for('average rate:', timeout=60)
    finally:
        hz.kill()
    rates = [float(line.split(':')[1]) for line in text.splitlines()
             if line.strip().startswith('average rate:')]
    assert rates and rates[-1] > 10.0, text     # the sim publishes 100 Hz; any load passes
    reset = ros2(env, 'service', 'call', '/sim/reset', 'std_srvs/srv/Trigger')
    assert 'success=True' in reset.stdout and 'episode=' in reset.stdout, reset.stdout
    rosout = Proc(['ros2', 'topic', 'echo', '/rosout', 'rcl_interfaces/msg/Log',
                   '--filter', "m.name == 'recorder'"], env,
                  Path(env['ROS_LOG_DIR']).parent / 'rosout.log')
    time.sleep(3.0)                       # let the echo's subscription be discovered
    start = ros2(env, 'service', 'call', '/recorder/start_episode', 'std_srvs/srv/Trigger')
    assert 'success=True' in start.stdout, start.stdout
    time.sleep(1.0)
    stop = ros2(env, 'service', 'call', '/recorder/discard_episode', 'std_srvs/srv/Trigger')
    assert 'success=True' in stop.stdout, stop.stdout
    # The recorder logs each episode command; /rosout carries those lines (rqt_console).
    try:
        text = rosout.wait_for('discarded', timeout=60)
    finally:
        rosout.kill()
    assert 'name: recorder' in text, text


@pytest.mark.parametrize('stack', ['rclpy', 'dds'], indirect=True)
def test_ros2_param(stack) -> None:  # noqa: ANN001
    _backend, env = stack
    for node, name in (('/sim', 'seed'), ('/recorder', 'output_dir'),
                       ('/expert', 'episodes'), ('/policy', 'checkpoint')):
        listed = ros2(env, 'param', 'list', node, '--no-daemon').stdout.split()
        assert name in listed and 'use_sim_time' in listed, (node, listed)
    got = ros2(env, 'param', 'get', '/sim', 'seed', '--no-daemon').stdout
    assert 'Integer value is: 5' in got, got
    got = ros2(env, 'param', 'get', '/expert', 'episodes', '--no-daemon').stdout
    assert 'Integer value is: 100' in got, got
    res = ros2(env, 'param', 'set', '/recorder', 'use_sim_time', 'false', '--no-daemon').stdout
    assert 'Set parameter successful' in res, res
    res = ros2(env, 'param', 'set', '/sim', 'no_such_parameter', '1', '--no-daemon',
               check=False)
    assert 'Setting parameter failed' in res.stdout + res.stderr, res.stdout + res.stderr
    # A config parameter the node cannot apply while running is refused with the reason ...
    res = ros2(env, 'param', 'set', '/sim', 'seed', '3', '--no-daemon', check=False)
    out = res.stdout + res.stderr
    assert 'Setting parameter failed' in out and 'cannot change at run time' in out, out
    got = ros2(env, 'param', 'get', '/sim', 'seed', '--no-daemon').stdout
    assert 'Integer value is: 5' in got, got
    # ... and one it supports takes effect (the recorder's task text of the next episodes).
    res = ros2(env, 'param', 'set', '/recorder', 'task', 'stack the cube', '--no-daemon').stdout
    assert 'Set parameter successful' in res, res
    got = ros2(env, 'param', 'get', '/recorder', 'task', '--no-daemon').stdout
    assert 'stack the cube' in got, got
