"""Parameters of the DDS backend, shaped like rclpy's (``Parameter``, ``SetParametersResult``).

Also parses the ROS command line (``--ros-args -p n:=v --params-file f.yaml -r a:=b
--remap/--param/--log-level``) and params files (``node:``, ``/ns/node:``, ``/**:`` keys
holding ``ros__parameters``; nested keys become dotted names). Values are YAML-typed.
"""
from __future__ import annotations

import enum
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from imitation_ros.errors import ConfigError, GraphError
from imitation_ros.graph.names import RemapRule, parse_remap


class ParameterType(enum.IntEnum):
    """Parameter types, numbered like rcl_interfaces/msg/ParameterType."""

    NOT_SET = 0
    BOOL = 1
    INTEGER = 2
    DOUBLE = 3
    STRING = 4
    BYTE_ARRAY = 5
    BOOL_ARRAY = 6
    INTEGER_ARRAY = 7
    DOUBLE_ARRAY = 8
    STRING_ARRAY = 9

    @classmethod
    def from_parameter_value(cls, value: Any) -> ParameterType:
        """Return the type of a Python value (rclpy rules).

        Raises:
            TypeError: The value has no parameter type.
        """
        if value is None:
            return cls.NOT_SET
        if isinstance(value, bool):
            return cls.BOOL
        if isinstance(value, int):
            return cls.INTEGER
        if isinstance(value, float):
            return cls.DOUBLE
        if isinstance(value, str):
            return cls.STRING
        if isinstance(value, (bytes, bytearray)):
            return cls.BYTE_ARRAY
        if isinstance(value, (list, tuple)):
            if not value:
                return cls.BOOL_ARRAY  # rclpy: all() of an empty list holds
            if all(isinstance(v, bool) for v in value):
                return cls.BOOL_ARRAY
            if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                return cls.INTEGER_ARRAY
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                return cls.DOUBLE_ARRAY
            if all(isinstance(v, str) for v in value):
                return cls.STRING_ARRAY
        msg = f'value {value!r} of type {type(value).__name__} is not a parameter type'
        raise TypeError(msg)


class Parameter:
    """A named, typed parameter value (``.name``, ``.value``, ``.type_``)."""

    Type = ParameterType

    def __init__(self, name: str, type_: ParameterType | None = None, value: Any = None) -> None:
        if type_ is None:
            type_ = ParameterType.from_parameter_value(value)
        if isinstance(value, tuple):
            value = list(value)
        if type_ == ParameterType.DOUBLE and isinstance(value, int) and not isinstance(
                value, bool):
            value = float(value)
        self._name = name
        self._type = ParameterType(type_)
        self._value = value

    @property
    def name(self) -> str:
        """The parameter name."""
        return self._name

    @property
    def value(self) -> Any:
        """The value (None when NOT_SET)."""
        return self._value

    @property
    def type_(self) -> ParameterType:
        """The parameter type."""
        return self._type

    def get_parameter_value(self) -> Any:
        """Return the value (rclpy returns a ParameterValue message; here the plain value)."""
        return self._value

    def __repr__(self) -> str:
        return f'Parameter({self._name!r}, {self._type.name}, {self._value!r})'


@dataclass
class SetParametersResult:
    """Result of a set-parameters request or of an on-set-parameters callback."""

    successful: bool = True
    reason: str = ''


@dataclass
class ParameterDescriptor:
    """Subset of rcl_interfaces/msg/ParameterDescriptor used by nodes."""

    name: str = ''
    type: int = 0
    description: str = ''
    additional_constraints: str = ''
    read_only: bool = False
    dynamic_typing: bool = False


@dataclass
class RosArgs:
    """The ROS-specific part of a command line."""

    params: list[tuple[str | None, str, Any]] = field(default_factory=list)
    params_files: list[Path] = field(default_factory=list)
    remaps: list[RemapRule] = field(default_factory=list)
    log_levels: dict[str, str] = field(default_factory=dict)
    #: Entries in command-line order: ('file', path) or ('param', (node, name, value)).
    order: list[tuple[str, Any]] = field(default_factory=list)


