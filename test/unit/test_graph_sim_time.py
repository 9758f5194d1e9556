"""use_sim_time: the node clock follows /clock (one process, discovery OFF, real Cyclone).

Regressions pinned:
- with ``-p use_sim_time:=true`` the clock reads 0 until /clock arrives, then its value.
- without it the clock is system time.
- intra-process delivery works with ROS_AUTOMATIC_DISCOVERY_RANGE=OFF.
"""
from __future__ import annotations

import time

import pytest


def test_sim_time_follows_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'OFF')
    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node, spin_once
    from imitation_ros.messages.runtime import msg_class

    ctx = context.Context(['--ros-args', '-p', 'sim:use_sim_time:=true'])
    try:
        sim = Node('sim', context=ctx)
        wall = Node('wall', context=ctx)
        assert sim.get_clock().now().nanoseconds == 0
        assert abs(wall.get_clock().now().nanoseconds - time.time_ns()) < 5e8
        clock_cls = msg_class('rosgraph_msgs/msg/Clock')
        pub = wall.create_publisher(clock_cls, '/clock', 10)
        msg = clock_cls()
        msg.clock.sec, msg.clock.nanosec = 42, 7
        end = time.monotonic() + 10
        while time.monotonic() < end and sim.get_clock().now().nanoseconds == 0:
            pub.publish(msg)
            spin_once(sim, timeout_sec=0.05)
        assert sim.get_clock().now().nanoseconds == 42_000_000_007
    finally:
        ctx.shutdown()
