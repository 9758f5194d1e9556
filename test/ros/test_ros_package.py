"""The package in a real ROS 2 workspace: colcon build, ros2 pkg / run / launch, Ctrl-C.

Everything runs on the sourced ROS 2 (``ros`` marker): the executables that ``colcon build``
installs, started by ``ros2 run`` / ``ros2 launch``, each node checked to log
``imitation_ros graph backend: rclpy``.

Regressions pinned:
- ``ros2 pkg executables imitation_ros`` lists the four nodes and ``imitation-ros``; the
  installed interpreter finds torch and lerobot (``ws_env``'s PYTHONPATH recipe);
- sim_node + recorder_node + expert_node by ``ros2 run``: the expert's 2 episodes land in
  the recorder's bag; SIGINT stops sim and recorder with exit 0, no traceback, bag closed;
- ``ros2 launch sim_record.launch.py episodes:=3`` interrupted like Ctrl-C in a terminal
  (SIGINT to the whole process group, twice, on top of launch's own SIGINT to its nodes):
  the bag is closed with 3 kept episodes and ``imitation-ros convert`` reads it without
  ``bag recover``; no node prints a traceback or logs after its context was shut down;
- ``record.launch.py`` + ``sim.launch.py expert:=true`` (the expert as the teleoperator), an
  episode started and stopped by ``ros2 service call``: recorded and kept;
  ``deploy.launch.py`` runs a trained checkpoint on rclpy and stops cleanly.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from rostools import NEUTRAL_CWD, ROOT, Proc, ros2

pytestmark = [pytest.mark.ros, pytest.mark.e2e]

NODES = ('sim_node', 'recorder_node', 'expert_node', 'policy_node', 'dagger_node')
BACKEND_LINE = 'imitation_ros graph backend: rclpy'
BAD = ('Traceback', 'Failed to publish log message', 'ValueError', 'KeyboardInterrupt')


def _clean(text: str, what: str) -> None:
    for bad in BAD:
        assert bad not in text, f'{what}: {bad!r} in output:\n{text[-5000:]}'


def _cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``ros2 run imitation_ros imitation-ros ARGS`` (the installed CLI)."""
    return ros2(env, 'run', 'imitation_ros', 'imitation-ros', *args, timeout=timeout)


def _bag_info(env: dict[str, str], out: Path) -> tuple[Path, dict]:
    bags = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(bags) == 1, f'{out}: expected one bag, found {bags}'
    info = _cli(env, 'bag', 'info', str(bags[0]), '--json')
    return bags[0], json.loads(info.stdout)


def test_colcon_build_and_installed_executables(ros_ws: dict, ws_env: dict[str, str]) -> None:
    res = ros2(ws_env, 'pkg', 'executables', 'imitation_ros')
    listed = {line.split()[1] for line in res.stdout.splitlines() if line.strip()}
    assert listed == {*NODES, 'imitation-ros'}, res.stdout
    share = ros_ws['install'] / 'imitation_ros' / 'share' / 'imitation_ros'
    assert {p.name for p in (share / 'launch').iterdir()} >= {
        'record.launch.py', 'sim.launch.py', 'sim_record.launch.py', 'deploy.launch.py',
        'dagger.launch.py'}
    exe = ros_ws['install'] / 'imitation_ros' / 'lib' / 'imitation_ros' / 'policy_node'
    shebang = exe.read_text().splitlines()[0]
    interpreter = shebang[2:].strip()
    assert Path(interpreter).is_file(), shebang
    probe = subprocess.run(
        [interpreter, '-c', 'import imitation_ros, imitation_ros.msg, torch, lerobot, rclpy; '
         'print(imitation_ros.__file__)'], env=ws_env, capture_output=True, text=True,
        timeout=120, check=False, cwd=NEUTRAL_CWD)
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert str(ros_ws['install']) in probe.stdout, probe.stdout   # the installed copy, not src
    assert _cli(ws_env, '--help').stdout.startswith('usage: imitation-ros')


