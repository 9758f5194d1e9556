"""Name resolution, ROS argument parsing, params files and declare_config (DDS backend).

Regressions pinned:
- relative, private (~) and absolute names expand like rcl; bad names raise naming the name.
- ``-r from:=to``, ``__node:=`` and ``__ns:=`` remaps apply; node-prefixed rules only to that node.
- ``-p`` values are YAML-typed; params files match ``node:``, ``/ns/node:`` and ``/**:``.
- declare_config: int feeds float fields, lists become tuples, bad types raise ConfigError
  naming the parameter.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import pytest

os.environ['IMITATION_ROS_BACKEND'] = 'dds'

from imitation_ros.errors import ConfigError, GraphError  # noqa: E402
from imitation_ros.graph import names  # noqa: E402
from imitation_ros.graph.params import load_params_file, parse_ros_args, yaml_value  # noqa: E402


def test_expand_relative_private_absolute() -> None:
    assert names.expand_topic_name('chatter', 'talker', '/') == '/chatter'
    assert names.expand_topic_name('chatter', 'talker', '/robot') == '/robot/chatter'
    assert names.expand_topic_name('~/reset', 'sim', '/robot') == '/robot/sim/reset'
    assert names.expand_topic_name('~', 'sim', '/') == '/sim'
    assert names.expand_topic_name('/abs/x', 'sim', '/robot') == '/abs/x'
    assert names.expand_topic_name('{node}/x', 'sim', '/r') == '/r/sim/x'


@pytest.mark.parametrize('bad', ['9abc', 'a//b', 'a b', 'x/', '~x'])
def test_bad_topic_names_name_the_culprit(bad: str) -> None:
    with pytest.raises(names.NameValidationError, match='invalid') as info:
        names.expand_topic_name(bad, 'n', '/')
    assert repr(bad)[1:-1].split('/')[0] in str(info.value)


def test_bad_node_name() -> None:
    with pytest.raises(GraphError, match="'my-node'"):
        names.validate_node_name('my-node')
    with pytest.raises(GraphError, match='number'):
        names.validate_node_name('1node')


def test_remaps() -> None:
    ra = parse_ros_args(['prog', '--ros-args', '-r', 'chatter:=talk', '--remap',
                         'other:/x:=/y', '-r', '__node:=renamed', '-r', '__ns:=/robot'])
    assert names.remap_node('talker', '/', ra.remaps) == ('renamed', '/robot')
    assert names.remap_name('/robot/chatter', ra.remaps, 'renamed', '/robot') == '/robot/talk'
    # node-prefixed rule applies only to node 'other'
    assert names.remap_name('/x', ra.remaps, 'renamed', '/robot') == '/x'
    assert names.remap_name('/x', ra.remaps, 'other', '/robot') == '/y'


def test_param_args_yaml_typed() -> None:
    ra = parse_ros_args(['--ros-args', '-p', 'a:=1', '-p', 'b:=1.5', '--param', 'c:=true',
                         '-p', 'd:=[1, 2]', '-p', 'e:=hello', '-p', 'n:f:=x', '--', 'rest'])
    vals = {name: v for _, name, v in ra.params}
    assert vals == {'a': 1, 'b': 1.5, 'c': True, 'd': [1, 2], 'e': 'hello', 'f': 'x'}
    assert ra.params[-1][0] == 'n'
    assert yaml_value('0.0') == 0.0
    with pytest.raises(GraphError, match='-p'):
        parse_ros_args(['--ros-args', '-p', 'novalue'])


def test_params_file_sections(tmp_path) -> None:  # noqa: ANN001
    f = tmp_path / 'p.yaml'
    f.write_text('/**:\n  ros__parameters:\n    common: 1\n    own: 0\n'
                 'sim:\n  ros__parameters:\n    own: 2\n    nested:\n      k: 3\n'
                 '/robot/rec:\n  ros__parameters:\n    own: 4\n')
    assert load_params_file(f, 'sim', '/sim') == {'common': 1, 'own': 2, 'nested.k': 3}
    assert load_params_file(f, 'rec', '/robot/rec') == {'common': 1, 'own': 4}
    assert load_params_file(f, 'other', '/other') == {'common': 1, 'own': 0}
    bad = tmp_path / 'bad.yaml'
    bad.write_text('sim:\n  params: 1\n')  # rcl: "Cannot have a value before ros__parameters"
    with pytest.raises(ConfigError, match=r"bad.yaml: key 'sim/params' has a value before "
                                          r'ros__parameters \(line 2\)'):
        load_params_file(bad, 'sim', '/sim')


@dataclass(frozen=True, slots=True, kw_only=True)
class _Cfg:
    rate_hz: float = 10.0
    name: str = 'x'
    gains: tuple[float, ...] = (1.0, 2.0)
    mode: Literal['hold', 'clamp'] = 'hold'
    steps: int = 3

    def __post_init__(self) -> None:
        if self.rate_hz <= 0:
            msg = f'rate_hz must be > 0, got {self.rate_hz}'
            raise ConfigError(msg)


def _node(args: list[str]):  # noqa: ANN202
    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node

    ctx = context.Context(['prog', '--ros-args', *args])
    return Node('cfgnode', context=ctx)


def test_declare_config_overrides_and_coercion(tmp_path) -> None:  # noqa: ANN001
    from imitation_ros.graph import declare_config

    f = tmp_path / 'p.yaml'
    f.write_text('cfgnode:\n  ros__parameters:\n    gains: [3.0, 4.5]\n    steps: 7\n')
    node = _node(['-p', 'rate_hz:=30', '--params-file', str(f), '-p', 'mode:=clamp'])
    cfg = declare_config(node, _Cfg)
    assert cfg == _Cfg(rate_hz=30.0, gains=(3.0, 4.5), mode='clamp', steps=7)
    assert isinstance(cfg.rate_hz, float)
    assert node.get_parameter('gains').value == [3.0, 4.5]
    assert node.has_parameter('steps') and not node.has_parameter('nope')


@pytest.mark.parametrize(('arg', 'field'), [('rate_hz:=fast', 'rate_hz'),
                                            ('mode:=spin', 'mode'), ('steps:=1.5', 'steps'),
                                            ('rate_hz:=-1', 'rate_hz')])
def test_declare_config_bad_values_name_parameter(arg: str, field: str) -> None:
    from imitation_ros.graph import declare_config

    with pytest.raises(ConfigError, match=field):
        declare_config(_node(['-p', arg]), _Cfg)


def test_parameter_api_and_callbacks() -> None:
    from imitation_ros.graph import Parameter, SetParametersResult

    node = _node(['-p', 'speed:=2.0'])
    assert node.declare_parameter('speed', 1.0).value == 2.0
    assert node.declare_parameter('label', 'a').value == 'a'
    with pytest.raises(GraphError, match='already declared'):
        node.declare_parameter('speed', 1.0)
    seen = []

    def cb(params):  # noqa: ANN001, ANN202
        seen.extend(p.name for p in params)
        return SetParametersResult(successful=all(p.value != 'bad' for p in params))

    node.add_on_set_parameters_callback(cb)
    res = node.set_parameters([Parameter('label', value='b'), Parameter('label', value='bad')])
    assert [r.successful for r in res] == [True, False]
    assert node.get_parameter('label').value == 'b'
    assert [p.value for p in node.get_parameters(['speed', 'label'])] == [2.0, 'b']
    assert seen == ['label', 'label']
    with pytest.raises(GraphError, match='not declared'):
        node.get_parameter('nope')
    wrong = _node(['-p', 'speed:=fast'])
    with pytest.raises(GraphError, match='speed'):
        wrong.declare_parameter('speed', 1.0)


def test_node_names_and_namespace() -> None:
    node = _node(['-r', '__ns:=/robot', '-r', 'cmd:=/arm/cmd'])
    assert node.get_fully_qualified_name() == '/robot/cfgnode'
    assert node.resolve_topic_name('state') == '/robot/state'
    assert node.resolve_topic_name('cmd') == '/arm/cmd'
    assert node.resolve_topic_name('~/reset') == '/robot/cfgnode/reset'
    assert node.get_logger().name == 'robot.cfgnode'
