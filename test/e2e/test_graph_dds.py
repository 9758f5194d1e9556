"""DDS backend across processes: topics, raw CDR, services, params, names, QoS, SIGTERM.

Every peer is a real process (``python -m imitation_ros.graph.demo_talker <role>``) talking
over Cyclone DDS on loopback in this test's ROS_DOMAIN_ID; some checks host a node in the test
process itself (also a separate DDS participant from the peers).

Regressions pinned:
- JointState, a 640x480 Image and a JointTrajectory cross processes intact; raw subscriptions
  get bytes identical to rosbags serialize_cdr of the same content.
- std_srvs SetBool and Trigger calls across processes, with ~ private service names.
- ``-p``, ``--params-file``, ``-r topic``, ``__ns``/``__node`` remaps reach the node.
- best-effort subscriber hears a reliable publisher; a reliable subscriber does not match a
  best-effort publisher; a latched (transient local) topic reaches a late joiner.
- SIGTERM makes run() call destroy_node and exit 0.

Where the other side can be real ROS 2, tests take conftest's ``backends`` / ``nodes_backends``:
the service server, the talkers run on ``node_env`` (DDS backend or rclpy) and the listeners on
``probe_env``; the test process's own client is always the DDS backend.
"""
from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from imitation_ros.messages import typestore

pytestmark = pytest.mark.e2e
DEMO = ['-m', 'imitation_ros.graph.demo_talker']


