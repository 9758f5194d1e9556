"""ROS 2 wire mapping onto Cyclone DDS (what rmw_cyclonedds_cpp puts on the wire, Jazzy).

* Topics: ROS ``/a/b`` -> DDS ``rt/a/b``; services ``/s`` -> ``rq/sRequest`` and ``rr/sReply``.
* Types: ``pkg/msg/Name`` -> ``pkg::msg::dds_::Name_``; services ``pkg::srv::dds_::Name_Request_``
  and ``..._Response_``. Keyless structs.
* Payload: XCDR1 little endian with the 4-byte encapsulation header (``00 01 00 00``), the same
  bytes rosbags ``serialize_cdr`` makes; we serialize with rosbags and hand the bytes to
  Cyclone's C layer untouched (``ddspy_write``/``ddspy_take`` of the cyclonedds Python binding,
  pinned at 11.0.1). The Python binding needs a type object to build its sertype: we generate an
  ``IdlStruct`` mirroring the ROS type, used only for the DDS type name and for Cyclone's sanity
  check of received bytes (``dds_stream_normalize``), never for (de)serializing.
* Type matching: that sertype carries XTypes type information, rmw_cyclonedds's does not. Cyclone
  then matches on the type name (``ddsi_qos_match_mask_p``: "If either the reader or writer does
  not provide a type id, the type names are consulted"), so the names above must be exact.
* Services: the payload is header + ``cdds_request_header_t {uint64 guid; int64 seq}`` + body
  (rmw_cyclonedds_cpp ``rmw_node.cpp``/``serdata.hpp``: ``rmw_send_request`` sets
  ``header.guid = info->client.pub->pubiid`` (the instance handle of the client's request
  writer) and ``header.seq = ++next_request_id`` (a process-wide counter); the service copies
  guid+seq into its reply; ``rmw_take_response`` keeps only replies whose guid equals its own
  writer's ``pubiid``). Body alignment is unchanged because the 16-byte header keeps 8-byte
  alignment. USER_DATA is ``clientid=<id>;typehash=<RIHS01 of the endpoint's Request or
  Response struct>;`` (``serviceid=`` for services) with the id printed by ``csid_to_string``
  (16 bytes: participant GUID prefix + big-endian counter, hex, '.'-joined, the first byte
  space-padded to 2 characters),
  and the service only replies once it has matched the reader of the client named there.
"""
from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any

from imitation_ros.errors import MessageError
from imitation_ros.messages.typestore import typestore

REQUEST_HEADER = struct.Struct('<Qq')
CDR_LE = b'\x00\x01\x00\x00'


def dds_type_name(ros_type: str) -> str:
    """Return ``pkg::msg::dds_::Name_`` for ``pkg/msg/Name`` (or ``pkg/srv/Name_Request``)."""
    pkg, kind, name = ros_type.split('/')
    return f'{pkg}::{kind}::dds_::{name}_'


def ros_type_name(dds_name: str) -> str:
    """Return ``pkg/msg/Name`` for a ``pkg::msg::dds_::Name_`` DDS type name (else unchanged)."""
    parts = dds_name.split('::')
    if len(parts) == 4 and parts[2] == 'dds_' and parts[3].endswith('_'):
        return f'{parts[0]}/{parts[1]}/{parts[3][:-1]}'
    return dds_name


def topic_to_dds(fqn: str) -> str:
    """Return the DDS topic of a ROS topic (``/a`` -> ``rt/a``)."""
    return 'rt' + fqn


def dds_to_topic(name: str) -> str | None:
    """Return the ROS topic of a DDS ``rt/`` topic, else None."""
    return name[2:] if name.startswith('rt/') else None


def _idl_type(desc: tuple[Any, ...]) -> Any:
    from cyclonedds.idl import types as t

    kind = int(desc[0])
    if kind == 1:
        base, bound = desc[1]
        if base in ('string', 'wstring'):
            return t.bounded_str[bound] if bound else str
        mapping = {
            'bool': bool, 'byte': t.byte, 'octet': t.byte, 'char': t.uint8, 'int8': t.int8,
            'uint8': t.uint8, 'int16': t.int16, 'uint16': t.uint16, 'int32': t.int32,
            'uint32': t.uint32, 'int64': t.int64, 'uint64': t.uint64, 'float32': t.float32,
            'float64': t.float64,
        }
        if base not in mapping:
            msg = f'type {base!r} has no DDS mapping'
            raise MessageError(msg)
        return mapping[base]
    if kind == 2:
        return idl_struct(desc[1])
    sub, length = desc[1]
    inner = _idl_type(sub)
    if kind == 3:
        return t.array[inner, length]
    return t.sequence[inner, length] if length else t.sequence[inner]


@lru_cache(maxsize=None)
def idl_struct(ros_type: str, request_header: bool = False) -> Any:
    """Return a cyclonedds ``IdlStruct`` class mirroring ``ros_type`` (for the sertype only).

    With ``request_header`` the struct starts with ``uint64 guid, int64 seq`` (services).
    """
    from cyclonedds.idl import make_idl_struct
    from cyclonedds.idl import types as t

    store = typestore()
    if ros_type not in store.fielddefs:
        msg = f'type {ros_type!r} is not in the typestore'
        raise MessageError(msg)
    _, fields = store.fielddefs[ros_type]
    members: dict[str, Any] = {}
    if request_header:
        members['_cdds_guid'] = t.uint64
        members['_cdds_seq'] = t.int64
    for name, desc in fields:
        members[name] = _idl_type(desc)
    cls_name = ros_type.rsplit('/', 1)[1] + ('_wrapped' if request_header else '') + '_'
    return make_idl_struct(cls_name, dds_type_name(ros_type), members)


def wrap_request(seq_guid: tuple[int, int], cdr: bytes) -> bytes:
    """Return service payload: encapsulation header + (guid, seq) + body of ``cdr``."""
    guid, seq = seq_guid
    return cdr[:4] + REQUEST_HEADER.pack(guid, seq) + cdr[4:]


def unwrap_request(data: bytes) -> tuple[int, int, bytes]:
    """Return (guid, seq, plain CDR with encapsulation header) of a service payload.

    Raises:
        MessageError: The payload is too short to hold the header.
    """
    if len(data) < 20:
        msg = f'service payload of {len(data)} bytes is shorter than its 20-byte header'
        raise MessageError(msg)
    guid, seq = REQUEST_HEADER.unpack_from(data, 4)
    return guid, seq, data[:4] + data[20:]
