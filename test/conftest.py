"""Shared test setup.

Every test process keeps DDS discovery on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST)
and gets a ROS_DOMAIN_ID of its own, reserved with a file lock, so parallel test runs on one
machine never see each other. Nothing is downloaded (HF_HUB_OFFLINE=1) and torch uses one
thread (2-core machines).

Backends. The test process itself always uses the DDS backend (``IMITATION_ROS_BACKEND=dds``
is set here before anything imports ``imitation_ros.graph``), also when ROS 2 is sourced, so
unit tests behave the same on every machine. Processes a test starts get their backend from
the env it passes:

- ``node_env``: DDS backend (unchanged; what a test that does not care uses).
- ``backends`` (parametrized): ``.node_env`` for the nodes under test, ``.probe_env`` for the
  test's own helper processes (publishers, service callers, echo probes). Three variants,
  same assertions each:

  ======== ============= ============== ===========================
  id       nodes         probes         marker
  ======== ============= ============== ===========================
  dds      DDS backend   DDS backend    (none)
  rclpy    rclpy         rclpy          ``ros``
  mixed    DDS backend   rclpy          ``ros``
  ======== ============= ============== ===========================

  rclpy processes get the sourced ROS 2 environment (PYTHONPATH with rclpy, RMW
  implementation) plus ``IMITATION_ROS_BACKEND=rclpy``; ``ros`` tests are deselected by
  ``scripts/test.sh`` where rclpy does not import. To adopt it in a test, replace the
  ``node_env`` argument by ``backends`` and start nodes with ``backends.node_env``, helpers
  with ``backends.probe_env``; ``backends.expect_log(text)`` asserts the backend line a node
  printed (``imitation_ros graph backend: rclpy``) so a variant cannot silently fall back.
- ``nodes_backends``: the same without the ``mixed`` variant, for tests that start only nodes
  (no probe processes), e.g. a whole launch file.
- ``ros_env``: the rclpy environment alone (for ``ros2`` CLI commands in ``test/ros``).
"""
from __future__ import annotations

import fcntl
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Reference bags ROS 2's own ``ros2 bag record`` wrote, cut to 1.5 s (test/data/realbags/README.md)
REALBAGS = ROOT / 'test' / 'data' / 'realbags'

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ['IMITATION_ROS_BACKEND'] = 'dds'     # the test process itself: see the docstring
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


ROS_SOURCED = importlib.util.find_spec('rclpy') is not None


def _env(ros_domain: int, backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(ros_domain)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['IMITATION_ROS_BACKEND'] = backend
    env['PYTHONUNBUFFERED'] = '1'
    env['PYTHONPATH'] = str(ROOT) + os.pathsep + env.get('PYTHONPATH', '')
    if backend == 'rclpy':
        if not ROS_SOURCED:
            pytest.fail('a `ros` test ran without ROS 2 sourced (rclpy does not import): '
                        'source /opt/ros/<distro>/setup.bash or deselect with -m "not ros"')
        env.setdefault('RMW_IMPLEMENTATION', 'rmw_cyclonedds_cpp')
        env['ROS_LOG_DIR'] = env.get('ROS_LOG_DIR', '/tmp/imitation_ros_test_roslog')
    return env


@pytest.fixture
def node_env(ros_domain: int) -> dict[str, str]:
    """Environment for node subprocesses: this test's domain, loopback discovery, DDS backend."""
    return _env(ros_domain, 'dds')


@pytest.fixture
def ros_env(ros_domain: int) -> dict[str, str]:
    """Environment for rclpy processes and ``ros2`` commands (ROS 2 sourced, this domain)."""
    return _env(ros_domain, 'rclpy')


@dataclass
class Backends:
    """Which backend the nodes under test and the test's probe processes use (see top)."""

    id: str
    node_backend: str
    probe_backend: str
    node_env: dict[str, str]
    probe_env: dict[str, str]

    def expect_log(self, text: str, what: str = 'node') -> None:
        """Assert a node's output names the backend it was meant to run on."""
        line = f'imitation_ros graph backend: {self.node_backend}'
        assert line in text, f'{what} output lacks {line!r}:\n{text[-3000:]}'


BACKEND_VARIANTS = [
    pytest.param(('dds', 'dds'), id='dds'),
    pytest.param(('rclpy', 'rclpy'), id='rclpy', marks=pytest.mark.ros),
    pytest.param(('dds', 'rclpy'), id='mixed', marks=pytest.mark.ros),
]


@pytest.fixture(params=BACKEND_VARIANTS)
def backends(request: pytest.FixtureRequest, ros_domain: int) -> Backends:
    """Node and probe environments of one variant: ``dds``, ``rclpy`` or ``mixed``."""
    nodes, probes = request.param
    name = nodes if nodes == probes else 'mixed'
    return Backends(name, nodes, probes, _env(ros_domain, nodes), _env(ros_domain, probes))


@pytest.fixture
def python() -> str:
    """The interpreter running the tests (use it to start node processes)."""
    return sys.executable


@pytest.fixture
def realbags() -> Path:
    """Folder of the reference bags written by ROS 2's own ``ros2 bag record`` (in the repo)."""
    if not (REALBAGS / 'arm_mcap' / 'metadata.yaml').is_file():
        pytest.fail(f'{REALBAGS} is incomplete: the reference bags are committed under '
                    'test/data/realbags (scripts/trim_reference_bags.py made them)')
    return REALBAGS


@pytest.fixture(params=BACKEND_VARIANTS[:2])
def nodes_backends(request: pytest.FixtureRequest, ros_domain: int) -> Backends:
    """Like ``backends`` for tests without probe processes: ``dds`` and ``rclpy`` only."""
    nodes, _probes = request.param
    env = _env(ros_domain, nodes)
    return Backends(nodes, nodes, nodes, env, env)


@pytest.fixture(scope='session')
def tiny_bc_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny image BC policy trained 20 steps on a synthetic dataset with the sim arm's features.

    One per session, shared by the e2e and ROS tests that need a checkpoint to deploy.
    """
    from imitation_ros.learn import TrainConfig, train
    from imitation_ros.learn.synthetic import make_synthetic_dataset
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import config_path

    tmp = tmp_path_factory.mktemp('policy')
    profile = load_profile(config_path('sim_arm.yaml'))
    ds = make_synthetic_dataset(tmp / 'ds', profile, n_episodes=3, n_frames=20)
    train(TrainConfig(dataset=ds, policy='bc', output_dir=tmp / 'run', steps=20,
                      val_every=20, save_every=20, device='cpu', progress=False))
    return tmp / 'run'
