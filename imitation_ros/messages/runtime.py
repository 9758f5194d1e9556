"""Message classes of the DDS backend, built at run time for any type of the typestore.

``msg_class('sensor_msgs/msg/JointState')`` returns a class that behaves like the rclpy
generated one: keyword construction with nested defaults, constants as class attributes,
``__eq__``, ``__repr__``, ``get_fields_and_field_types()``. ``srv_class('std_srvs/srv/Trigger')``
returns a namespace with ``.Request`` and ``.Response``.

Serialization goes through the rosbags typestore (``serialize``/``deserialize``), so the bytes are
the ones rosbags writes into bags (XCDR1 little endian, 4-byte encapsulation header included).

Sequence fields: numeric sequences and arrays are kept as given (list, ``array.array``, numpy,
``bytes``) and turned into numpy only when serializing; deserialized ones are read-only numpy
views of the received buffer (``uint8[]``/``byte[]`` never go element by element). String and
message sequences are lists.

Imports rosbags and numpy only.
"""
from __future__ import annotations

import array
import re
from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from imitation_ros.errors import MessageError
from imitation_ros.messages.typestore import normalize_type, typestore

if TYPE_CHECKING:
    from collections.abc import Callable

#: Service definitions not shipped in the rosbags Jazzy store (rosbags has messages only).
BUILTIN_SRVS: dict[str, str] = {
    'std_srvs/srv/Empty': '---\n',
    'std_srvs/srv/Trigger': '---\nbool success\nstring message\n',
    'std_srvs/srv/SetBool': 'bool data\n---\nbool success\nstring message\n',
    # rcl_interfaces parameter services (what every node serves; comments stripped)
    'rcl_interfaces/srv/DescribeParameters':
        'string[] names\n---\nParameterDescriptor[] descriptors\n',
    'rcl_interfaces/srv/GetParameterTypes': 'string[] names\n---\nuint8[] types\n',
    'rcl_interfaces/srv/GetParameters': 'string[] names\n---\nParameterValue[] values\n',
    'rcl_interfaces/srv/ListParameters':
        'uint64 DEPTH_RECURSIVE=0\nstring[] prefixes\nuint64 depth\n---\n'
        'ListParametersResult result\n',
    'rcl_interfaces/srv/SetParameters':
        'Parameter[] parameters\n---\nSetParametersResult[] results\n',
    'rcl_interfaces/srv/SetParametersAtomically':
        'Parameter[] parameters\n---\nSetParametersResult result\n',
}

_NUMERIC = {
    'bool': np.bool_, 'byte': np.uint8, 'char': np.uint8, 'int8': np.int8, 'uint8': np.uint8,
    'int16': np.int16, 'uint16': np.uint16, 'int32': np.int32, 'uint32': np.uint32,
    'int64': np.int64, 'uint64': np.uint64, 'float32': np.float32, 'float64': np.float64,
    'octet': np.uint8,
}
_IDL_NAMES = {
    'float64': 'double', 'float32': 'float', 'byte': 'octet', 'char': 'uint8',
}
_ARRAY_CODES = {
    'int8': 'b', 'uint8': 'B', 'int16': 'h', 'uint16': 'H', 'int32': 'i', 'uint32': 'I',
    'int64': 'q', 'uint64': 'Q', 'float32': 'f', 'float64': 'd',
}
_NAME = 2
_ARRAY = 3
_SEQUENCE = 4


def _is_str(base: str) -> bool:
    return base in ('string', 'wstring')


def _py_default(base: str) -> Any:
    if _is_str(base):
        return ''
    if base == 'bool':
        return False
    if base.startswith('float'):
        return 0.0
    return 0


class Message:
    """Base of every DDS-backend message class (one subclass per ROS type)."""

    __slots__ = ()
    _type: ClassVar[str] = ''
    _fields: ClassVar[tuple[str, ...]] = ()
    _field_types: ClassVar[dict[str, str]] = {}
    _defaults: ClassVar[dict[str, Callable[[], Any]]] = {}

    def __init__(self, **kwargs: Any) -> None:
        for name in kwargs:
            if name not in self._defaults:
                msg = (f'{self._type}: no field {name!r}; fields are {list(self._fields)}')
                raise MessageError(msg)
        for name in self._fields:
            if name in kwargs:
                object.__setattr__(self, name, kwargs[name])
            else:
                object.__setattr__(self, name, self._defaults[name]())

    @classmethod
    def get_fields_and_field_types(cls) -> dict[str, str]:
        """Return ``{field: ROS IDL type}`` like rclpy (``'sequence<double>'``, ...)."""
        return dict(cls._field_types)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        return all(_values_equal(getattr(self, n), getattr(other, n)) for n in self._fields)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        pkg, kind, name = self._type.split('/')
        args = ', '.join(f'{n}={_short_repr(getattr(self, n))}' for n in self._fields)
        return f'{pkg}.{kind}.{name}({args})'

    def __copy__(self) -> Message:
        return type(self)(**{n: getattr(self, n) for n in self._fields})