def test_ros2_run_sim_recorder_expert(ws_env: dict[str, str], tmp_path: Path, procs) -> None:  # noqa: ANN001
    out = tmp_path / 'bags'
    sim = Proc(['ros2', 'run', 'imitation_ros', 'sim_node', '--ros-args', '-p', 'seed:=3'],
               ws_env, tmp_path / 'sim.log')
    rec = Proc(['ros2', 'run', 'imitation_ros', 'recorder_node', '--ros-args',
                '-p', f'output_dir:={out}', '-p', 'min_free_disk_mb:=10.0'],
               ws_env, tmp_path / 'rec.log')
    procs += [sim, rec]
    sim.wait_for(BACKEND_LINE)
    rec.wait_for('start an episode with ~/start_episode')
    expert = subprocess.run(['ros2', 'run', 'imitation_ros', 'expert_node', '--ros-args',
                             '-p', 'episodes:=2'], env=ws_env, capture_output=True, text=True,
                            timeout=180, check=False, cwd=NEUTRAL_CWD)
    text = expert.stdout + expert.stderr
    assert expert.returncode == 0, text[-4000:]
    assert BACKEND_LINE in text and 'done: 2/2 episodes succeeded' in text, text[-4000:]
    assert rec.stop() == 0, rec.text()[-4000:]
    assert sim.stop() == 0, sim.text()[-4000:]
    for proc, name in ((sim, 'sim_node'), (rec, 'recorder_node')):
        assert BACKEND_LINE in proc.text(), proc.text()[-3000:]
        _clean(proc.text(), name)
    _clean(text, 'expert_node')
    assert 'bag closed' in rec.text()
    _bag, info = _bag_info(ws_env, out)
    assert [(e['index'], e['kept'], e['success']) for e in info['episodes']] == [
        (0, True, True), (1, True, True)], info


def test_launch_sim_record_ctrl_c_closes_the_bag(ws_env: dict[str, str], tmp_path: Path,  # noqa: ANN001
                                                 procs) -> None:
    out = tmp_path / 'bags'
    launch = Proc(['ros2', 'launch', 'imitation_ros', 'sim_record.launch.py', 'episodes:=3',
                   f'output_dir:={out}'], ws_env, tmp_path / 'launch.log')
    procs.append(launch)
    launch.wait_for('episode 2 stopped', timeout=240)
    launch.sigint_group()                 # Ctrl-C: the terminal signals every process
    time.sleep(0.3)
    launch.sigint_group()                 # ... and a second, impatient Ctrl-C
    launch.wait(timeout=60)
    text = launch.text()
    for node in ('sim_node-1', 'recorder_node-2', 'expert_node-3'):
        assert f'[{node}] [INFO]' in text and text.count(BACKEND_LINE) >= 3, text[-5000:]
    _clean(text, 'ros2 launch sim_record.launch.py')
    assert 'bag closed' in text, text[-5000:]
    bag, info = _bag_info(ws_env, out)
    assert info['closed'] is True, info
    assert [(e['index'], e['kept'], e['success']) for e in info['episodes']][:3] == [
        (0, True, True), (1, True, True), (2, True, True)], info
    assert sum(e['kept'] for e in info['episodes']) == 3, info
    conv = _cli(ws_env, 'convert', '--profile', str(ROOT / 'config' / 'sim_arm.yaml'),
                '--out', str(tmp_path / 'ds'), str(bag), timeout=600)
    assert '3 episode' in conv.stdout + conv.stderr, conv.stdout + conv.stderr
    meta = json.loads((tmp_path / 'ds' / 'meta' / 'info.json').read_text())
    assert meta['total_episodes'] == 3, meta


