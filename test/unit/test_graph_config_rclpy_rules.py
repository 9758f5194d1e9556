"""``declare_config`` against rclpy's (Jazzy) parameter rules, without rclpy.

``RclpyRulesNode`` applies what ``rclpy.node.Node.declare_parameter`` and
``rclpy.parameter.Parameter`` check: a default must be None, bool, int, float, str, bytes or a
uniform list of one of those; an override of another type than the default's is refused
unless the descriptor has ``dynamic_typing``. Overrides arrive YAML-typed, as ``-p x:=30``
and ``ros2 launch`` deliver them.
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any

import pytest

from imitation_ros.errors import ConfigError
from imitation_ros.graph.config import declare_config

SCALARS = (bool, int, float, str, bytes)


def _rclpy_type(value: Any) -> str:
    if value is None:
        return 'NOT_SET'
    for t in SCALARS:
        if type(value) is t:
            return t.__name__
    if isinstance(value, list):
        kinds = {type(v) for v in value}
        if not value:
            return 'bytes[]'          # rclpy: all(isinstance(v, bytes)) of [] is True
        if len(kinds) == 1 and next(iter(kinds)) in SCALARS:
            return f'{next(iter(kinds)).__name__}[]'
    msg = f'The given value is not one of the allowed types: {value!r}'
    raise TypeError(msg)


@dataclasses.dataclass
class _Param:
    value: Any


class RclpyRulesNode:
    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        self.params: dict[str, _Param] = {}

    def get_fully_qualified_name(self) -> str:
        return '/rules'

    def has_parameter(self, name: str) -> bool:
        return name in self.params

    def get_parameter(self, name: str) -> _Param:
        return self.params[name]

    def declare_parameter(self, name: str, value: Any, descriptor: Any) -> _Param:
        declared_type = _rclpy_type(value)
        if name in self.overrides:
            value = self.overrides[name]
            if _rclpy_type(value) != declared_type and not descriptor.dynamic_typing:
                msg = f'Wrong parameter type, parameter {{{name}}} is of type {declared_type}'
                raise TypeError(msg)
        self.params[name] = _Param(value)
        return self.params[name]

    def add_on_set_parameters_callback(self, callback: Any) -> None:
        self.callback = callback


class Mode(str, enum.Enum):
    FAST = 'fast'
    SLOW = 'slow'


@dataclasses.dataclass(frozen=True)
class Cfg:
    rate_hz: float = 30.0
    joints: tuple[str, ...] = ()
    gains: tuple[float, ...] = (1.0, 2.0)
    prefix: str = 'demo'
    mode: Mode = Mode.FAST
    enabled: bool = True


def test_defaults_are_values_rclpy_accepts() -> None:
    cfg = declare_config(RclpyRulesNode({}), Cfg)
    assert cfg == Cfg()


def test_yaml_typed_overrides_are_coerced() -> None:
    node = RclpyRulesNode({'rate_hz': 30, 'joints': ['a', 'b'], 'prefix': 2024,
                           'mode': 'slow', 'enabled': False})
    cfg = declare_config(node, Cfg)
    assert cfg.rate_hz == 30.0 and isinstance(cfg.rate_hz, float)
    assert cfg.joints == ('a', 'b')
    assert cfg.prefix == '2024'           # `prefix:=2024` arrives as an integer
    assert cfg.mode is Mode.SLOW
    assert cfg.enabled is False


def test_bad_override_names_node_and_parameter() -> None:
    with pytest.raises(ConfigError, match=r"/rules.*'enabled'"):
        declare_config(RclpyRulesNode({'enabled': 'yes'}), Cfg)
    with pytest.raises(ConfigError, match=r"'prefix'"):
        declare_config(RclpyRulesNode({'prefix': True}), Cfg)


@pytest.mark.parametrize('target', [
    'imitation_ros.sim.config:SimNodeConfig', 'imitation_ros.sim.config:ExpertNodeConfig',
    'imitation_ros.record:RecorderConfig', 'imitation_ros.deploy.config:PolicyNodeConfig'])
def test_node_configs_declare_under_rclpy_rules(target: str) -> None:
    import importlib

    module, name = target.split(':')
    cls = getattr(importlib.import_module(module), name)
    overrides = {'checkpoint': 'runs/demo/train'} if name == 'PolicyNodeConfig' else {}
    cfg = declare_config(RclpyRulesNode(overrides), cls)
    assert isinstance(cfg, cls)
