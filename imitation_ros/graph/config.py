"""``declare_config(node, Cls)``: one ROS parameter per field of a frozen dataclass config.

Works on either backend (only ``declare_parameter``/``get_parameter`` are used). Parameters are
declared with ``dynamic_typing`` so that ``fps: 30`` in a params file can feed a float field;
the type is then checked and coerced here against the field's annotation (int -> float,
list -> tuple, ``Literal`` membership, ``Optional``, ``Path``), and a bad value raises a
ConfigError naming the node and the parameter.

At run time (``ros2 param set``, ``/set_parameters``) a change to one of these parameters is
refused with a reason naming the parameter, unless the node passed ``on_change`` and lists
the field in ``runtime``: then the new value is coerced, the whole config rebuilt and
validated, and ``on_change(new_config)`` applies it (it may raise ConfigError to refuse).
Parameters the config does not own (``use_sim_time``) are left to the backend.
"""
from __future__ import annotations

import dataclasses
import enum
import types
import typing
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from imitation_ros.errors import ConfigError, ImitationRosError

T = TypeVar('T')
_MISSING = dataclasses.MISSING


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is typing.Union or (types.UnionType is not None and origin is types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as err:
                errors.append(str(err))
        msg = f'{where}: {value!r} matches none of {tp}'
        raise ConfigError(msg)
    if origin is typing.Literal:
        if value not in args:
            msg = f'{where}: {value!r} is not one of {list(args)}'
            raise ConfigError(msg)
        return value
    if origin in (tuple, list) or tp in (tuple, list):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            msg = f'{where}: expected a list, got {value!r}'
            raise ConfigError(msg)
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                msg = f'{where}: expected {len(args)} values, got {len(value)}'
                raise ConfigError(msg)
            items = [_coerce(v, a, where) for v, a in zip(value, args)]
        else:
            inner = args[0] if args else Any
            items = [_coerce(v, inner, where) for v in value]
        return tuple(items) if (origin is tuple or tp is tuple) else items
    if tp is bool:
        if not isinstance(value, bool):
            msg = f'{where}: expected true/false, got {value!r}'
            raise ConfigError(msg)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            msg = f'{where}: expected a number, got {value!r}'
            raise ConfigError(msg)
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            msg = f'{where}: expected an integer, got {value!r}'
            raise ConfigError(msg)
        return value
    if tp is str:
        # ros2 launch and ``-p name:=value`` type values as YAML: ``prefix:=2024`` arrives as
        # an integer. A number is accepted as its text; a bool or a list is not.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            msg = f'{where}: expected a string, got {value!r}'
            raise ConfigError(msg)
        return value
    if tp is Path or (isinstance(tp, type) and issubclass(tp, Path)):
        if not isinstance(value, (str, Path)):
            msg = f'{where}: expected a path string, got {value!r}'
            raise ConfigError(msg)
        return Path(value)
    if isinstance(tp, type) and issubclass(tp, str):  # (str, Enum)
        try:
            return tp(value)
        except ValueError as err:
            msg = f'{where}: {value!r} is not a valid {tp.__name__}'
            raise ConfigError(msg) from err
    return value


def _param_default(value: Any) -> Any:
    """A parameter value rclpy accepts: lists not tuples, str not Path/Enum."""
    if isinstance(value, (tuple, list)):
        return [_param_default(v) for v in value]
    if isinstance(value, enum.Enum):
        return _param_default(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return str(value)
    return value


def declare_config(node: Any, cls: type[T], *, prefix: str = '',
                   runtime: Iterable[str] = (),
                   on_change: Callable[[T], None] | None = None) -> T:
    """Declare one parameter per field of the dataclass ``cls`` and return the built config.

    Args:
        node: A Node of either backend.
        cls: A dataclass; tuple fields are declared as lists.
        prefix: Optional parameter-name prefix (``prefix.field``).
        runtime: Fields that may change while the node runs (needs ``on_change``).
        on_change: Called with the rebuilt config after an accepted run-time change.

    Returns:
        ``cls(**values)`` with values from overrides (``-p``, params files) or field defaults.

    Raises:
        ConfigError: A value has the wrong type, a field without default got no value, or the
            dataclass rejected the values; the message names the node and the parameter.
    """
    if not dataclasses.is_dataclass(cls):
        msg = f'declare_config needs a dataclass, got {cls!r}'
        raise ConfigError(msg)
    # The active backend's descriptor (rcl_interfaces' under rclpy); imported here because
    # imitation_ros.graph imports this module.
    from imitation_ros.graph import ParameterDescriptor
    hints = typing.get_type_hints(cls)
    node_name = node.get_fully_qualified_name()
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        pname = f'{prefix}.{f.name}' if prefix else f.name
        if f.default is not _MISSING:
            default = f.default
        elif f.default_factory is not _MISSING:
            default = f.default_factory()
        else:
            default = _MISSING
        where = f'node {node_name}: parameter {pname!r}'
        desc = ParameterDescriptor(dynamic_typing=True, description=str(
            f.metadata.get('help', '')) if f.metadata else '')
        declared = default if default is not _MISSING else None
        try:
            if node.has_parameter(pname):
                param = node.get_parameter(pname)
            else:
                param = node.declare_parameter(pname, _param_default(declared), desc)
        except ImitationRosError as err:
            msg = f'{where}: {err}'
            raise ConfigError(msg) from err
        except Exception as err:  # rclpy raises its own parameter exceptions
            msg = f'{where}: {err}'
            raise ConfigError(msg) from err
        value = param.value
        if value is None and default is _MISSING:
            msg = f'{where}: required (no default), set it with -p {pname}:=... or a params file'
            raise ConfigError(msg)
        if value is None and default is None:
            values[f.name] = None
            continue
        if hasattr(value, 'tolist'):
            value = value.tolist()
        if isinstance(value, (bytes, bytearray)):
            value = list(value)
        values[f.name] = _coerce(value, hints.get(f.name, Any), where)
    config = _build(cls, values, node_name)
    _watch_changes(node, cls, config, prefix=prefix, hints=hints,
                   runtime=frozenset(runtime) if on_change is not None else frozenset(),
                   on_change=on_change)
    return config


def _build(cls: type[T], values: dict[str, Any], node_name: str) -> T:
    try:
        return cls(**values)
    except ConfigError as err:
        msg = f'node {node_name}: {err}'
        raise ConfigError(msg) from err
    except (TypeError, ValueError) as err:
        msg = f'node {node_name}: invalid {cls.__name__}: {err}'
        raise ConfigError(msg) from err


def _watch_changes(node: Any, cls: type[T], config: T, *, prefix: str, hints: dict[str, Any],
                   runtime: frozenset[str], on_change: Callable[[T], None] | None) -> None:
    """Install the on-set callback that accepts ``runtime`` fields and refuses the rest."""
    from imitation_ros.graph import SetParametersResult
    names = {(f'{prefix}.{f.name}' if prefix else f.name): f.name
             for f in dataclasses.fields(cls) if f.init}
    node_name = node.get_fully_qualified_name()
    current = [config]

    def on_set(params: list[Any]) -> Any:
        changes: dict[str, Any] = {}
        for p in params:
            field = names.get(p.name)
            if field is None:
                continue                       # not ours (use_sim_time, another config)
            if field not in runtime:
                return SetParametersResult(
                    successful=False,
                    reason=f'parameter {p.name!r} of node {node_name} cannot change at run '
                           f'time; restart the node with -p {p.name}:=<value>')
            value = p.value
            if hasattr(value, 'tolist'):
                value = value.tolist()
            try:
                changes[field] = _coerce(value, hints.get(field, Any),
                                         f'node {node_name}: parameter {p.name!r}')
            except ConfigError as err:
                return SetParametersResult(successful=False, reason=str(err))
        if not changes:
            return SetParametersResult(successful=True)
        try:
            new = dataclasses.replace(current[0], **changes)   # type: ignore[type-var]
            if on_change is not None:
                on_change(new)
        except (ConfigError, TypeError, ValueError) as err:
            return SetParametersResult(successful=False, reason=f'node {node_name}: {err}')
        current[0] = new
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
