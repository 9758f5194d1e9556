"""Fixtures of the ``ros`` tests: a colcon workspace holding this package, and its processes.

``ros_ws`` (once per session) copies the package (``CMakeLists.txt``, ``package.xml``, the
Python package, ``msg/``, ``launch/``, ``config/``; ``setup.py`` too, which colcon ignores for an
ament_cmake package) into ``<tmp>/ws/src/imitation_ros`` and runs ``colcon build`` there with
the sourced ROS 2's colcon (rosidl generates the message type support). The installed
executables then start with the Python that build found (the shebang CMakeLists.txt writes:
``/usr/bin/python3`` with a Debian/Ubuntu ROS 2) and find the project's own
dependencies (numpy, rosbags, mujoco, torch, lerobot, cyclonedds) because ``ws_env`` appends
the project venv's site-packages to ``PYTHONPATH`` -- after the workspace and ROS entries, so
the installed ``imitation_ros`` and ROS's packages win; the README gives the same recipe.

``ws_env`` is the environment of ``source install/setup.bash`` plus this test's
``ROS_DOMAIN_ID``, loopback discovery and no ``IMITATION_ROS_BACKEND`` (installed nodes pick
rclpy as a user's would). Processes are started by ``Proc``: own process group (so a test can
send SIGINT to the group like Ctrl-C in a terminal) and SIGINT restored to its default (a
background job of a non-interactive shell inherits it ignored).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
from rostools import ROOT, Proc

PACKAGE_FILES = ('imitation_ros', 'launch', 'config', 'msg', 'resource', 'CMakeLists.txt',
                 'setup.py', 'setup.cfg', 'package.xml')
VENV_SITE = sysconfig.get_paths()['purelib']


@pytest.fixture
def procs():  # noqa: ANN201
    """List to append ``Proc`` objects to; every one still running is killed afterwards."""
    started: list[Proc] = []
    yield started
    for proc in reversed(started):
        proc.kill()


def _sourced_env(setup: Path, base: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(['bash', '-c', f'source {setup} >/dev/null && env -0'], env=base,
                         capture_output=True, check=True, timeout=60).stdout
    env = {}
    for item in out.split(b'\0'):
        key, sep, val = item.decode().partition('=')
        if sep:
            env[key] = val
    return env


@pytest.fixture(scope='session')
def ros_ws(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``colcon build`` of this package in a fresh workspace; returns paths and the env."""
    ws = tmp_path_factory.mktemp('ws')
    src = ws / 'src' / 'imitation_ros'
    src.mkdir(parents=True)
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info')
    for name in PACKAGE_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    base = dict(os.environ)
    base['PYTHONPATH'] = os.pathsep.join(
        p for p in base.get('PYTHONPATH', '').split(os.pathsep)
        if p and Path(p).resolve() != ROOT)
    base.pop('IMITATION_ROS_BACKEND', None)
    build = subprocess.run(['colcon', 'build', '--event-handlers', 'console_direct-'],
                           cwd=ws, env=base, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, f'colcon build in {ws}:\n{build.stdout}\n{build.stderr}'
    env = _sourced_env(ws / 'install' / 'setup.bash', base)
    env['PYTHONPATH'] = env.get('PYTHONPATH', '') + os.pathsep + VENV_SITE
    return {'ws': ws, 'install': ws / 'install', 'env': env, 'build_out': build.stdout}


@pytest.fixture
def ws_env(ros_ws: dict, ros_domain: int, tmp_path: Path) -> dict[str, str]:
    """Environment of the built workspace for this test (domain, loopback, rclpy pick)."""
    env = dict(ros_ws['env'])
    env.pop('IMITATION_ROS_BACKEND', None)
    env['ROS_DOMAIN_ID'] = str(ros_domain)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['PYTHONUNBUFFERED'] = '1'
    env['ROS_LOG_DIR'] = str(tmp_path / 'roslog')
    env.setdefault('MUJOCO_GL', 'egl')
    yield env
    # The ros2 CLI may have started a daemon on this domain: stop it (no-op if none).
    subprocess.run(['ros2', 'daemon', 'stop'], env=env, capture_output=True, timeout=60,
                   check=False)


@pytest.fixture(scope='session')
def checkpoint(tiny_bc_checkpoint: Path) -> Path:
    """A tiny BC policy trained on a synthetic dataset with the sim arm's features."""
    return tiny_bc_checkpoint
