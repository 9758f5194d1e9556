"""Shared test setup.

Every test process keeps DDS discovery on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST)
and gets a ROS_DOMAIN_ID of its own, reserved with a file lock, so parallel test runs on one
machine never see each other. Nothing is downloaded (HF_HUB_OFFLINE=1) and torch uses one
thread (2-core machines).
"""
from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / 'shared'
REALBAGS = SHARED / 'realbags'

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.pop('ROS_STATIC_PEERS', None)
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')
os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('PYOPENGL_PLATFORM', 'egl')

_LOCK_DIR = Path('/tmp/imitation_ros_test_domains')
_held: list[int] = []


def _reserve_domain() -> int:
    """Reserve a free ROS_DOMAIN_ID in 1..200 for this process (released when it exits)."""
    _LOCK_DIR.mkdir(parents=True, exist_ok=True)
    start = os.getpid() % 200
    for i in range(200):
        dom = (start + i) % 200 + 1
        fd = os.open(_LOCK_DIR / f'{dom}.lock', os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held.append(fd)
        return dom
    msg = 'no free ROS_DOMAIN_ID in 1..200 (200 test processes running?)'
    raise RuntimeError(msg)


@pytest.fixture
def ros_domain(monkeypatch: pytest.MonkeyPatch) -> int:
    """A ROS_DOMAIN_ID reserved for this test, set in os.environ (inherited by subprocesses)."""
    dom = _reserve_domain()
    monkeypatch.setenv('ROS_DOMAIN_ID', str(dom))
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    yield dom
    fd = _held.pop()
    os.close(fd)


@pytest.fixture
def node_env(ros_domain: int) -> dict[str, str]:
    """Environment for node subprocesses: this test's domain, loopback discovery, DDS backend."""
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(ros_domain)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['IMITATION_ROS_BACKEND'] = 'dds'
    env['PYTHONUNBUFFERED'] = '1'
    env['PYTHONPATH'] = str(ROOT) + os.pathsep + env.get('PYTHONPATH', '')
    return env


@pytest.fixture
def python() -> str:
    """The interpreter running the tests (use it to start node processes)."""
    return sys.executable


@pytest.fixture
def realbags() -> Path:
    """Folder of the reference bags written by ROS 2's own ``ros2 bag record``."""
    if not REALBAGS.is_dir():
        pytest.fail(f'{REALBAGS} missing: the reference bags live in shared/realbags')
    return REALBAGS