class Peer:
    """A demo node process whose stdout lines are collected."""

    def __init__(self, python: str, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([python, *DEMO, *args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []

    def wait_for(self, prefix: str, count: int = 1, timeout_s: float = 20.0) -> list[str]:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            hits = [ln for ln in self.lines if ln.startswith(prefix)]
            if len(hits) >= count:
                return hits
            if sel.select(timeout=0.2):
                line = self.proc.stdout.readline()
                if not line:
                    break
                self.lines.append(line.rstrip('\n'))
        return [ln for ln in self.lines if ln.startswith(prefix)]

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        self.lines.extend(out.splitlines())
        return self.proc.returncode, err


@pytest.fixture
def peers():  # noqa: ANN201
    started: list[Peer] = []
    yield started
    for p in started:
        p.stop()


def _rb(name: str):  # noqa: ANN202
    return typestore().types[name]


def _expected_cdr() -> dict[str, bytes]:
    """Sample content of demo_talker, built independently as rosbags dataclasses."""
    hdr = _rb('std_msgs/msg/Header')(
        stamp=_rb('builtin_interfaces/msg/Time')(sec=1700000000, nanosec=123456789),
        frame_id='base')
    f64 = np.float64
    js = _rb('sensor_msgs/msg/JointState')(
        header=hdr, name=['j1', 'j2', 'j3'], position=np.array([0.1, -0.2, 0.3]),
        velocity=np.array([1.0, 2.0, 3.0]), effort=np.array([], dtype=f64))
    data = np.frombuffer(bytes((i * 7) % 251 for i in range(256)) * (640 * 480 * 3 // 256),
                         dtype=np.uint8)
    img = _rb('sensor_msgs/msg/Image')(header=hdr, height=480, width=640, encoding='rgb8',
                                       is_bigendian=0, step=1920, data=data)
    pt = _rb('trajectory_msgs/msg/JointTrajectoryPoint')
    points = [pt(positions=np.array([0.1 * k, 0.2 * k]), velocities=np.array([0.0, 1.0]),
                 accelerations=np.array([], dtype=f64), effort=np.array([], dtype=f64),
                 time_from_start=_rb('builtin_interfaces/msg/Duration')(sec=k, nanosec=500))
              for k in range(3)]
    traj = _rb('trajectory_msgs/msg/JointTrajectory')(header=hdr, joint_names=['j1', 'j2'],
                                                      points=points)
    ts = typestore()
    return {
        'demo_js': bytes(ts.serialize_cdr(js, 'sensor_msgs/msg/JointState')),
        'demo_image': bytes(ts.serialize_cdr(img, 'sensor_msgs/msg/Image')),
        'demo_traj': bytes(ts.serialize_cdr(traj, 'trajectory_msgs/msg/JointTrajectory')),
    }


def test_types_cross_processes_raw_bytes_match_rosbags(  # noqa: ANN001
        python, node_env, peers) -> None:
    peers.append(Peer(python, node_env, 'rawecho'))
    peers.append(Peer(python, node_env, 'echo'))
    peers.append(Peer(python, node_env, 'samples', '--ros-args', '-p', 'period_s:=0.2'))
    want = _expected_cdr()
    raw = peers[0].wait_for('raw ', count=3 * 2, timeout_s=30)
    got = {ln.split()[1]: ln.split()[2:] for ln in raw}
    assert set(got) == set(want), raw
    for topic, cdr in want.items():
        assert got[topic] == [str(len(cdr)), hashlib.sha256(cdr).hexdigest()], topic
    msgs = peers[1].wait_for('msg ', count=3 * 2, timeout_s=20)
    text = '\n'.join(msgs)
    assert "msg demo_js ['j1', 'j2', 'j3'] [0.1, -0.2, 0.3]" in text
    img_sha = hashlib.sha256(bytes((i * 7) % 251 for i in range(256)) * 3600).hexdigest()
    assert f'msg demo_image 640x480 rgb8 {img_sha}' in text
    assert "msg demo_traj ['j1', 'j2'] 3 [0.2, 0.4]" in text


def test_services_across_processes(python, nodes_backends, peers, monkeypatch) -> None:  # noqa: ANN001
    node_env = nodes_backends.node_env
    peers.append(Peer(python, node_env, 'server', '--ros-args', '-r', '__ns:=/robot'))
    for k, v in node_env.items():
        if k != 'IMITATION_ROS_BACKEND':
            monkeypatch.setenv(k, v)
    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node, spin_until_future_complete
    from imitation_ros.messages.runtime import srv_class

    ctx = context.Context([])
    try:
        node = Node('client', context=ctx)
        setb, trig = srv_class('std_srvs/srv/SetBool'), srv_class('std_srvs/srv/Trigger')
        c1 = node.create_client(setb, '/robot/set_flag')
        c2 = node.create_client(trig, '/robot/demo/trigger')
        assert c1.wait_for_service(timeout_sec=20) and c2.wait_for_service(timeout_sec=5)
        for flag in (True, False):
            fut = c1.call_async(setb.Request(data=flag))
            spin_until_future_complete(node, fut, timeout_sec=10)
            assert fut.done() and fut.result() == setb.Response(success=flag,
                                                                message=f'flag={flag}')
        fut = c2.call_async(trig.Request())
        spin_until_future_complete(node, fut, timeout_sec=10)
        assert fut.result().message == 'triggered /robot/demo'
        absent = node.create_client(trig, '/robot/nothing_here')
        assert not absent.wait_for_service(timeout_sec=0.5)
    finally:
        ctx.shutdown()


def test_params_file_p_and_name_remaps(python, node_env, tmp_path: Path) -> None:  # noqa: ANN001
    f = tmp_path / 'params.yaml'
    f.write_text('/**:\n  ros__parameters:\n    text: from_wildcard\n'
                 '/robot/renamed:\n  ros__parameters:\n    gains: [3.0, 4.5]\n    count: 9\n')
    out = subprocess.run(
        [python, *DEMO, 'params', '--ros-args', '--params-file', str(f), '-p', 'period_s:=2',
         '-r', '__node:=renamed', '-r', '__ns:=/robot', '-p', 'qos:=latched'],
        env=node_env, capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith('params '))
    assert line.startswith('params /robot/renamed DemoConfig(')
    for part in ("text='from_wildcard'", 'period_s=2.0', 'count=9', 'gains=(3.0, 4.5)',
                 "qos='latched'"):
        assert part in line, line
    bad = subprocess.run([python, *DEMO, 'params', '--ros-args', '-p', 'count:=many'],
                         env=node_env, capture_output=True, text=True, timeout=30, check=False)
    assert bad.returncode != 0 and "'count'" in bad.stderr


def test_remap_and_qos_compatibility(python, backends, peers) -> None:  # noqa: ANN001
    node_env, probe_env = backends.node_env, backends.probe_env
    # reliable talker remapped to /remapped; best-effort listener there hears it
    peers.append(Peer(python, probe_env, 'listener', '--ros-args', '-p', 'qos:=sensor_data',
                      '-p', 'topic:=/remapped'))
    peers.append(Peer(python, node_env, 'talker', '--ros-args', '-r', 'chatter:=/remapped'))
    # best-effort talker; a reliable listener must not match it
    peers.append(Peer(python, probe_env, 'listener', '--ros-args', '-p', 'topic:=be'))
    peers.append(Peer(python, node_env, 'talker', '--ros-args', '-p', 'topic:=be',
                      '-p', 'qos:=sensor_data', '-p', 'text:=besteffort'))
    assert peers[0].wait_for('heard hello', count=3, timeout_s=30)
    # by now the second pair has been discovered for long (same start time): still nothing
    time.sleep(1.0)
    assert peers[2].wait_for('heard', timeout_s=1.0) == []
    rc, err = peers[2].stop()
    assert rc == 0, err


def test_latched_late_joiner_and_sigterm(python, backends, peers) -> None:  # noqa: ANN001
    node_env, probe_env = backends.node_env, backends.probe_env
    talker = Peer(python, node_env, 'talker', '--ros-args', '-p', 'qos:=latched',
                  '-p', 'count:=1', '-p', 'text:=latched', '-p', 'period_s:=0.1')
    peers.append(talker)
    time.sleep(3.0)  # the single message is long published before the listener exists
    late = Peer(python, probe_env, 'listener', '--ros-args', '-p', 'qos:=latched')
    peers.append(late)
    assert late.wait_for('heard latched 0', timeout_s=30) == ['heard latched 0']
    rc, err = talker.stop()
    assert rc == 0, err
    backends.expect_log(err, 'talker')
    assert 'Traceback' not in err, err
    assert 'destroy_node talker' in talker.lines


def test_graph_introspection_and_discovery_info(  # noqa: ANN001
        python, node_env, peers, monkeypatch) -> None:
    peers.append(Peer(python, node_env, 'talker', '--ros-args', '-p', 'qos:=sensor_data',
                      '-r', '__ns:=/robot'))
    peers.append(Peer(python, node_env, 'talker', '--ros-args', '-p', 'qos:=latched',
                      '-p', 'topic:=/latched', '-r', '__node:=other'))
    for k, v in node_env.items():
        monkeypatch.setenv(k, v)
    from cyclonedds._clayer import ddspy_take
    from cyclonedds.sub import DataReader

    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node, _Topic, dds_qos
    from imitation_ros.graph.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from imitation_ros.messages.runtime import deserialize

    ctx = context.Context([])
    try:
        node = Node('inspector', context=ctx)
        end = time.monotonic() + 20
        while time.monotonic() < end and (node.count_publishers('/robot/chatter') < 1
                                          or node.count_publishers('/latched') < 1):
            time.sleep(0.1)
        infos = node.get_publishers_info_by_topic('/robot/chatter')
        assert len(infos) == 1 and infos[0].topic_type == 'std_msgs/msg/String'
        assert infos[0].qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
        latched = node.get_publishers_info_by_topic('/latched')[0].qos_profile
        assert latched.durability == DurabilityPolicy.TRANSIENT_LOCAL
        assert latched.reliability == ReliabilityPolicy.RELIABLE
        topics = dict(node.get_topic_names_and_types())
        assert topics['/robot/chatter'] == ['std_msgs/msg/String']
        assert node.count_subscribers('/robot/chatter') == 0
        # ros_discovery_info as rmw_cyclonedds publishes it: node names of the peers
        name = 'rmw_dds_common/msg/ParticipantEntitiesInfo'
        tp = _Topic.get(ctx, 'ros_discovery_info', name, False)
        rd = DataReader(ctx.participant, tp, qos=dds_qos(
            QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL), b''))
        seen: set[tuple[str, str]] = set()
        end = time.monotonic() + 10
        while time.monotonic() < end and not {('/robot', 'demo'), ('/', 'other')} <= seen:
            for data, _info in ddspy_take(rd._ref, 0, 50):  # noqa: SLF001
                for ni in deserialize(data, name).node_entities_info_seq:
                    if ni.writer_gid_seq:
                        seen.add((ni.node_namespace, ni.node_name))
            time.sleep(0.1)
        assert {('/robot', 'demo'), ('/', 'other')} <= seen
    finally:
        ctx.shutdown()