def yaml_value(text: str) -> Any:
    """Return the YAML-typed value of ``text`` (``1`` int, ``1.0`` float, ``[1, 2]`` list)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None and text.strip() not in ('~', 'null') else value


def split_ros_args(args: list[str] | None) -> tuple[list[str], list[str]]:
    """Split argv into (ros args, other args); ROS args sit between ``--ros-args`` and ``--``."""
    if not args:
        return [], []
    ros: list[str] = []
    other: list[str] = []
    inside = False
    for arg in args:
        if arg == '--ros-args':
            inside = True
        elif arg == '--' and inside:
            inside = False
        elif inside:
            ros.append(arg)
        else:
            other.append(arg)
    return ros, other


def parse_ros_args(args: list[str] | None) -> RosArgs:
    """Parse ``--ros-args`` sections of a command line.

    Raises:
        GraphError: An option lacks its value or is malformed (the message names it).
    """
    ros, _ = split_ros_args(args)
    out = RosArgs()
    i = 0
    with_value = {'-p', '--param', '-r', '--remap', '--params-file', '--log-level', '-e',
                  '--enclave'}
    while i < len(ros):
        opt = ros[i]
        if opt in with_value:
            if i + 1 >= len(ros):
                msg = f'ROS argument {opt} needs a value'
                raise GraphError(msg)
            val = ros[i + 1]
            i += 2
            if opt in ('-p', '--param'):
                if ':=' not in val:
                    msg = f'ROS argument {opt} {val!r} must be name:=value'
                    raise GraphError(msg)
                left, text = val.split(':=', 1)
                node, name = (left.split(':', 1) if ':' in left else (None, left))
                entry = (node, name, yaml_value(text))
                out.params.append(entry)
                out.order.append(('param', entry))
            elif opt in ('-r', '--remap'):
                out.remaps.append(parse_remap(val))
            elif opt == '--params-file':
                path = Path(val)
                out.params_files.append(path)
                out.order.append(('file', path))
            elif opt == '--log-level':
                if ':=' in val:
                    name, level = val.split(':=', 1)
                    out.log_levels[name] = level.lower()
                else:
                    out.log_levels[''] = val.lower()
        else:
            i += 1  # flags such as --disable-rosout-logs: accepted, no effect here
    return out


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f'{prefix}.{k}' if prefix else str(k), v, out)
    else:
        out[prefix] = value


def _key_matches(key: str, node_name: str, fqn: str) -> bool:
    key = key.strip()
    if key in ('/**', '**'):
        return True
    if not key.startswith('/'):
        return key == node_name or fnmatch.fnmatchcase(node_name, key)
    pattern = key.replace('/**/', '/*/').replace('**', '*')
    return key == fqn or fnmatch.fnmatchcase(fqn, pattern) or fnmatch.fnmatchcase(
        fqn, key.replace('/**/', '/'))


def load_params_file(path: Path, node_name: str, fqn: str) -> dict[str, Any]:
    """Return ``{name: value}`` that ``path`` gives the node ``fqn`` (wildcards first).

    Raises:
        ConfigError: The file cannot be read or does not have the params-file shape.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as err:
        msg = f'{path}: cannot read params file: {err}'
        raise ConfigError(msg) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = f'{path}: a params file maps node names to {{ros__parameters: ...}}'
        raise ConfigError(msg)
    out: dict[str, Any] = {}
    # wildcard sections first, so the node's own section wins
    keys = sorted(data, key=lambda k: ('*' not in str(k), str(k)))
    for key in keys:
        section = data[key]
        if not _key_matches(str(key), node_name, fqn):
            continue
        if not isinstance(section, dict) or 'ros__parameters' not in section:
            msg = f'{path}: section {key!r} has no ros__parameters mapping'
            raise ConfigError(msg)
        params = section['ros__parameters'] or {}
        if not isinstance(params, dict):
            msg = f'{path}: {key}.ros__parameters must be a mapping'
            raise ConfigError(msg)
        _flatten('', params, out)
    return out


def overrides_for(ros_args: list[RosArgs], node_name: str, fqn: str) -> dict[str, Any]:
    """Return the parameter overrides of a node from global and node-local args, in order."""
    out: dict[str, Any] = {}
    for ra in ros_args:
        for kind, item in ra.order:
            if kind == 'file':
                out.update(load_params_file(item, node_name, fqn))
            else:
                node, name, value = item
                if node is None or node in (node_name, fqn):
                    out[name] = value
    return out
