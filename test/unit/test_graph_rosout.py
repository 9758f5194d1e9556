"""``/rosout`` of the DDS backend: logger sinks (no DDS) and Log messages (one process, OFF).

Regressions pinned:
- records go to the sink of their logger or of its parent (node child loggers), only when they
  pass the threshold, with the caller's file/function/line and rcutils level numbers;
- a sink that raises or logs never breaks logging and never recurses;
- a node publishes rcl_interfaces/msg/Log on /rosout with rcl's rosout QoS (reliable, transient
  local, depth 1000, lifespan 10 s), start-up lines logged before DDS existed included;
- ``enable_rosout=False`` and ``--disable-rosout-logs`` turn it off.
"""
from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from imitation_ros.graph import logs
from imitation_ros.graph.logs import LoggingSeverity, RcutilsLogger


@pytest.fixture
def sink_records():  # noqa: ANN201
    got: list[logs.LogRecord] = []
    logs.add_sink('unit_node', got.append)
    yield got
    logs.remove_sink('unit_node', got.append)


def test_severity_numbers_are_rcutils() -> None:
    assert [int(s) for s in (LoggingSeverity.DEBUG, LoggingSeverity.INFO, LoggingSeverity.WARN,
                             LoggingSeverity.ERROR, LoggingSeverity.FATAL)] == [10, 20, 30, 40, 50]


def test_sink_gets_records_of_logger_and_children(sink_records: list) -> None:
    log = RcutilsLogger('unit_node')
    log.info('one'); line = sys._getframe().f_lineno  # noqa: E702, SLF001
    log.get_child('cam').error('two')
    log.debug('hidden')  # below the INFO threshold: neither printed nor sent
    RcutilsLogger('unit_node_other').info('not mine')
    assert [(r.name, r.level, r.msg) for r in sink_records] == [
        ('unit_node', 20, 'one'), ('unit_node.cam', 40, 'two')]
    rec = sink_records[0]
    assert rec.file == __file__ and rec.function == 'test_sink_gets_records_of_logger_and_children'
    assert rec.line == line
    assert abs(rec.stamp_ns - time.time_ns()) < 5e9


def test_failing_or_logging_sink_never_recurses() -> None:
    calls: list[str] = []
    log = RcutilsLogger('unit_bad')

    def sink(rec: logs.LogRecord) -> None:
        calls.append(rec.msg)
        log.error('sink logs while handling')  # must not come back here
        raise RuntimeError('publish failed')

    logs.add_sink('unit_bad', sink)
    try:
        assert log.warning('first') is True
        assert log.warning('second') is True
    finally:
        logs.remove_sink('unit_bad', sink)
    assert calls == ['first', 'second']
    log.info('after removal')
    assert calls == ['first', 'second']


def _wait(node: Any, cond: Any, timeout: float = 10.0) -> None:
    from imitation_ros.graph.dds.node import spin_once

    end = time.monotonic() + timeout
    while time.monotonic() < end and not cond():
        spin_once(node, timeout_sec=0.05)


def test_node_publishes_log_messages_on_rosout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'OFF')
    from cyclonedds.core import Policy

    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node, dds_qos
    from imitation_ros.graph.qos import (
        DurabilityPolicy,
        ReliabilityPolicy,
        qos_profile_rosout_default,
    )
    from imitation_ros.messages.runtime import msg_class

    ctx = context.Context([])
    try:
        talker = Node('talker', namespace='/unit', context=ctx)
        talker.get_logger().warning('before dds')  # buffered until the participant exists
        assert not ctx.has_participant
        got: list[Any] = []
        listener = Node('listener', context=ctx)
        listener.create_subscription(msg_class('rcl_interfaces/msg/Log'), '/rosout', got.append,
                                     qos_profile_rosout_default)
        talker.get_logger().error('after dds')
        _wait(listener, lambda: {'before dds', 'after dds'} <= {m.msg for m in got})
        by_msg = {m.msg: m for m in got}
        assert by_msg['before dds'].level == 30 and by_msg['after dds'].level == 40
        assert by_msg['after dds'].name == 'unit.talker'
        assert by_msg['after dds'].file == __file__
        assert by_msg['after dds'].function == 'test_node_publishes_log_messages_on_rosout'
        assert by_msg['after dds'].line > 0
        pub = next(p for p in talker.publishers if p.topic == '/rosout')
        q = pub.qos_profile
        assert (q.depth, q.reliability, q.durability, q.lifespan_ns) == (
            1000, ReliabilityPolicy.RELIABLE, DurabilityPolicy.TRANSIENT_LOCAL, 10_000_000_000)
        assert dds_qos(q, b'')[Policy.Lifespan] == Policy.Lifespan(lifespan=10_000_000_000)
    finally:
        ctx.shutdown()


def test_rosout_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'OFF')
    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node

    ctx = context.Context(['--ros-args', '--disable-rosout-logs'])
    try:
        a = Node('a', context=ctx)
        # rcl configures logging from the global arguments only: a node-local flag changes nothing
        c = Node('c', context=ctx, cli_args=['--ros-args', '--enable-rosout-logs'])
        _ = ctx.participant  # creates the built-in endpoints of every node
        assert '/parameter_events' in [p.topic for p in a.publishers]
        assert '/rosout' not in [p.topic for p in a.publishers]
        assert '/rosout' not in [p.topic for p in c.publishers]
    finally:
        ctx.shutdown()
    ctx = context.Context([])
    try:
        d = Node('d', context=ctx, enable_rosout=False)
        e = Node('e', context=ctx)
        _ = ctx.participant
        assert '/rosout' not in [p.topic for p in d.publishers]
        assert '/rosout' in [p.topic for p in e.publishers]
    finally:
        ctx.shutdown()
