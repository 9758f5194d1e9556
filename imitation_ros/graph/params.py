"""Parameters of the DDS backend, shaped like rclpy's (``Parameter``, ``SetParametersResult``).

Also parses the ROS command line (``--ros-args -p n:=v --params-file f.yaml -r a:=b
--remap/--param/--log-level/--disable-rosout-logs``) and params files (``node:``, ``/ns/node:``,
``/**:`` keys holding ``ros__parameters``; nested keys become dotted names) with the rules of
rcl's YAML parameter parser (see the comment block below), so a file or ``-p`` value that rcl
rejects is rejected here too, with the file, key and line in the message.
"""
from __future__ import annotations

import enum
import math
import re
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
    #: False after ``--disable-rosout-logs``.
    rosout: bool = True
    #: Parsed sections of each params file (filled by parse_ros_args).
    sections: dict[Path, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)

    def file_sections(self, path: Path) -> list[tuple[str, dict[str, Any]]]:
        """Return the parsed sections of a params file of this command line.

        Raises:
            ConfigError: The file cannot be read or rcl would reject it.
        """
        if path not in self.sections:
            self.sections[path] = parse_params_file(path)
        return self.sections[path]


# --------------------------------------------------------------------------------------------
# rcl_yaml_param_parser rules (rcl/rcl_yaml_param_parser/src/parse.c, Jazzy), mirrored so that a
# params file or ``-p`` value means the same on both backends:
#
# * scalars: quoted ('...', "...") or tagged ``!!str`` -> string; else, in this order,
#   Y/y/yes/Yes/YES/true/True/TRUE/on/On/ON (and the N/no/false/off set) -> bool;
#   a C ``strtol(s, 0)`` integer (``0x10`` = 16, ``010`` = 8, no ``_``; out of int64 -> not int)
#   -> integer; a C ``strtod`` number or ``.inf``/``.nan`` -> double (overflow -> string);
#   anything else, ``~`` and ``null`` included, -> string. An empty plain value is an error.
# * sequences: every item of the same type (``[1, 2.5]``, ``[true, 1]``, ``[a, 1]`` are errors);
#   ``[]`` gives a parameter with no value (NOT_SET); no nested sequences, no aliases.
# * files: top-level keys (nested keys too) are node namespaces/names up to ``ros__parameters``;
#   a value before ``ros__parameters`` is an error; names are ``/``-joined and validated
#   (``*``: one name token, ``**``: any number of them); keys under ``ros__parameters`` nest into
#   dotted names. Sections apply in order of first appearance of their node key, later wins.
#
# Known differences, kept on purpose: a mapping inside a sequence (rcl turns ``a: [{b: 1}]`` into
# ``a.b: [1]``) and a nested sequence in ``-p`` (rcl flattens ``[[1]]``) are rejected here.

