"""rcutils-style logging, clock and QoS presets of the graph layer.

Regressions pinned:
- lines look like ``[WARN] [<sec>.<9 digits>] [ns.node]: text`` on stderr.
- ``once=True`` prints once; ``throttle_duration_sec`` drops repeats within the period.
- ``qos_profile`` presets: sensor_data best effort keep last 5, latched transient local.
- Time/Duration arithmetic and to_msg.
"""
from __future__ import annotations

import os
import re

import pytest

os.environ['IMITATION_ROS_BACKEND'] = 'dds'

from imitation_ros.errors import GraphError  # noqa: E402
from imitation_ros.graph import (  # noqa: E402
    DurabilityPolicy,
    ReliabilityPolicy,
    backend_name,
    qos_profile,
)
from imitation_ros.graph.clock import Duration, Time  # noqa: E402
from imitation_ros.graph.logs import RcutilsLogger  # noqa: E402


def test_format_once_throttle(capsys: pytest.CaptureFixture[str]) -> None:
    log = RcutilsLogger('robot.sim')
    for _ in range(3):
        log.warning('hot loop', throttle_duration_sec=60.0)
        log.info('first only', once=True)
    log.debug('hidden')
    log.error('boom')
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3, err
    assert re.fullmatch(r'\[WARN\] \[\d+\.\d{9}\] \[robot\.sim\]: hot loop', err[0])
    assert err[1].endswith('[robot.sim]: first only') and err[1].startswith('[INFO]')
    assert err[2].startswith('[ERROR]')


def test_qos_presets() -> None:
    assert backend_name() == 'dds'
    sd = qos_profile('sensor_data')
    assert (sd.reliability, sd.durability, sd.depth) == (
        ReliabilityPolicy.BEST_EFFORT, DurabilityPolicy.VOLATILE, 5)
    la = qos_profile('latched')
    assert (la.reliability, la.durability, la.depth) == (
        ReliabilityPolicy.RELIABLE, DurabilityPolicy.TRANSIENT_LOCAL, 1)
    assert qos_profile('reliable', depth=3).depth == 3
    with pytest.raises(GraphError, match='latchd'):
        qos_profile('latchd')


def test_time_duration() -> None:
    t = Time(seconds=2, nanoseconds=5)
    assert t.nanoseconds == 2_000_000_005
    assert (t - Time(seconds=1)).nanoseconds == 1_000_000_005
    assert (t + Duration(seconds=0.5)).nanoseconds == 2_500_000_005
    msg = t.to_msg()
    assert (msg.sec, msg.nanosec) == (2, 5)
    assert Time.from_msg(msg) == t
