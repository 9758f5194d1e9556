"""Parameter services, ``/parameter_events`` and ``/rosout`` of a DDS-backend node process.

The node is this file run as a script (``python test_graph_param_services.py``, DDS backend): it
declares a few parameters, refuses ``fps`` changes and bad ``mode`` values in its on-set
callback, logs a warning at start and a line per ``ping`` call. The test process talks to it over
loopback DDS in this test's ROS_DOMAIN_ID:

- with this backend's own client (always): every rcl_interfaces service, events, rosout;
- with the real ``ros2 param`` / ``ros2 topic echo`` CLI (``ros``-marked, when ROS 2 is sourced).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
HERE = Path(__file__).resolve()


def node_main() -> None:
    """The node under test (runs in the subprocess)."""
    from imitation_ros.graph import (
        Node,
        ParameterDescriptor,
        SetParametersResult,
        run,
    )

    class ParamNode(Node):
        def __init__(self) -> None:
            super().__init__('pnode')
            self.declare_parameter('fps', 30.0)
            self.declare_parameter('camera.name', 'wrist')
            self.declare_parameter('camera.size', [640, 480])
            self.declare_parameter('locked', 5, ParameterDescriptor(
                read_only=True, description='fixed at start'))
            self.declare_parameter('mode', 'hold')
            self.declare_parameter('free', 1, ParameterDescriptor(dynamic_typing=True))
            self.add_on_set_parameters_callback(self._on_set)
            self.get_logger().warning('pnode started')
            print('ready', flush=True)

        def _on_set(self, params: list[Any]) -> SetParametersResult:
            for p in params:
                if p.name == 'fps':
                    return SetParametersResult(
                        successful=False, reason='fps cannot change at run time (restart)')
                if p.name == 'mode' and p.value not in ('hold', 'clamp'):
                    return SetParametersResult(
                        successful=False, reason=f'mode {p.value!r}: expected hold or clamp')
            return SetParametersResult(successful=True)

    run(ParamNode, sys.argv)


@pytest.fixture
def pnode(python: str, node_env: dict[str, str]):  # noqa: ANN201
    proc = subprocess.Popen([python, str(HERE)], env=node_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == 'ready', proc.stderr.read() if proc.poll() is not None else line
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


@pytest.fixture
def client_node(ros_domain: int):  # noqa: ANN201
    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node

    ctx = context.Context([])
    node = Node('param_test_client', context=ctx, start_parameter_services=False)
    yield node
    ctx.shutdown()


def _call(node: Any, srv: str, name: str, **fields: Any) -> Any:
    from imitation_ros.messages import runtime

    cls = runtime.srv_class(f'rcl_interfaces/srv/{srv}')
    cli = node.create_client(cls, name)
    assert cli.wait_for_service(timeout_sec=20.0), f'{name} not ready'
    fut = cli.call_async(cls.Request(**fields))
    from imitation_ros.graph.dds.node import spin_until_future_complete

    spin_until_future_complete(node, fut, timeout_sec=20.0)
    assert fut.done(), f'{name}: no reply'
    return fut.result()


def _param_msg(name: str, value: Any) -> Any:
    from imitation_ros.graph.dds.param_service import parameter_to_msg
    from imitation_ros.graph.params import Parameter

    return parameter_to_msg(Parameter(name, value=value))


def test_parameter_services_events_and_rosout(pnode, client_node) -> None:  # noqa: ANN001
    from imitation_ros.graph.dds.node import spin_once
    from imitation_ros.graph.qos import qos_profile_rosout_default
    from imitation_ros.messages import runtime

    node = client_node
    events: list[Any] = []
    logs: list[Any] = []
    node.create_subscription(runtime.msg_class('rcl_interfaces/msg/ParameterEvent'),
                             '/parameter_events', events.append, 1000)
    node.create_subscription(runtime.msg_class('rcl_interfaces/msg/Log'), '/rosout',
                             logs.append, qos_profile_rosout_default)

    res = _call(node, 'ListParameters', '/pnode/list_parameters')
    assert sorted(res.result.names) == ['camera.name', 'camera.size', 'fps', 'free', 'locked',
                                        'mode', 'use_sim_time']
    assert list(res.result.prefixes) == ['camera']
    res = _call(node, 'ListParameters', '/pnode/list_parameters', prefixes=['camera'], depth=1)
    assert sorted(res.result.names) == ['camera.name', 'camera.size']

    res = _call(node, 'GetParameters', '/pnode/get_parameters', names=['fps', 'camera.size'])
    assert [v.type for v in res.values] == [3, 7]
    assert res.values[0].double_value == 30.0
    assert list(res.values[1].integer_array_value) == [640, 480]
    # rclpy: one undeclared name empties the whole answer
    res = _call(node, 'GetParameters', '/pnode/get_parameters', names=['fps', 'nope'])
    assert list(res.values) == []

    res = _call(node, 'GetParameterTypes', '/pnode/get_parameter_types',
                names=['mode', 'locked'])
    assert list(res.types) == [4, 2]
    res = _call(node, 'DescribeParameters', '/pnode/describe_parameters', names=['locked'])
    (desc,) = res.descriptors
    assert (desc.name, desc.type, desc.read_only, desc.description) == (
        'locked', 2, True, 'fixed at start')

    res = _call(node, 'SetParameters', '/pnode/set_parameters', parameters=[
        _param_msg('mode', 'clamp'), _param_msg('mode', 'spin'), _param_msg('fps', 60.0),
        _param_msg('locked', 6), _param_msg('nope', 1), _param_msg('mode', 3)])
    ok = [(r.successful, r.reason) for r in res.results]
    assert ok[0] == (True, '')
    assert ok[1] == (False, "mode 'spin': expected hold or clamp")
    assert ok[2] == (False, 'fps cannot change at run time (restart)')
    assert ok[3][0] is False and 'read-only' in ok[3][1] and 'locked' in ok[3][1]
    assert ok[4][0] is False and "'nope' is not declared" in ok[4][1]
    assert ok[5][0] is False and 'Wrong parameter type' in ok[5][1]

    res = _call(node, 'SetParametersAtomically', '/pnode/set_parameters_atomically',
                parameters=[_param_msg('camera.name', 'top'), _param_msg('fps', 10.0)])
    assert (res.result.successful, res.result.reason) == (
        False, 'fps cannot change at run time (restart)')
    res = _call(node, 'GetParameters', '/pnode/get_parameters', names=['camera.name', 'mode'])
    assert [v.string_value for v in res.values] == ['wrist', 'clamp']  # all or none

    # a dynamically typed parameter may change type, and NOT_SET deletes it
    res = _call(node, 'SetParameters', '/pnode/set_parameters',
                parameters=[_param_msg('free', 'text')])
    assert res.results[0].successful
    res = _call(node, 'SetParameters', '/pnode/set_parameters', parameters=[
        runtime.msg_class('rcl_interfaces/msg/Parameter')(name='free')])
    assert res.results[0].successful
    res = _call(node, 'ListParameters', '/pnode/list_parameters')
    assert 'free' not in res.result.names

    deadline = time.monotonic() + 20
    want = {('changed', 'mode'), ('changed', 'free'), ('deleted', 'free')}
    seen: set[tuple[str, str]] = set()
    found_log = None
    while time.monotonic() < deadline and (not want <= seen or found_log is None):
        spin_once(node, timeout_sec=0.2)
        for ev in events:
            if ev.node == '/pnode':
                seen |= {('changed', p.name) for p in ev.changed_parameters}
                seen |= {('deleted', p.name) for p in ev.deleted_parameters}
        found_log = next((m for m in logs if m.msg == 'pnode started'), None)
    assert want <= seen, f'parameter events seen: {sorted(seen)}'
    assert ('changed', 'fps') not in seen  # refused sets publish nothing
    # /rosout is transient local: the start-up warning reaches this late subscriber
    assert found_log is not None, [m.msg for m in logs]
    assert (found_log.level, found_log.name) == (30, 'pnode')
    assert found_log.file == str(HERE) and found_log.function == '__init__'
    assert found_log.line > 0 and found_log.stamp.sec > 1_600_000_000


def _ros2(*args: str, timeout: float = 60.0) -> str:
    env = dict(os.environ)
    env.pop('IMITATION_ROS_BACKEND', None)
    out = subprocess.run(['ros2', *args], env=env, capture_output=True, text=True,
                         timeout=timeout, check=False)
    return out.stdout + out.stderr


@pytest.mark.ros
def test_real_ros2_param_cli(pnode) -> None:  # noqa: ANN001
    """Real ``ros2 param`` and ``ros2 topic echo /rosout`` against the DDS-backend node."""
    if shutil.which('ros2') is None:
        pytest.skip('ROS 2 is not sourced')
    # first: the start-up line is kept 10 s (rosout lifespan) for late joiners like this one
    out = _ros2('topic', 'echo', '/rosout', 'rcl_interfaces/msg/Log', '--once', '--no-daemon',
                '--qos-durability', 'transient_local', '--qos-reliability', 'reliable',
                '--qos-depth', '1000')
    assert 'msg: pnode started' in out and 'level: 30' in out, out
    out = _ros2('param', 'list', '/pnode', '--no-daemon')
    assert out.split() == ['camera.name', 'camera.size', 'fps', 'free', 'locked', 'mode',
                           'use_sim_time'], out
    assert 'Double value is: 30.0' in _ros2('param', 'get', '/pnode', 'fps', '--no-daemon')
    assert 'Set parameter successful' in _ros2('param', 'set', '/pnode', 'mode', 'clamp',
                                               '--no-daemon')
    out = _ros2('param', 'set', '/pnode', 'fps', '60.0', '--no-daemon')
    assert 'Setting parameter failed: fps cannot change at run time (restart)' in out, out
    out = _ros2('param', 'describe', '/pnode', 'locked', '--no-daemon')
    assert 'Type: integer' in out and 'Read only: true' in out and 'fixed at start' in out
    out = _ros2('param', 'dump', '/pnode', '--no-daemon')
    assert '/pnode:\n  ros__parameters:' in out and 'mode: clamp' in out, out


if __name__ == '__main__':
    node_main()