def _short_repr(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.size > 16:
        return f'array(shape={value.shape}, dtype={value.dtype})'
    if isinstance(value, (bytes, bytearray)) and len(value) > 16:
        return f'<{len(value)} bytes>'
    return repr(value)


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, Message) or isinstance(b, Message):
        return a == b
    if isinstance(a, (str, int, float, bool)) and isinstance(b, (str, int, float, bool)):
        return a == b
    if isinstance(a, list) and a and isinstance(a[0], (Message, str)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(
            _values_equal(x, y) for x, y in zip(a, b))
    try:
        xa, xb = np.asarray(_as_buffer_array(a)), np.asarray(_as_buffer_array(b))
    except (TypeError, ValueError):
        return a == b
    if xa.dtype.kind in 'OUS' or xb.dtype.kind in 'OUS':
        return list(a) == list(b)
    return xa.shape == xb.shape and bool(np.array_equal(xa, xb))


def _as_buffer_array(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return np.frombuffer(value, dtype=np.uint8)
    return value


# --------------------------------------------------------------------------------------------
# class construction


def _field_type_name(desc: tuple[Any, ...]) -> str:
    kind = int(desc[0])
    if kind == 1:
        base, bound = desc[1]
        name = _IDL_NAMES.get(base, base)
        return f'{name}<{bound}>' if bound else name
    if kind == _NAME:
        pkg, _, name = desc[1].split('/')
        return f'{pkg}/{name}'
    sub, length = desc[1]
    inner = _field_type_name(sub)
    if kind == _ARRAY:
        return f'{inner}[{length}]'
    return f'sequence<{inner}, {length}>' if length else f'sequence<{inner}>'


def _default_factory(desc: tuple[Any, ...]) -> Callable[[], Any]:
    kind = int(desc[0])
    if kind == 1:
        value = _py_default(desc[1][0])
        return lambda: value
    if kind == _NAME:
        cls_name = desc[1]
        return lambda: msg_class(cls_name)()
    sub, length = desc[1]
    sub_kind = int(sub[0])
    if kind == _ARRAY:
        if sub_kind == 1 and not _is_str(sub[1][0]):
            dtype = _NUMERIC[sub[1][0]]
            return lambda: np.zeros(length, dtype=dtype)
        inner = _default_factory(sub)
        return lambda: [inner() for _ in range(length)]
    if sub_kind == 1 and sub[1][0] in _ARRAY_CODES:
        code = _ARRAY_CODES[sub[1][0]]
        return lambda: array.array(code)
    return list


@lru_cache(maxsize=None)
def msg_class(name: str) -> type[Message]:
    """Return the message class of ``name`` (``pkg/msg/Name``, ``pkg/Name`` or a DDS name).

    Raises:
        MessageError: The type is not in the typestore.
    """
    full = name if '/srv/' in name else normalize_type(name)
    store = typestore()
    if full not in store.fielddefs:
        msg = f'message type {name!r} is not in the typestore (known types: see typestore())'
        raise MessageError(msg)
    consts, fields = store.fielddefs[full]
    attrs: dict[str, Any] = {
        '__slots__': tuple(f for f, _ in fields),
        '_type': full,
        '_fields': tuple(f for f, _ in fields),
        '_field_types': {f: _field_type_name(d) for f, d in fields},
        '_defaults': {f: _default_factory(d) for f, d in fields},
        '__module__': full.split('/')[0] + '.' + full.split('/')[1],
    }
    for cname, _ctype, cvalue in consts:
        attrs[cname] = cvalue
    cls = type(full.rsplit('/', 1)[1], (Message,), attrs)
    return cls


def _srv_fields_from_text(name: str, text: str) -> None:
    from rosbags.typesys import get_types_from_msg

    req_text, sep, resp_text = text.partition('\n---')
    if not sep:
        req_text, _, resp_text = text.partition('---')
    store = typestore()
    pkg = name.split('/')[0]
    types: dict[str, Any] = {}
    for part, body in (('Request', req_text), ('Response', resp_text)):
        body = re.sub(r'^-*\n?', '', body) if part == 'Response' else body
        parsed = get_types_from_msg(body.strip('\n') + '\n', f'{pkg}/msg/X{part}')
        consts, fields = parsed[f'{pkg}/msg/X{part}']
        types[f'{name}_{part}'] = (consts, fields)
    store.register(types)


def _register_service_meta(name: str) -> None:
    """Register ``Name_Event`` and ``Name`` (for the RIHS01 service type hash)."""
    from rosbags.typesys.base import Nodetype

    store = typestore()
    event = (
        [],
        [('info', (Nodetype.NAME, 'service_msgs/msg/ServiceEventInfo')),
         ('request', (Nodetype.SEQUENCE, ((Nodetype.NAME, f'{name}_Request'), 1))),
         ('response', (Nodetype.SEQUENCE, ((Nodetype.NAME, f'{name}_Response'), 1)))],
    )
    store.register({f'{name}_Event': event})
    store.register({name: ([], [
        ('request_message', (Nodetype.NAME, f'{name}_Request')),
        ('response_message', (Nodetype.NAME, f'{name}_Response')),
        ('event_message', (Nodetype.NAME, f'{name}_Event')),
    ])})


def register_srv(name: str, text: str) -> None:
    """Register a ``.srv`` definition (``pkg/srv/Name``) so ``srv_class`` can use it.

    Raises:
        MessageError: The text does not parse.
    """
    try:
        _srv_fields_from_text(name, text)
        _register_service_meta(name)
    except MessageError:
        raise
    except Exception as err:  # rosbags raises several parser errors
        msg = f'service {name!r}: cannot parse definition: {err}'
        raise MessageError(msg) from err


@lru_cache(maxsize=None)
def srv_class(name: str) -> SimpleNamespace:
    """Return ``namespace(Request=..., Response=..., _type=name)`` for ``pkg/srv/Name``.

    Raises:
        MessageError: The service type is unknown.
    """
    parts = name.replace('::', '/').split('/')
    if len(parts) == 2:
        parts = [parts[0], 'srv', parts[1]]
    if len(parts) != 3 or parts[1] != 'srv':
        msg = f'service type {name!r} is not of the form package/srv/Name'
        raise MessageError(msg)
    full = '/'.join(parts)
    store = typestore()
    if f'{full}_Request' not in store.fielddefs:
        if full not in BUILTIN_SRVS:
            msg = f'service type {name!r} is unknown; register_srv() its definition first'
            raise MessageError(msg)
        register_srv(full, BUILTIN_SRVS[full])
    elif full not in store.fielddefs:
        _register_service_meta(full)
    return SimpleNamespace(
        Request=msg_class(f'{full}_Request'),
        Response=msg_class(f'{full}_Response'),
        _type=full,
    )


def type_hash(name: str) -> str:
    """Return the ``RIHS01_<hex>`` hash of a message or service type ('' when unavailable)."""
    try:
        return typestore().hash_rihs01(name)
    except Exception:  # noqa: BLE001 - the hash is informational only
        return ''


# --------------------------------------------------------------------------------------------
# conversion to / from rosbags dataclasses


@lru_cache(maxsize=None)
def _to_rosbags_fn(full: str) -> Callable[[Any], Any]:
    store = typestore()
    _, fields = store.fielddefs[full]
    rcls = store.types[full]
    convs = [(f, _value_to_rosbags(full, f, d)) for f, d in fields]

    def convert(msg: Any) -> Any:
        try:
            return rcls(**{f: conv(getattr(msg, f)) for f, conv in convs})
        except AttributeError as err:
            msg_ = f'{full}: message of type {type(msg).__name__} lacks a field: {err}'
            raise MessageError(msg_) from err
    return convert


def _value_to_rosbags(full: str, field: str, desc: tuple[Any, ...]) -> Callable[[Any], Any]:
    kind = int(desc[0])
    if kind == 1:
        base = desc[1][0]
        if _is_str(base):
            def conv_str(v: Any) -> str:
                if not isinstance(v, str):
                    msg = f'{full}.{field}: expected str, got {type(v).__name__}'
                    raise MessageError(msg)
                return v
            return conv_str
        if base == 'bool':
            return bool
        if base.startswith('float'):
            return float
        if base in ('byte', 'char'):
            return _byte_int       # rclpy's 'byte' fields hold bytes of length 1
        return int
    if kind == _NAME:
        sub_name = desc[1]
        return lambda v: _to_rosbags_fn(sub_name)(v)
    sub, length = desc[1]
    sub_kind = int(sub[0])
    if sub_kind == 1 and not _is_str(sub[1][0]):
        dtype = np.dtype(_NUMERIC[sub[1][0]])

        def conv_arr(v: Any) -> np.ndarray:
            if isinstance(v, np.ndarray):
                arr = v.reshape(-1) if v.ndim != 1 else v
                if arr.dtype != dtype:
                    arr = arr.astype(dtype)
            elif isinstance(v, (bytes, bytearray, memoryview)):
                arr = np.frombuffer(v, dtype=dtype)
            elif isinstance(v, array.array):
                arr = np.frombuffer(v, dtype=np.dtype(v.typecode)).astype(dtype, copy=False)
            else:
                try:
                    arr = np.asarray(v, dtype=dtype)
                except (TypeError, ValueError) as err:
                    msg = f'{full}.{field}: cannot convert to {dtype} sequence: {err}'
                    raise MessageError(msg) from err
            if kind == _ARRAY and len(arr) != length:
                msg = f'{full}.{field}: needs exactly {length} values, got {len(arr)}'
                raise MessageError(msg)
            return arr
        return conv_arr
    inner = _value_to_rosbags(full, field, sub)

    def conv_list(v: Any) -> list[Any]:
        out = [inner(x) for x in v]
        if kind == _ARRAY and len(out) != length:
            msg = f'{full}.{field}: needs exactly {length} values, got {len(out)}'
            raise MessageError(msg)
        return out
    return conv_list


@lru_cache(maxsize=None)
def _from_rosbags_fn(full: str) -> Callable[[Any], Message]:
    store = typestore()
    _, fields = store.fielddefs[full]
    cls = msg_class(full)
    convs = [(f, _value_from_rosbags(d)) for f, d in fields]
    new = object.__new__
    setattr_ = object.__setattr__

    def convert(obj: Any) -> Message:
        out = new(cls)
        for f, conv in convs:
            setattr_(out, f, conv(getattr(obj, f)))
        return out
    return convert


def _value_from_rosbags(desc: tuple[Any, ...]) -> Callable[[Any], Any]:
    kind = int(desc[0])
    if kind == 1:
        return _identity
    if kind == _NAME:
        sub_name = desc[1]
        return lambda v: _from_rosbags_fn(sub_name)(v)
    sub, _ = desc[1]
    if int(sub[0]) == 1:
        return _identity if not _is_str(sub[1][0]) else list
    inner = _value_from_rosbags(sub)
    return lambda v: [inner(x) for x in v]


def _identity(v: Any) -> Any:
    return v


def _byte_int(v: Any) -> int:
    if isinstance(v, (bytes, bytearray)):
        if len(v) != 1:
            msg = f'a byte field takes bytes of length 1, got {v!r}'
            raise MessageError(msg)
        return v[0]
    return int(v)


def to_rosbags(msg: Any, name: str | None = None) -> Any:
    """Return the rosbags dataclass with the content of ``msg`` (ours, rclpy's or rosbags')."""
    full = name or getattr(msg, '_type', None) or getattr(msg, '__msgtype__', None)
    if not full:
        msg_ = f'cannot tell the ROS type of {type(msg).__name__}; pass name='
        raise MessageError(msg_)
    return _to_rosbags_fn(full)(msg)


def from_rosbags(obj: Any, name: str | None = None) -> Message:
    """Return our message class instance with the content of a rosbags dataclass."""
    full = name or obj.__msgtype__
    return _from_rosbags_fn(full)(obj)


def serialize_buffer(msg: Any, name: str | None = None) -> memoryview:
    """Return the CDR as a buffer without the final copy to ``bytes`` (for DDS writes).

    Raises:
        MessageError: A field has a wrong type or length; the message names it.
    """
    full = name or msg._type
    try:
        data = typestore().serialize_cdr(to_rosbags(msg, full), full)
    except MessageError:
        raise
    except Exception as err:  # rosbags raises struct/numpy errors
        msg_ = f'{full}: cannot serialize: {err}'
        raise MessageError(msg_) from err
    return memoryview(data)


def serialize(msg: Any, name: str | None = None) -> bytes:
    """Return CDR bytes (encapsulation header included), identical to rosbags serialize_cdr.

    Raises:
        MessageError: A field has a wrong type or length; the message names it.
    """
    return bytes(serialize_buffer(msg, name))


def deserialize(data: bytes | memoryview, name: str) -> Message:
    """Return a message of type ``name`` from CDR bytes (encapsulation header included).

    Raises:
        MessageError: The bytes do not hold a ``name``.
    """
    try:
        obj = typestore().deserialize_cdr(data, name)
    except Exception as err:  # rosbags raises struct/index errors
        msg = f'{name}: cannot deserialize {len(data)} bytes: {err}'
        raise MessageError(msg) from err
    return _from_rosbags_fn(name)(obj)