def test_launch_record_with_sim_launch(ws_env: dict[str, str], tmp_path: Path, procs) -> None:  # noqa: ANN001
    out = tmp_path / 'bags'
    sim = Proc(['ros2', 'launch', 'imitation_ros', 'sim.launch.py', 'expert:=true',
                'episodes:=50'], ws_env, tmp_path / 'sim.log')   # the expert is the teleop
    rec = Proc(['ros2', 'launch', 'imitation_ros', 'record.launch.py', f'output_dir:={out}'],
               ws_env, tmp_path / 'record.log')
    procs += [sim, rec]
    sim.wait_for('[expert]: episode 1:', timeout=120)
    rec.wait_for('start an episode with ~/start_episode')
    start = ros2(ws_env, 'service', 'call', '/recorder/start_episode', 'std_srvs/srv/Trigger')
    assert 'success=True' in start.stdout, start.stdout
    time.sleep(1.5)
    stop = ros2(ws_env, 'service', 'call', '/recorder/stop_episode', 'std_srvs/srv/SetBool',
                '{data: true}')
    assert 'success=True' in stop.stdout, stop.stdout
    rec.stop(timeout=60)
    sim.stop(timeout=60)
    for proc, what in ((sim, 'sim.launch.py'), (rec, 'record.launch.py')):
        assert BACKEND_LINE in proc.text(), proc.text()[-5000:]
        _clean(proc.text(), f'ros2 launch {what}')
    assert 'bag closed' in rec.text(), rec.text()[-5000:]
    _bag, info = _bag_info(ws_env, out)
    assert info['closed'] is True
    assert [(e['kept'], e['success']) for e in info['episodes']] == [(True, True)], info
    assert info['episodes'][0]['frames'] >= 20, info


def test_launch_deploy_with_sim(ws_env: dict[str, str], tmp_path: Path, procs,  # noqa: ANN001
                                checkpoint: Path) -> None:
    sim = Proc(['ros2', 'launch', 'imitation_ros', 'sim.launch.py'], ws_env,
               tmp_path / 'sim.log')
    procs.append(sim)
    sim.wait_for(BACKEND_LINE)
    dep = Proc(['ros2', 'launch', 'imitation_ros', 'deploy.launch.py', 'profile:=sim_arm.yaml',
                'enabled:=true', f"checkpoint:={checkpoint}"], ws_env, tmp_path / 'deploy.log')
    procs.append(dep)
    dep.wait_for(f'policy bc from {checkpoint}', timeout=180)
    assert BACKEND_LINE in dep.text()
    time.sleep(2.0)                           # a few control ticks
    assert dep.p.poll() is None, dep.text()[-5000:]
    dep.stop(timeout=60)
    sim.stop(timeout=60)
    _clean(dep.text(), 'ros2 launch deploy.launch.py')
    _clean(sim.text(), 'ros2 launch sim.launch.py')
    assert 'process has finished cleanly' in dep.text(), dep.text()[-5000:]


def test_launch_dagger_with_sim(ws_env: dict[str, str], tmp_path: Path, procs,  # noqa: ANN001
                                checkpoint: Path) -> None:
    """dagger.launch.py (policy node remapped into dagger_node) drives the sim on rclpy."""
    sim = Proc(['ros2', 'launch', 'imitation_ros', 'sim.launch.py'], ws_env,
               tmp_path / 'sim.log')
    procs.append(sim)
    sim.wait_for(BACKEND_LINE)
    dag = Proc(['ros2', 'launch', 'imitation_ros', 'dagger.launch.py', 'profile:=sim_arm.yaml',
                'enabled:=true', f"checkpoint:={checkpoint}"], ws_env, tmp_path / 'dagger.log')
    procs.append(dag)
    dag.wait_for(f'policy bc from {checkpoint}', timeout=180)
    assert dag.text().count(BACKEND_LINE) >= 2, dag.text()[-5000:]   # policy and dagger
    # the arm's command topic carries dagger_node's output (the policy's goes to /policy/...)
    echo = ros2(ws_env, 'topic', 'echo', '/forward_position_controller/commands',
                'std_msgs/msg/Float64MultiArray', '--once', timeout=90)
    assert 'data:' in echo.stdout, echo.stdout
    info = ros2(ws_env, 'topic', 'info', '/forward_position_controller/commands', '-v')
    assert 'Node name: dagger' in info.stdout and 'Node name: policy' not in info.stdout, \
        info.stdout
    assert dag.p.poll() is None, dag.text()[-5000:]
    dag.stop(timeout=60)
    sim.stop(timeout=60)
    _clean(dag.text(), 'ros2 launch dagger.launch.py')
    _clean(sim.text(), 'ros2 launch sim.launch.py')
    assert dag.text().count('process has finished cleanly') == 2, dag.text()[-5000:]