_TRUE = frozenset({'Y', 'y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'})
_FALSE = frozenset({'N', 'n', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'})
_SPECIAL_FLOATS = {
    **{v: math.nan for v in ('.nan', '.NaN', '.NAN')},
    **{p + v: math.inf for p in ('', '+') for v in ('.inf', '.Inf', '.INF')},
    **{'-' + v: -math.inf for v in ('.inf', '.Inf', '.INF')},
}
_C_INT = re.compile(r'\s*[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)')
_C_FLOAT = re.compile(r'\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?'
                      r'|0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)([pP][+-]?\d+)?'
                      r'|inf|infinity|nan(\([0-9A-Za-z_]*\))?)', re.IGNORECASE)
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_TYPE_WORDS = {bool: 'bool', int: 'integer', float: 'double', str: 'string'}
_STR_TAG = 'tag:yaml.org,2002:str'
_PLAIN = '!plain'


class YamlRuleError(ValueError):
    """A YAML text that rcl's parameter parser rejects (message has rcl's meaning and line)."""


def _c_float(text: str) -> float | None:
    if not _C_FLOAT.fullmatch(text):
        return None
    body = text.strip()
    try:
        if re.fullmatch(r'[+-]?0[xX].*', body):
            sign = -1.0 if body.startswith('-') else 1.0
            value = sign * float.fromhex(body.lstrip('+-'))
        else:
            value = float(body)
    except (ValueError, OverflowError):
        return None
    if math.isinf(value) and 'inf' not in body.lower():
        return None  # strtod: ERANGE
    return value


def scalar_value(text: str, quoted: bool, line: int = 1) -> Any:
    """Return the value rcl gives a YAML scalar (see the rules above).

    Raises:
        YamlRuleError: An empty plain scalar ("No value").
    """
    if quoted:
        return text
    if text == '':
        msg = f'no value at line {line}'
        raise YamlRuleError(msg)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _C_INT.fullmatch(text):
        body = text.strip()
        sign = -1 if body.startswith('-') else 1
        digits = body.lstrip('+-')
        if digits[:2] in ('0x', '0X'):
            value = sign * int(digits[2:], 16)
        elif len(digits) > 1 and digits[0] == '0':
            value = sign * int(digits[1:], 8)
        else:
            value = sign * int(digits)
        if _INT64[0] <= value <= _INT64[1]:
            return value
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    value = _c_float(text)
    return text if value is None else value


class _RclLoader(yaml.SafeLoader):
    """PyYAML composer that keeps plain scalars untyped and refuses aliases (like rcl)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            msg = (f'aliases (*{event.anchor}) are not supported (rcl: "Will not support '
                   f'aliasing") at line {event.start_mark.line + 1}')
            raise YamlRuleError(msg)
        return super().compose_node(parent, index)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


def _line(node: Any) -> int:
    return node.start_mark.line + 1


def _node_scalar(node: Any) -> Any:
    quoted = node.style in ("'", '"') or node.tag == _STR_TAG
    return scalar_value(node.value, quoted, _line(node))


def _node_value(node: Any, what: str) -> Any:
    """Return the parameter value of a YAML node (scalar or flat sequence); None: NOT_SET."""
    if isinstance(node, yaml.ScalarNode):
        return _node_scalar(node)
    if isinstance(node, yaml.MappingNode):
        msg = f'{what} is a mapping at line {_line(node)}, expected a value'
        raise YamlRuleError(msg)
    items: list[Any] = []
    first: type | None = None
    for item in node.value:
        if isinstance(item, yaml.SequenceNode):
            msg = (f'{what}: nested sequences are not parameter values (rcl: "Sequences '
                   f'cannot be key") at line {_line(item)}')
            raise YamlRuleError(msg)
        if isinstance(item, yaml.MappingNode):
            msg = (f'{what}: a mapping inside a sequence is not a parameter value '
                   f'(line {_line(item)})')
            raise YamlRuleError(msg)
        value = _node_scalar(item)
        kind = type(value)
        if first is None:
            first = kind
        elif kind is not first:
            msg = (f'{what}: sequence mixes {_TYPE_WORDS[first]} and {_TYPE_WORDS[kind]} items '
                   f'({item.value!r}) at line {_line(item)}; rcl rejects it ("Sequence should be '
                   f'of same type"): quote strings or write every number as a double (1.0)')
            raise YamlRuleError(msg)
        items.append(value)
    return items if items else None


def yaml_value(text: str) -> Any:
    """Return the value rcl gives a ``-p name:=text`` override (None: ``[]``, no value).

    Raises:
        YamlRuleError: rcl rejects the text (empty, mixed sequence, mapping, bad YAML).
    """
    try:
        docs = list(yaml.compose_all(text, Loader=_RclLoader))
    except yaml.YAMLError as err:
        msg = f'not valid YAML: {err}'
        raise YamlRuleError(msg) from err
    docs = [d for d in docs if d is not None]
    if not docs:
        msg = 'no value'
        raise YamlRuleError(msg)
    return _node_value(docs[-1], 'value')


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
    """Parse ``--ros-args`` sections of a command line (params files are read here, like rcl).

    Raises:
        GraphError: An option lacks its value or is malformed, or rcl rejects a ``-p`` value
            (the message names the argument).
        ConfigError: A params file cannot be read or rcl rejects it (names file, key, line).
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
                if node is not None and not _TOKEN.fullmatch(node) and node != '*':
                    msg = (f'ROS argument {opt} {val!r}: the node prefix {node!r} must be a '
                           'plain node name (no namespace), as rcl requires')
                    raise GraphError(msg)
                if not name:
                    msg = f'ROS argument {opt} {val!r}: empty parameter name'
                    raise GraphError(msg)
                try:
                    value = yaml_value(text)
                except YamlRuleError as err:
                    msg = f'ROS argument {opt} {val!r}: rcl rejects the value: {err}'
                    raise GraphError(msg) from err
                entry = (node, name, value)
                out.params.append(entry)
                out.order.append(('param', entry))
            elif opt in ('-r', '--remap'):
                out.remaps.append(parse_remap(val))
            elif opt == '--params-file':
                path = Path(val)
                out.file_sections(path)  # rcl parses params files at init: fail early
                out.params_files.append(path)
                out.order.append(('file', path))
            elif opt == '--log-level':
                if ':=' in val:
                    name, level = val.split(':=', 1)
                    out.log_levels[name] = level.lower()
                else:
                    out.log_levels[''] = val.lower()
        else:
            if opt in ('--disable-rosout-logs', '--enable-rosout-logs'):
                out.rosout = opt == '--enable-rosout-logs'
            i += 1  # other flags (--disable-stdout-logs, ...): accepted, no effect here
    return out


_TOKEN = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
_PARAMS_KEY = 'ros__parameters'


def _check_node_key(key: str) -> None:
    """Validate a node key as rcl does (``/**``, ``*`` node name, valid name tokens)."""
    if key == '/**':
        return
    tokens = key.strip('/').split('/') if key.strip('/') else ['']
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        if tok == '*' or (tok == '**' and not last):
            continue
        if not _TOKEN.fullmatch(tok):
            what = 'node name' if last else 'namespace'
            msg = (f'node key {key!r}: invalid {what} {tok!r} (letters, digits and _, not '
                   'starting with a digit; * or ** as wildcards)')
            raise YamlRuleError(msg)


def node_key_matches(key: str, fqn: str) -> bool:
    """Whether the params-file node key ``key`` applies to the node ``fqn`` (rclpy's rules).

    A relative key is absolute from the root (``n`` is ``/n``); ``*`` stands for one name
    token, ``**`` for any number of them (``/**`` matches every node).
    """
    pattern = [t for t in ('/' + key.lstrip('/')).split('/') if t]
    names = [t for t in fqn.split('/') if t]

    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(names)
        if pattern[i] == '**':
            return any(match(i + 1, k) for k in range(j, len(names) + 1))
        if j == len(names):
            return False
        return (pattern[i] in ('*', names[j])) and match(i + 1, j + 1)
    return match(0, 0)


ParamSections = list[tuple[str, dict[str, Any]]]


def _params_mapping(node: Any, prefix: str, out: dict[str, Any]) -> None:
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            msg = f'a sequence or mapping cannot be a key (line {_line(key_node)})'
            raise YamlRuleError(msg)
        if key_node.value == '':
            msg = f'no key at line {_line(key_node)}'
            raise YamlRuleError(msg)
        name = f'{prefix}.{key_node.value}' if prefix else key_node.value
        if isinstance(value_node, yaml.MappingNode):
            _params_mapping(value_node, name, out)
            continue
        value = _node_value(value_node, f'parameter {name!r}')
        out[name] = value


def _node_mapping(node: Any, parts: list[str], sections: dict[str, dict[str, Any]]) -> None:
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            msg = f'a sequence or mapping cannot be a key (line {_line(key_node)})'
            raise YamlRuleError(msg)
        key = key_node.value
        if key == '':
            msg = f'no key at line {_line(key_node)}'
            raise YamlRuleError(msg)
        if key.startswith(_PARAMS_KEY):
            if not parts:
                msg = f'there is no node name before {_PARAMS_KEY} (line {_line(key_node)})'
                raise YamlRuleError(msg)
            node_key = '/'.join(parts)
            _check_node_key(node_key)
            if not isinstance(value_node, yaml.MappingNode):
                msg = (f'node {node_key!r}: {_PARAMS_KEY} must map parameter names to values '
                       f'(line {_line(value_node)})')
                raise YamlRuleError(msg)
            _params_mapping(value_node, '', sections.setdefault(node_key, {}))
            continue
        if isinstance(value_node, yaml.MappingNode):
            _node_mapping(value_node, [*parts, key], sections)
            continue
        msg = (f'key {"/".join([*parts, key])!r} has a value before {_PARAMS_KEY} '
               f'(line {_line(value_node)}); a params file is '
               f'"<node>: {{{_PARAMS_KEY}: {{name: value}}}}"')
        raise YamlRuleError(msg)


def parse_params_text(text: str) -> ParamSections:
    """Return ``[(node key, {name: value})]`` of a params file's text, by first appearance.

    Raises:
        YamlRuleError: rcl would reject the text (the message says why, with the line).
    """
    try:
        docs = list(yaml.compose_all(text, Loader=_RclLoader))
    except yaml.YAMLError as err:
        msg = f'not valid YAML: {err}'
        raise YamlRuleError(msg) from err
    sections: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if doc is None or isinstance(doc, yaml.ScalarNode):
            continue
        if isinstance(doc, yaml.SequenceNode):
            msg = f'a sequence cannot be a key (line {_line(doc)}); expected node names'
            raise YamlRuleError(msg)
        _node_mapping(doc, [], sections)
    return list(sections.items())


def parse_params_file(path: Path) -> ParamSections:
    """Return the sections of a ``--params-file`` (see :func:`parse_params_text`).

    Raises:
        ConfigError: The file cannot be read or rcl would reject it; the message names the file.
    """
    try:
        text = Path(path).read_text(encoding='utf-8')
    except OSError as err:
        msg = f'{path}: cannot read params file: {err}'
        raise ConfigError(msg) from err
    try:
        return parse_params_text(text)
    except YamlRuleError as err:
        msg = f'{path}: {err}'
        raise ConfigError(msg) from err


def load_params_file(path: Path, node_name: str, fqn: str) -> dict[str, Any]:
    """Return ``{name: value}`` that ``path`` gives the node ``fqn`` (later sections win).

    ``node_name`` is kept for callers; matching uses ``fqn`` only, as rcl does.

    Raises:
        ConfigError: The file cannot be read or rcl would reject it.
    """
    out: dict[str, Any] = {}
    for key, params in parse_params_file(path):
        if node_key_matches(key, fqn):
            out.update(params)
    return out


def overrides_for(ros_args: list[RosArgs], node_name: str, fqn: str) -> dict[str, Any]:
    """Return the parameter overrides of a node from global, then node-local, arguments.

    Like rcl, each argument set gathers its ``--params-file`` sections and ``-p`` overrides
    (node key ``/**``, or ``/<node>`` for ``-p node:name:=v``) into one list of node keys in
    order of first appearance; the matching ones apply in that order (later wins). Values of
    ``None`` (``[]`` in YAML) stand for "no value" (NOT_SET).
    """
    out: dict[str, Any] = {}
    for ra in ros_args:
        merged: dict[str, dict[str, Any]] = {}
        for kind, item in ra.order:
            if kind == 'file':
                for key, params in ra.file_sections(item):
                    merged.setdefault(key, {}).update(params)
            else:
                node, name, value = item
                merged.setdefault('/**' if node is None else '/' + node, {})[name] = value
        for key, params in merged.items():
            if node_key_matches(key, fqn):
                out.update(params)
    return out
