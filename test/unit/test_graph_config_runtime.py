"""Run-time parameter changes of a ``declare_config`` config, on the DDS backend's Node.

Regressions pinned:
- a config parameter the node does not support changing is refused with a reason naming the
  parameter and the node, and keeps its value (``ros2 param set`` prints that reason);
- a field the node lists in ``runtime`` is coerced, validated with the whole dataclass and
  handed to ``on_change``; an invalid value is refused and ``on_change`` is not called;
- parameters the config does not own (``use_sim_time``) are still accepted.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from imitation_ros import graph
from imitation_ros.errors import ConfigError
from imitation_ros.graph import Node, Parameter
from imitation_ros.graph.config import declare_config


@pytest.fixture(autouse=True)
def _backend(ros_domain: int) -> Iterator[None]:
    graph.init(['test'])
    yield
    graph.try_shutdown()


@dataclasses.dataclass(frozen=True)
class Cfg:
    rate_hz: float = 30.0
    task: str = ''
    gain: float = 1.0

    def __post_init__(self) -> None:
        if self.gain <= 0:
            msg = f'gain must be > 0, got {self.gain}'
            raise ConfigError(msg)


def _node(name: str) -> Node:
    return Node(name, start_parameter_services=False, enable_rosout=False)


def test_fixed_parameter_is_refused_with_reason() -> None:
    node = _node('fixed')
    try:
        declare_config(node, Cfg)
        res = node.set_parameters([Parameter('rate_hz', value=50.0)])[0]
        assert not res.successful
        assert "'rate_hz'" in res.reason and '/fixed' in res.reason
        assert 'cannot change at run time' in res.reason
        assert node.get_parameter('rate_hz').value == 30.0
        assert node.set_parameters([Parameter('use_sim_time', value=False)])[0].successful
    finally:
        node.destroy_node()


def test_runtime_field_reaches_on_change_validated() -> None:
    node = _node('dyn')
    seen: list[Cfg] = []
    try:
        declare_config(node, Cfg, runtime=('task', 'gain'), on_change=seen.append)
        assert node.set_parameters([Parameter('task', value='pick')])[0].successful
        assert node.set_parameters([Parameter('gain', value=2)])[0].successful
        assert [c.task for c in seen] == ['pick', 'pick']
        assert seen[-1].gain == 2.0 and isinstance(seen[-1].gain, float)
        bad = node.set_parameters([Parameter('gain', value=-1.0)])[0]
        assert not bad.successful and 'gain must be > 0' in bad.reason
        assert len(seen) == 2
        assert node.get_parameter('gain').value == 2
    finally:
        node.destroy_node()
