"""Node, endpoints and single-threaded executor of the DDS backend (rclpy-shaped).

Executor design: one Cyclone waitset per executor, a read condition per reader (subscriptions,
service request readers, client reply readers) attached with the reader's handle as attach
value, plus the context's guard condition (shutdown / wake-up). ``spin_once`` waits until a
reader triggers or the next timer is due (in slices of at most 0.2 s so signals are handled),
then takes the samples of the triggered readers with ``ddspy_take`` (raw CDR bytes, no Python
deserializer), runs their callbacks, then the due timers. Everything runs on the spinning
thread, so callbacks never run concurrently.
"""
from __future__ import annotations

import ctypes as ct
import threading
import time
from collections.abc import Callable
from typing import Any

from imitation_ros.errors import GraphError, MessageError
from imitation_ros.graph.clock import ClockType, ROSClock, Time
from imitation_ros.graph.dds import context as ctxmod
from imitation_ros.graph.dds import param_service, rosout, wire
from imitation_ros.graph.logs import RcutilsLogger
from imitation_ros.graph.names import (
    expand_topic_name,
    node_fqn,
    normalize_namespace,
    remap_name,
    remap_node,
    validate_node_name,
)
from imitation_ros.graph.params import (
    Parameter,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
    overrides_for,
    parse_ros_args,
)
from imitation_ros.graph.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    as_profile,
    qos_profile_services_default,
)
from imitation_ros.messages import runtime

DDS_INFINITY = 0x7FFFFFFFFFFFFFFF
_WAIT_SLICE_NS = 200_000_000


def _lib() -> Any:
    from cyclonedds.internal import DDS

    return DDS._dll_handle  # noqa: SLF001


class _C:
    """ctypes prototypes of the few Cyclone calls the executor needs (own function objects)."""

    def __init__(self) -> None:
        lib = _lib()
        i32, i64 = ct.c_int32, ct.c_int64
        self.create_waitset = ct.CFUNCTYPE(i32, i32)(('dds_create_waitset', lib))
        self.waitset_attach = ct.CFUNCTYPE(i32, i32, i32, ct.c_ssize_t)(
            ('dds_waitset_attach', lib))
        self.waitset_detach = ct.CFUNCTYPE(i32, i32, i32)(('dds_waitset_detach', lib))
        self.waitset_wait = ct.CFUNCTYPE(i32, i32, ct.POINTER(ct.c_ssize_t), ct.c_size_t, i64)(
            ('dds_waitset_wait', lib))
        self.create_readcondition = ct.CFUNCTYPE(i32, i32, ct.c_uint32)(
            ('dds_create_readcondition', lib))
        self.delete = ct.CFUNCTYPE(i32, i32)(('dds_delete', lib))
        self.take_guardcondition = ct.CFUNCTYPE(i32, i32, ct.POINTER(ct.c_bool))(
            ('dds_take_guardcondition', lib))


_c: list[_C] = []


def c_api() -> _C:
    """Return the ctypes prototypes (created once)."""
    if not _c:
        _c.append(_C())
    return _c[0]


def delete_entity(entity: Any) -> None:
    """Delete a cyclonedds Python entity now (they live in a class-level registry otherwise)."""
    ref = getattr(entity, '_ref', None)
    if ref is None:
        return
    registry = getattr(entity, '_entities', {})
    if ref in registry:
        del registry[ref]
        c_api().delete(ref)


def dds_qos(profile: QoSProfile, user_data: bytes) -> Any:
    """Return the cyclonedds Qos for a ROS profile, as rmw_cyclonedds_cpp maps it."""
    from cyclonedds.core import Policy, Qos

    policies: list[Any] = []
    if profile.reliability == ReliabilityPolicy.BEST_EFFORT:
        policies.append(Policy.Reliability.BestEffort)
    else:
        policies.append(Policy.Reliability.Reliable(max_blocking_time=DDS_INFINITY))
    transient = profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
    policies.append(Policy.Durability.TransientLocal if transient else Policy.Durability.Volatile)
    if profile.history == HistoryPolicy.KEEP_ALL:
        history: Any = Policy.History.KeepAll
    else:
        history = Policy.History.KeepLast(depth=max(1, profile.depth))
    policies.append(history)
    if transient:
        policies.append(Policy.DurabilityService(
            cleanup_delay=0, history=history, max_samples=-1, max_instances=-1,
            max_samples_per_instance=-1))
    if profile.lifespan_ns > 0:
        policies.append(Policy.Lifespan(lifespan=profile.lifespan_ns))
    policies.append(Policy.WriterDataLifecycle(autodispose=False))
    policies.append(Policy.DataRepresentation(use_cdrv0_representation=True))
    if user_data:
        policies.append(Policy.Userdata(data=user_data))
    return Qos(*policies)


def profile_from_dds(qos: Any) -> QoSProfile:
    """Return the ROS QoS profile of a discovered endpoint's DDS QoS."""
    from cyclonedds.core import Policy

    def get(policy: Any) -> Any:
        try:
            return qos[policy]
        except (KeyError, TypeError):
            return None
    rel = get(Policy.Reliability)
    dur = get(Policy.Durability)
    hist = get(Policy.History)
    reliability = (ReliabilityPolicy.BEST_EFFORT if rel == Policy.Reliability.BestEffort
                   else ReliabilityPolicy.RELIABLE)
    durability = (DurabilityPolicy.TRANSIENT_LOCAL if dur == Policy.Durability.TransientLocal
                  else DurabilityPolicy.VOLATILE)
    life = get(Policy.Lifespan)
    lifespan_ns = int(getattr(life, 'lifespan', 0) or 0) if life is not None else 0
    if lifespan_ns >= DDS_INFINITY:
        lifespan_ns = 0
    if hist == Policy.History.KeepAll:
        return QoSProfile(history=HistoryPolicy.KEEP_ALL, depth=0, reliability=reliability,
                          durability=durability, lifespan=lifespan_ns / 1e9)
    depth = getattr(hist, 'depth', 1) if hist is not None else 1
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=reliability,
                      durability=durability, lifespan=lifespan_ns / 1e9)


def _user_data(qos: Any) -> dict[str, str]:
    from cyclonedds.core import Policy

    try:
        data = qos[Policy.Userdata].data
    except (KeyError, TypeError, AttributeError):
        return {}
    out = {}
    for item in bytes(data).decode('utf-8', 'replace').split(';'):
        if '=' in item:
            k, v = item.split('=', 1)
            out[k] = v
    return out


def csid_to_string(csid: bytes) -> str:
    """Print a client/service id as rmw_cyclonedds ``csid_to_string`` does.

    That is ``std::hex << std::setw(2)`` for the first byte (space-padded: `` 1.10.6b...``),
    then ``.<hex>`` per byte, as seen in a real rclpy service's USER_DATA.
    """
    return format(csid[0], '2x') + ''.join('.' + format(b, 'x') for b in csid[1:])


def _service_user_data(role: str, csid: bytes, msg_type: str) -> bytes:
    """USER_DATA of a service/client endpoint: ``<role>id=<csid>;typehash=<RIHS01>;``.

    rmw_cyclonedds_cpp (Jazzy) puts the type hash of the endpoint's own message type (the
    ``_Request`` or ``_Response`` struct) after the id.
    """
    hash_ = runtime.type_hash(msg_type)
    text = f'{role}id={csid_to_string(csid)};' + (f'typehash={hash_};' if hash_ else '')
    return text.encode()


# --------------------------------------------------------------------------------------------
# futures


class Future:
    """Result of an asynchronous call (rclpy.task.Future subset)."""

    def __init__(self) -> None:
        self._done = False
        self._cancelled = False
        self._result: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Future], None]] = []
        self._lock = threading.Lock()

    def done(self) -> bool:
        """Whether a result, an exception or a cancel was set."""
        return self._done

    def cancelled(self) -> bool:
        """Whether cancel() was called before completion."""
        return self._cancelled

    def cancel(self) -> None:
        """Cancel: the result will be ignored."""
        if not self._done:
            self._cancelled = True
            self._complete()

    def result(self) -> Any:
        """Return the result (None until done); raises the exception if one was set."""
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self) -> BaseException | None:
        """Return the exception set, if any."""
        return self._exception

    def set_result(self, result: Any) -> None:
        """Complete with ``result`` and run the done callbacks."""
        self._result = result
        self._complete()

    def set_exception(self, exception: BaseException) -> None:
        """Complete with ``exception`` and run the done callbacks."""
        self._exception = exception
        self._complete()

    def _complete(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb(self)

    def add_done_callback(self, callback: Callable[[Future], None]) -> None:
        """Call ``callback(future)`` when done (immediately if already done)."""
        with self._lock:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self)


# --------------------------------------------------------------------------------------------
# endpoints


class _Topic:
    """Holds a cyclonedds Topic for a DDS topic name + ROS type (+ service header)."""

    @staticmethod
    def get(ctx: ctxmod.Context, dds_name: str, ros_type: str, header: bool) -> Any:
        from cyclonedds.topic import Topic

        cache = ctx.__dict__.setdefault('_topics', {})
        key = (dds_name, ros_type, header)
        if key not in cache:
            try:
                cache[key] = Topic(ctx.participant, dds_name, wire.idl_struct(ros_type, header))
            except Exception as err:  # DDSException: type clash etc.
                msg = f'cannot create DDS topic {dds_name!r} of type {ros_type}: {err}'
                raise GraphError(msg) from err
        return cache[key]


def _msg_type_name(msg_type: Any) -> str:
    name = getattr(msg_type, '_type', None)
    if not name:
        msg = f'{msg_type!r} is not a message class of this backend (use msg_type())'
        raise GraphError(msg)
    return name


class Publisher:
    """Writes messages of one type on one topic."""

    def __init__(self, node: Node, msg_type: Any, topic: str, qos: QoSProfile) -> None:
        from cyclonedds.pub import DataWriter

        self._node = node
        self.msg_type = msg_type
        self._type = _msg_type_name(msg_type)
        self.topic_name = topic
        self.qos_profile = qos
        ctx = node.context
        tp = _Topic.get(ctx, wire.topic_to_dds(topic), self._type, False)
        hash_ = runtime.type_hash(self._type)
        ud = f'typehash={hash_};'.encode() if hash_ else b''
        self._writer = DataWriter(ctx.participant, tp, qos=dds_qos(qos, ud))

    @property
    def topic(self) -> str:
        """The fully qualified topic name."""
        return self.topic_name

    def publish(self, msg: Any) -> None:
        """Publish a message (or already serialized CDR ``bytes``).

        Raises:
            MessageError: ``msg`` is of another type or does not serialize.
        """
        from cyclonedds._clayer import ddspy_write

        if isinstance(msg, (bytes, bytearray, memoryview)):
            data: Any = msg
        else:
            mtype = getattr(msg, '_type', None) or getattr(msg, '__msgtype__', None)
            if mtype is not None and mtype != self._type:
                text = f'topic {self.topic_name!r}: publishing {mtype}, expected {self._type}'
                raise MessageError(text)
            data = runtime.serialize_buffer(msg, self._type)
        ret = ddspy_write(self._writer._ref, data)  # noqa: SLF001
        if ret < 0:
            text = f'topic {self.topic_name!r}: DDS write failed ({ret})'
            raise GraphError(text)

    def get_subscription_count(self) -> int:
        """Number of matched readers."""
        return len(self._writer.get_matched_subscriptions())

    def destroy(self) -> None:
        """Delete the writer."""
        self._node.destroy_publisher(self)

    def _delete(self) -> None:
        delete_entity(self._writer)


class _Reader:
    """Common part of readers driven by the executor."""

    reader: Any

    def _make_reader(self, ctx: ctxmod.Context, tp: Any, qos: Any) -> None:
        from cyclonedds.sub import DataReader

        self.reader = DataReader(ctx.participant, tp, qos=qos)
        self.cond = c_api().create_readcondition(self.reader._ref, 0)  # noqa: SLF001
        if self.cond < 0:
            msg = f'cannot create read condition ({self.cond})'
            raise GraphError(msg)

    def _take(self, n: int = 64) -> list[tuple[bytes, Any]]:
        from cyclonedds._clayer import ddspy_take

        ret = ddspy_take(self.reader._ref, 0, n)  # noqa: SLF001
        if isinstance(ret, int):
            return []
        return ret

    def _handle(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _delete(self) -> None:
        c_api().delete(self.cond)
        delete_entity(self.reader)


class Subscription(_Reader):
    """Delivers messages (or raw CDR bytes with ``raw=True``) of one topic to a callback."""

    def __init__(self, node: Node, msg_type: Any, topic: str, callback: Callable[[Any], Any],
                 qos: QoSProfile, raw: bool) -> None:
        self._node = node
        self.msg_type = msg_type
        self._type = _msg_type_name(msg_type)
        self.topic_name = topic
        self.callback = callback
        self.qos_profile = qos
        self.raw = raw
        ctx = node.context
        tp = _Topic.get(ctx, wire.topic_to_dds(topic), self._type, False)
        hash_ = runtime.type_hash(self._type)
        ud = f'typehash={hash_};'.encode() if hash_ else b''
        self._make_reader(ctx, tp, dds_qos(qos, ud))

    @property
    def topic(self) -> str:
        """The fully qualified topic name."""
        return self.topic_name

    def _handle(self) -> None:
        for data, info in self._take():
            if not info.valid_data:
                continue
            if self.raw:
                self.callback(data)
                continue
            try:
                msg = runtime.deserialize(data, self._type)
            except MessageError as err:
                self._node.get_logger().error(
                    f'topic {self.topic_name!r}: dropped a message: {err}',
                    throttle_duration_sec=1.0)
                continue
            self.callback(msg)

    def get_publisher_count(self) -> int:
        """Number of matched writers."""
        return len(self.reader.get_matched_publications())

    def destroy(self) -> None:
        """Delete the reader."""
        self._node.destroy_subscription(self)


class Service(_Reader):
    """Answers requests: ``callback(request, response) -> response``."""

    def __init__(self, node: Node, srv_type: Any, name: str, callback: Callable[..., Any],
                 qos: QoSProfile) -> None:
        from cyclonedds.pub import DataWriter

        self._node = node
        self.srv_type = srv_type
        self.srv_name = name
        self.callback = callback
        self._type = srv_type._type
        ctx = node.context
        rq = _Topic.get(ctx, f'rq{name}Request', f'{self._type}_Request', True)
        rr = _Topic.get(ctx, f'rr{name}Reply', f'{self._type}_Response', True)
        self.csid = ctx.next_csid()
        self._make_reader(ctx, rq, dds_qos(qos, _service_user_data(
            'service', self.csid, f'{self._type}_Request')))
        self._writer = DataWriter(ctx.participant, rr, qos=dds_qos(qos, _service_user_data(
            'service', self.csid, f'{self._type}_Response')))

    def _client_reader_matched(self, writer_handle: int) -> bool | None:
        """True/False: the requesting client's reply reader is (not yet) matched; None: gone."""
        try:
            wr = self.reader.get_matched_publication_data(writer_handle)
        except Exception:  # noqa: BLE001
            wr = None
        if wr is None:
            return None
        clientid = _user_data(wr.qos).get('clientid')
        if clientid is None:
            return True
        for rh in self._writer.get_matched_subscriptions():
            try:
                rd = self._writer.get_matched_subscription_data(rh)
            except Exception:  # noqa: BLE001
                continue
            if rd is not None and _user_data(rd.qos).get('clientid') == clientid:
                return True
        return False

    def _handle(self) -> None:
        from cyclonedds._clayer import ddspy_write

        for data, info in self._take():
            if not info.valid_data:
                continue
            try:
                guid, seq, body = wire.unwrap_request(data)
                request = runtime.deserialize(body, f'{self._type}_Request')
            except MessageError as err:
                self._node.get_logger().error(f'service {self.srv_name!r}: bad request: {err}')
                continue
            response = self.callback(request, self.srv_type.Response())
            if response is None:
                self._node.get_logger().error(
                    f'service {self.srv_name!r}: callback returned None, no reply sent')
                continue
            payload = wire.wrap_request((guid, seq), runtime.serialize(
                response, f'{self._type}_Response'))
            # rmw_cyclonedds waits up to 100 ms for the client's reply reader to be matched
            deadline = time.monotonic() + 0.1
            state = self._client_reader_matched(info.publication_handle)
            while state is False and time.monotonic() < deadline:
                time.sleep(0.005)
                state = self._client_reader_matched(info.publication_handle)
            if state is None:
                continue
            ddspy_write(self._writer._ref, payload)  # noqa: SLF001

    def destroy(self) -> None:
        """Delete the service."""
        self._node.destroy_service(self)

    def _delete(self) -> None:
        super()._delete()
        delete_entity(self._writer)


_seq_lock = threading.Lock()
_next_seq = [0]


class Client(_Reader):
    """Sends requests to a service; replies complete the futures of ``call_async``."""

    def __init__(self, node: Node, srv_type: Any, name: str, qos: QoSProfile) -> None:
        from cyclonedds.pub import DataWriter

        self._node = node
        self.srv_type = srv_type
        self.srv_name = name
        self._type = srv_type._type
        ctx = node.context
        rq = _Topic.get(ctx, f'rq{name}Request', f'{self._type}_Request', True)
        rr = _Topic.get(ctx, f'rr{name}Reply', f'{self._type}_Response', True)
        self.csid = ctx.next_csid()
        self._writer = DataWriter(ctx.participant, rq, qos=dds_qos(qos, _service_user_data(
            'client', self.csid, f'{self._type}_Request')))
        self._make_reader(ctx, rr, dds_qos(qos, _service_user_data(
            'client', self.csid, f'{self._type}_Response')))
        self._guid = self._writer.get_instance_handle() & 0xFFFFFFFFFFFFFFFF
        self._pending: dict[int, Future] = {}

    def service_is_ready(self) -> bool:
        """Whether a service's request reader and reply writer are both matched."""
        try:
            rds = self._writer.get_matched_subscriptions()
            wrs = self.reader.get_matched_publications()
        except Exception:  # noqa: BLE001
            return False
        ids = set()
        for h in rds:
            rd = self._writer.get_matched_subscription_data(h)
            sid = _user_data(rd.qos).get('serviceid') if rd is not None else None
            if sid:
                ids.add(sid)
        if not ids:
            return bool(rds) and bool(wrs)
        for h in wrs:
            wr = self.reader.get_matched_publication_data(h)
            if wr is not None and _user_data(wr.qos).get('serviceid') in ids:
                return True
        return False

    def wait_for_service(self, timeout_sec: float | None = None) -> bool:
        """Block until the service is ready or ``timeout_sec`` passes; returns readiness."""
        deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
        while self._node.context.ok():
            if self.service_is_ready():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return False

    def call_async(self, request: Any) -> Future:
        """Send ``request``; returns a Future completed by the executor when the reply comes."""
        from cyclonedds._clayer import ddspy_write

        with _seq_lock:
            _next_seq[0] += 1
            seq = _next_seq[0]
        fut = Future()
        self._pending[seq] = fut
        payload = wire.wrap_request(
            (self._guid, seq), runtime.serialize(request, f'{self._type}_Request'))
        ret = ddspy_write(self._writer._ref, payload)  # noqa: SLF001
        if ret < 0:
            del self._pending[seq]
            msg = f'service {self.srv_name!r}: DDS write of the request failed ({ret})'
            raise GraphError(msg)
        return fut

    def call(self, request: Any, timeout_sec: float | None = None) -> Any:
        """Send ``request`` and spin this node until the reply (or timeout) comes."""
        fut = self.call_async(request)
        spin_until_future_complete(self._node, fut, timeout_sec)
        return fut.result()

    def _handle(self) -> None:
        for data, info in self._take():
            if not info.valid_data:
                continue
            try:
                guid, seq, body = wire.unwrap_request(data)
            except MessageError:
                continue
            if guid != self._guid:
                continue
            fut = self._pending.pop(seq, None)
            if fut is None or fut.done():
                continue
            try:
                fut.set_result(runtime.deserialize(body, f'{self._type}_Response'))
            except MessageError as err:
                fut.set_exception(err)

    def remove_pending_request(self, future: Future) -> None:
        """Forget a pending request (its reply will be ignored)."""
        for seq, fut in list(self._pending.items()):
            if fut is future:
                del self._pending[seq]

    def destroy(self) -> None:
        """Delete the client."""
        self._node.destroy_client(self)

    def _delete(self) -> None:
        super()._delete()
        delete_entity(self._writer)


class Timer:
    """Calls ``callback()`` every ``timer_period_ns`` on the executor thread."""

    def __init__(self, node: Node, period_sec: float, callback: Callable[[], Any]) -> None:
        if period_sec <= 0:
            msg = f'timer period must be > 0 s, got {period_sec}'
            raise GraphError(msg)
        self._node = node
        self.callback = callback
        self.timer_period_ns = int(period_sec * 1e9)
        self._canceled = False
        self._next_ns = time.monotonic_ns() + self.timer_period_ns

    def cancel(self) -> None:
        """Stop calling the callback."""
        self._canceled = True

    def is_canceled(self) -> bool:
        """Whether cancel() was called."""
        return self._canceled

    def reset(self) -> None:
        """Restart the period from now (and un-cancel)."""
        self._canceled = False
        self._next_ns = time.monotonic_ns() + self.timer_period_ns

    def time_until_next_call(self) -> int | None:
        """Nanoseconds until the next call (None when canceled)."""
        if self._canceled:
            return None
        return max(0, self._next_ns - time.monotonic_ns())

    def is_ready(self) -> bool:
        """Whether the next call is due."""
        return not self._canceled and time.monotonic_ns() >= self._next_ns

    def _fire(self) -> None:
        now = time.monotonic_ns()
        self._next_ns += self.timer_period_ns
        if self._next_ns <= now:  # fell behind: skip missed periods, like rcl
            missed = (now - self._next_ns) // self.timer_period_ns + 1
            self._next_ns += missed * self.timer_period_ns
        self.callback()

    def destroy(self) -> None:
        """Delete the timer."""
        self._node.destroy_timer(self)


class TopicEndpointInfo:
    """A discovered publisher or subscription (``get_publishers_info_by_topic``)."""

    def __init__(self, topic_type: str, qos_profile: QoSProfile, endpoint_gid: bytes,
                 endpoint_type: str) -> None:
        self.node_name = '_NODE_NAME_UNKNOWN_'
        self.node_namespace = '_NODE_NAMESPACE_UNKNOWN_'
        self.topic_type = topic_type
        self.topic_type_hash = ''
        self.qos_profile = qos_profile
        self.endpoint_gid = endpoint_gid
        self.endpoint_type = endpoint_type

    def __repr__(self) -> str:
        return (f'TopicEndpointInfo(type={self.topic_type}, endpoint={self.endpoint_type}, '
                f'qos={self.qos_profile})')


# --------------------------------------------------------------------------------------------
# node


class Node:
    """A ROS node on the DDS backend (rclpy.node.Node subset, same signatures)."""

    def __init__(self, node_name: str, *, context: ctxmod.Context | None = None,
                 cli_args: list[str] | None = None, namespace: str | None = None,
                 use_global_arguments: bool = True, enable_rosout: bool = True,
                 start_parameter_services: bool = True,
                 parameter_overrides: list[Parameter] | None = None,
                 allow_undeclared_parameters: bool = False,
                 automatically_declare_parameters_from_overrides: bool = False) -> None:
        ctx = context or ctxmod.get_default_context()
        if ctx is None or not ctx.ok():
            msg = f'node {node_name!r}: init() must be called before creating a node'
            raise GraphError(msg)
        self.context = ctx
        validate_node_name(node_name)
        local = parse_ros_args(cli_args)
        arg_sets = ([ctx.ros_args] if use_global_arguments else []) + [local]
        self._remaps = [r for a in reversed(arg_sets) for r in a.remaps]
        name, ns = remap_node(node_name, normalize_namespace(namespace or ''), self._remaps)
        self._name, self._ns = name, ns
        self._logger = RcutilsLogger(
            (ns.strip('/').replace('/', '.') + '.' + name) if ns != '/' else name)
        self._allow_undeclared = allow_undeclared_parameters
        self._overrides = overrides_for(arg_sets, name, self.get_fully_qualified_name())
        for p in parameter_overrides or []:
            self._overrides[p.name] = p.value
        self._parameters: dict[str, Parameter] = {}
        self._descriptors: dict[str, ParameterDescriptor] = {}
        self._param_callbacks: list[Callable[[list[Parameter]], SetParametersResult]] = []
        self.publishers: list[Publisher] = []
        self.subscriptions: list[Subscription] = []
        self.services: list[Service] = []
        self.clients: list[Client] = []
        self.timers: list[Timer] = []
        self._clock = ROSClock()
        self._clock_sub: Subscription | None = None
        self._destroyed = False
        self._builtin: dict[str, Any] = {}
        self._param_events: Publisher | None = None
        self._param_service: Any = None
        self._rosout: Any = None
        self._start_parameter_services = start_parameter_services
        self._builtin_started = False
        ctx.nodes.append(self)
        _bump()
        # rcl configures logging (--disable-rosout-logs) from the global arguments only
        if enable_rosout and ctx.ros_args.rosout:
            self._rosout = rosout.RosoutPublisher(self)
        if ctx.has_participant:
            self._start_builtin()
        self.declare_parameter('use_sim_time', False)
        if automatically_declare_parameters_from_overrides:
            for pname, value in self._overrides.items():
                if pname not in self._parameters:
                    self.declare_parameter(pname, value)
        self._apply_sim_time(bool(self.get_parameter('use_sim_time').value))

    def _start_builtin(self) -> None:
        """Create the endpoints every rclpy node has: ``/rosout`` and ``/parameter_events``
        publishers and the parameter services (idempotent).

        They need the process's DDS participant, so they are created with it (the context calls
        this when the first endpoint or executor of any node creates the participant): a node
        that never touches DDS (unit tests) stays DDS-free. Log lines before that are buffered.
        """
        if self._builtin_started or self._destroyed:
            return
        self._builtin_started = True
        self._graph_batch = True  # one ros_discovery_info update for the 8 endpoints
        try:
            self._param_events = self.create_publisher(
                runtime.msg_class('rcl_interfaces/msg/ParameterEvent'),
                param_service.PARAMETER_EVENTS_TOPIC, param_service.qos_profile_parameter_events)
            if self._rosout is not None:
                self._rosout.start()
            if self._start_parameter_services:
                self._param_service = param_service.ParameterService(self)
        finally:
            self._graph_batch = False
        self._graph_changed()

    # -- names
    def get_name(self) -> str:
        """The node name (after ``__node:=`` remapping)."""
        return self._name

    def get_namespace(self) -> str:
        """The node namespace (absolute)."""
        return self._ns

    def get_fully_qualified_name(self) -> str:
        """``/ns/name``."""
        return node_fqn(self._name, self._ns)

    def resolve_topic_name(self, topic: str, *, only_expand: bool = False) -> str:
        """Expand (and remap) a topic name against this node."""
        expanded = expand_topic_name(topic, self._name, self._ns)
        return expanded if only_expand else remap_name(expanded, self._remaps, self._name,
                                                       self._ns)

    resolve_service_name = resolve_topic_name

    @property
    def default_callback_group(self) -> None:
        """Callback groups do not exist here: one thread runs every callback."""
        return None

    # -- logging and time
    def get_logger(self) -> RcutilsLogger:
        """The node's logger (named ``ns.node``)."""
        return self._logger

    def get_clock(self) -> ROSClock:
        """The node's ROS clock."""
        return self._clock

    def _apply_sim_time(self, on: bool) -> None:
        if on and self._clock_sub is None:
            self._clock._set_ros_time_override(0)  # noqa: SLF001
            self._clock_sub = self.create_subscription(
                runtime.msg_class('rosgraph_msgs/msg/Clock'), '/clock', self._on_clock,
                QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        elif not on and self._clock_sub is not None:
            self.destroy_subscription(self._clock_sub)
            self._clock_sub = None
            self._clock._set_ros_time_override(None)  # noqa: SLF001

    def _on_clock(self, msg: Any) -> None:
        self._clock._set_ros_time_override(  # noqa: SLF001
            int(msg.clock.sec) * 1_000_000_000 + int(msg.clock.nanosec))

    # -- parameters
    def declare_parameter(self, name: str, value: Any = None,
                          descriptor: ParameterDescriptor | None = None,
                          ignore_override: bool = False) -> Parameter:
        """Declare a parameter; a command-line/params-file override wins over ``value``.

        Raises:
            GraphError: Already declared, or the override's type differs from the default's
                (unless ``descriptor.dynamic_typing``).
        """
        if name in self._parameters:
            msg = f'node {self.get_fully_qualified_name()}: parameter {name!r} already declared'
            raise GraphError(msg)
        if isinstance(value, Parameter.Type):
            value = None
        descriptor = descriptor or ParameterDescriptor()
        final = value
        if not ignore_override and name in self._overrides:
            final = self._overrides[name]
            # rclpy: an override of another type is refused unless dynamic_typing; an override
            # without value (``[]`` in YAML) is taken as is (the parameter is NOT_SET).
            if value is not None and final is not None and not descriptor.dynamic_typing:
                want = ParameterType.from_parameter_value(value)
                got = ParameterType.from_parameter_value(final)
                if want != got:
                    msg = (f'node {self.get_fully_qualified_name()}: parameter {name!r} is '
                           f'{want.name} but the override {final!r} is {got.name} (write '
                           'doubles with a decimal point, e.g. [1.0, 2.0])')
                    raise GraphError(msg)
        param = Parameter(name, value=final)
        self._descriptors[name] = descriptor
        self._parameters[name] = param
        self._publish_parameter_event(new=[param])
        return param

    def declare_parameters(self, namespace: str, parameters: list[tuple[Any, ...]],
                           ignore_override: bool = False) -> list[Parameter]:
        """Declare ``(name, value[, descriptor])`` tuples under ``namespace.``."""
        out = []
        for item in parameters:
            name = f'{namespace}.{item[0]}' if namespace else item[0]
            value = item[1] if len(item) > 1 else None
            desc = item[2] if len(item) > 2 else None
            out.append(self.declare_parameter(name, value, desc, ignore_override))
        return out

    def has_parameter(self, name: str) -> bool:
        """Whether ``name`` is declared."""
        return name in self._parameters

    def get_parameter(self, name: str) -> Parameter:
        """Return a declared parameter.

        Raises:
            GraphError: It is not declared (and undeclared parameters are not allowed).
        """
        if name in self._parameters:
            return self._parameters[name]
        if self._allow_undeclared:
            return Parameter(name, ParameterType.NOT_SET, None)
        msg = f'node {self.get_fully_qualified_name()}: parameter {name!r} is not declared'
        raise GraphError(msg)

    def get_parameter_or(self, name: str, alternative_value: Parameter | None = None) -> Any:
        """Return the parameter or ``alternative_value`` when undeclared."""
        if name in self._parameters:
            return self._parameters[name]
        return alternative_value if alternative_value is not None else Parameter(
            name, ParameterType.NOT_SET, None)

    def get_parameters(self, names: list[str]) -> list[Parameter]:
        """Return several declared parameters."""
        return [self.get_parameter(n) for n in names]

    def get_parameters_by_prefix(self, prefix: str) -> dict[str, Parameter]:
        """Return ``{name without prefix: Parameter}`` of the parameters under ``prefix.``."""
        pre = prefix + '.' if prefix else ''
        return {n[len(pre):]: p for n, p in self._parameters.items() if n.startswith(pre)}

    def add_on_set_parameters_callback(
            self, callback: Callable[[list[Parameter]], SetParametersResult]) -> Any:
        """Register ``callback(params) -> SetParametersResult`` run before each set."""
        self._param_callbacks.insert(0, callback)
        return callback

    def remove_on_set_parameters_callback(self, callback: Any) -> None:
        """Unregister a callback added with add_on_set_parameters_callback."""
        self._param_callbacks.remove(callback)

    def set_parameters(self, parameter_list: list[Parameter]) -> list[SetParametersResult]:
        """Set parameters one by one; callbacks may reject each."""
        return [self._set_atomically([p]) for p in parameter_list]

    def set_parameters_atomically(self, parameter_list: list[Parameter]) -> SetParametersResult:
        """Set parameters all or none."""
        return self._set_atomically(parameter_list)

    def _check_set(self, p: Parameter) -> SetParametersResult | None:
        """rclpy's descriptor checks of one parameter (None: it may be set)."""
        fqn = self.get_fully_qualified_name()
        if p.name not in self._parameters and not self._allow_undeclared:
            return SetParametersResult(
                False, f'parameter {p.name!r} is not declared on node {fqn}')
        desc = self._descriptors.get(p.name)
        if desc is None:
            return None
        if desc.read_only:
            return SetParametersResult(
                False, f'Trying to set a read-only parameter: {p.name} (node {fqn}).')
        if desc.dynamic_typing:
            return None
        old = self._parameters.get(p.name)
        if old is not None and p.type_ == ParameterType.NOT_SET:
            return SetParametersResult(
                False, f'Static parameter cannot be undeclared: {p.name} (node {fqn})')
        if (old is not None and old.type_ != ParameterType.NOT_SET
                and p.type_ != old.type_):
            return SetParametersResult(
                False, f"Wrong parameter type, expected '{old.type_.name}' got "
                       f"'{p.type_.name}' for {p.name} (node {fqn})")
        return None

    def _set_atomically(self, params: list[Parameter]) -> SetParametersResult:
        for p in params:
            refused = self._check_set(p)
            if refused is not None:
                return refused
        for cb in self._param_callbacks:
            result = cb(params)
            if not result.successful:
                return result
        new, changed, deleted = [], [], []
        for p in params:
            if p.type_ == ParameterType.NOT_SET:
                deleted.append(p)
                self._parameters.pop(p.name, None)
                self._descriptors.pop(p.name, None)
                continue
            old = self._parameters.get(p.name)
            if p.name not in self._descriptors:
                self._descriptors[p.name] = ParameterDescriptor(dynamic_typing=True)
            (new if old is None or old.type_ == ParameterType.NOT_SET else changed).append(p)
            self._parameters[p.name] = p
            if p.name == 'use_sim_time':
                self._apply_sim_time(bool(p.value))
        self._publish_parameter_event(new=new, changed=changed, deleted=deleted)
        return SetParametersResult(True, '')

    def undeclare_parameter(self, name: str) -> None:
        """Forget a declared parameter (publishes it as deleted on ``/parameter_events``).

        Raises:
            GraphError: The parameter is read-only.
        """
        desc = self._descriptors.get(name)
        if desc is not None and desc.read_only:
            msg = f'node {self.get_fully_qualified_name()}: parameter {name!r} is read-only'
            raise GraphError(msg)
        param = self._parameters.pop(name, None)
        self._descriptors.pop(name, None)
        if param is not None:
            self._publish_parameter_event(deleted=[Parameter(name, ParameterType.NOT_SET, None)])

    def _publish_parameter_event(self, new: list[Parameter] = (), changed: list[Parameter] = (),
                       deleted: list[Parameter] = ()) -> None:
        """Publish an rcl_interfaces/msg/ParameterEvent (best effort: never raises)."""
        pub = self._param_events
        if pub is None or self._destroyed or not (new or changed or deleted):
            return
        to_msg = param_service.parameter_to_msg
        try:
            pub.publish(runtime.msg_class('rcl_interfaces/msg/ParameterEvent')(
                stamp=self._clock.now().to_msg(), node=self.get_fully_qualified_name(),
                new_parameters=[to_msg(p) for p in new],
                changed_parameters=[to_msg(p) for p in changed],
                deleted_parameters=[to_msg(p) for p in deleted]))
        except Exception as err:  # noqa: BLE001 - events are informational
            self._logger.debug(f'cannot publish {param_service.PARAMETER_EVENTS_TOPIC}: {err}')

    def describe_parameter(self, name: str) -> ParameterDescriptor:
        """Return the descriptor of a parameter (name and current type filled in, as rclpy).

        Raises:
            GraphError: It is not declared (and undeclared parameters are not allowed).
        """
        if name not in self._descriptors:
            if self._allow_undeclared:
                return ParameterDescriptor(name=name)
            msg = f'node {self.get_fully_qualified_name()}: parameter {name!r} is not declared'
            raise GraphError(msg)
        desc = self._descriptors[name]
        return ParameterDescriptor(
            name=name, type=int(self._parameters[name].type_), description=desc.description,
            additional_constraints=desc.additional_constraints, read_only=desc.read_only,
            dynamic_typing=desc.dynamic_typing)

    def describe_parameters(self, names: list[str]) -> list[ParameterDescriptor]:
        """Return the descriptors of several parameters."""
        return [self.describe_parameter(n) for n in names]

    def _describe_msg(self, name: str) -> Any:
        d = self.describe_parameter(name)
        return param_service.descriptor_to_msg(name, d, ParameterType(d.type))

    def get_parameter_type(self, name: str) -> ParameterType:
        """Return the type of a parameter (NOT_SET for undeclared ones when allowed)."""
        return self.get_parameter(name).type_

    def get_parameter_types(self, names: list[str]) -> list[ParameterType]:
        """Return the types of several parameters."""
        return [self.get_parameter_type(n) for n in names]

    def list_parameters(self, prefixes: list[str], depth: int) -> Any:
        """Return an rcl_interfaces/msg/ListParametersResult (rclpy's selection rules)."""
        names, pre = param_service.list_parameters(list(self._parameters), prefixes, depth)
        return runtime.msg_class('rcl_interfaces/msg/ListParametersResult')(
            names=names, prefixes=pre)

    # -- endpoints
    def create_publisher(self, msg_type: Any, topic: str, qos_profile: QoSProfile | int,
                         **_kw: Any) -> Publisher:
        """Create a publisher on ``topic`` (relative names resolve in the namespace)."""
        self._check_alive()
        pub = Publisher(self, msg_type, self.resolve_topic_name(topic), as_profile(qos_profile))
        self.publishers.append(pub)
        self._graph_changed()
        return pub

    def create_subscription(self, msg_type: Any, topic: str, callback: Callable[[Any], Any],
                            qos_profile: QoSProfile | int, *, raw: bool = False,
                            **_kw: Any) -> Subscription:
        """Create a subscription; ``raw=True`` delivers the CDR ``bytes`` (header included)."""
        self._check_alive()
        sub = Subscription(self, msg_type, self.resolve_topic_name(topic), callback,
                           as_profile(qos_profile), raw)
        self.subscriptions.append(sub)
        _bump()
        self._graph_changed()
        return sub

    def create_service(self, srv_type: Any, srv_name: str, callback: Callable[..., Any], *,
                       qos_profile: QoSProfile = qos_profile_services_default,
                       **_kw: Any) -> Service:
        """Create a service; ``callback(request, response)`` returns the response."""
        self._check_alive()
        srv = Service(self, srv_type, self.resolve_service_name(srv_name), callback,
                      as_profile(qos_profile))
        self.services.append(srv)
        _bump()
        self._graph_changed()
        return srv

    def create_client(self, srv_type: Any, srv_name: str, *,
                      qos_profile: QoSProfile = qos_profile_services_default,
                      **_kw: Any) -> Client:
        """Create a client of ``srv_name``."""
        self._check_alive()
        cli = Client(self, srv_type, self.resolve_service_name(srv_name),
                     as_profile(qos_profile))
        self.clients.append(cli)
        _bump()
        self._graph_changed()
        return cli

    def create_timer(self, timer_period_sec: float, callback: Callable[[], Any],
                     callback_group: Any = None, clock: Any = None,
                     autostart: bool = True) -> Timer:
        """Call ``callback`` every ``timer_period_sec`` (wall clock)."""
        self._check_alive()
        timer = Timer(self, timer_period_sec, callback)
        if not autostart:
            timer.cancel()
        self.timers.append(timer)
        _bump()
        return timer

    def _remove(self, items: list[Any], item: Any) -> bool:
        if item in items:
            items.remove(item)
            if hasattr(item, '_delete'):
                item._delete()  # noqa: SLF001
            _bump()
            if not self._destroyed:
                self._graph_changed()
            return True
        return False

    def _graph_changed(self) -> None:
        if self.__dict__.get('_graph_batch'):
            return
        try:
            self.context.publish_graph()
        except Exception as err:  # noqa: BLE001 - graph info is best effort
            self._logger.debug(f'cannot publish ros_discovery_info: {err}')

    def _graph_entities(self) -> tuple[list[Any], list[Any]]:
        readers = [r.reader for r in self._readers()]
        writers = [p._writer for p in self.publishers]  # noqa: SLF001
        writers += [s._writer for s in self.services]  # noqa: SLF001
        writers += [c._writer for c in self.clients]  # noqa: SLF001
        return readers, writers

    def destroy_publisher(self, publisher: Publisher) -> bool:
        """Delete a publisher of this node."""
        return self._remove(self.publishers, publisher)

    def destroy_subscription(self, subscription: Subscription) -> bool:
        """Delete a subscription of this node."""
        return self._remove(self.subscriptions, subscription)

    def destroy_service(self, service: Service) -> bool:
        """Delete a service of this node."""
        return self._remove(self.services, service)

    def destroy_client(self, client: Client) -> bool:
        """Delete a client of this node."""
        return self._remove(self.clients, client)

    def destroy_timer(self, timer: Timer) -> bool:
        """Delete a timer of this node."""
        timer.cancel()
        return self._remove(self.timers, timer)

    def destroy_node(self) -> None:
        """Delete every entity of the node (idempotent)."""
        if self._destroyed:
            return
        self._destroyed = True
        if self._rosout is not None:
            self._rosout.close()
            self._rosout = None
        for items in (self.subscriptions, self.services, self.clients, self.publishers,
                      self.timers):
            for item in list(items):
                self._remove(items, item)
        for ent in self._builtin.values():
            delete_entity(ent)
        self._builtin.clear()
        if self in self.context.nodes:
            self.context.nodes.remove(self)
        _bump()
        self._graph_changed()

    def _check_alive(self) -> None:
        if self._destroyed:
            msg = f'node {self.get_fully_qualified_name()} was destroyed'
            raise GraphError(msg)

    def _readers(self) -> list[_Reader]:
        return [*self.subscriptions, *self.services, *self.clients]

    # -- graph
    def _endpoints(self, kind: str) -> list[Any]:
        from cyclonedds.builtin import (
            BuiltinDataReader,
            BuiltinTopicDcpsPublication,
            BuiltinTopicDcpsSubscription,
        )
        from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState

        if kind not in self._builtin:
            topic = BuiltinTopicDcpsPublication if kind == 'pub' else BuiltinTopicDcpsSubscription
            rd = BuiltinDataReader(self.context.participant, topic)
            self._builtin[kind] = rd
            self._builtin[kind + '_cond'] = ReadCondition(
                rd, ViewState.Any | SampleState.Any | InstanceState.Alive)
        rd = self._builtin[kind]
        try:
            return list(rd.read(N=100000, condition=self._builtin[kind + '_cond']))
        except Exception:  # noqa: BLE001 - an empty graph reads as "no data"
            return []

    def _topic_endpoints(self, kind: str, topic: str) -> list[Any]:
        dds = wire.topic_to_dds(self.resolve_topic_name(topic))
        return [e for e in self._endpoints(kind) if e.topic_name == dds]

    def count_publishers(self, topic_name: str) -> int:
        """Number of publishers (any process) on ``topic_name``."""
        return len(self._topic_endpoints('pub', topic_name))

    def count_subscribers(self, topic_name: str) -> int:
        """Number of subscriptions (any process) on ``topic_name``."""
        return len(self._topic_endpoints('sub', topic_name))

    def _infos(self, kind: str, topic: str) -> list[TopicEndpointInfo]:
        out = []
        for e in self._topic_endpoints(kind, topic):
            info = TopicEndpointInfo(wire.ros_type_name(e.type_name), profile_from_dds(e.qos),
                                     e.key.bytes, 'PUBLISHER' if kind == 'pub' else 'SUBSCRIPTION')
            # RIHS01 the endpoint advertises in USER_DATA (rmw_cyclonedds_cpp, Jazzy); '' if none
            info.topic_type_hash = _user_data(e.qos).get('typehash', '')
            out.append(info)
        return out

    def get_publishers_info_by_topic(self, topic_name: str,
                                     no_mangle: bool = False) -> list[TopicEndpointInfo]:
        """Discovered publishers of ``topic_name`` with their QoS."""
        return self._infos('pub', topic_name)

    def get_subscriptions_info_by_topic(self, topic_name: str,
                                        no_mangle: bool = False) -> list[TopicEndpointInfo]:
        """Discovered subscriptions of ``topic_name`` with their QoS."""
        return self._infos('sub', topic_name)

    def get_topic_names_and_types(self, no_demangle: bool = False) -> list[tuple[str, list[str]]]:
        """``[(topic, [types])]`` of every discovered ROS topic (``rt/`` DDS topics)."""
        found: dict[str, set[str]] = {}
        for kind in ('pub', 'sub'):
            for e in self._endpoints(kind):
                topic = wire.dds_to_topic(e.topic_name)
                if topic is not None:
                    found.setdefault(topic, set()).add(wire.ros_type_name(e.type_name))
        return sorted((t, sorted(ts)) for t, ts in found.items())

    def get_service_names_and_types(self) -> list[tuple[str, list[str]]]:
        """``[(service, [types])]`` of every discovered service (``rq/...Request`` readers)."""
        found: dict[str, set[str]] = {}
        for e in self._endpoints('sub'):
            if e.topic_name.startswith('rq/') and e.topic_name.endswith('Request'):
                typ = wire.ros_type_name(e.type_name)
                found.setdefault(e.topic_name[2:-7], set()).add(typ.removesuffix('_Request'))
        return sorted((t, sorted(ts)) for t, ts in found.items())

    def get_node_names(self) -> list[str]:
        """Names of the nodes of this process (remote nodes are not discovered here)."""
        return [n.get_name() for n in self.context.nodes]

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy_node()


_version = [0]


def _bump() -> None:
    _version[0] += 1


# --------------------------------------------------------------------------------------------
# executor


class SingleThreadedExecutor:
    """Runs the callbacks of its nodes one at a time on the calling thread."""

    def __init__(self, *, context: ctxmod.Context | None = None) -> None:
        self.context = context or ctxmod.get_default_context()
        if self.context is None:
            msg = 'init() must be called before creating an executor'
            raise GraphError(msg)
        self._nodes: list[Node] = []
        self._ws: int | None = None
        self._attached: dict[int, _Reader] = {}
        self._seen = -1
        self._guard_ref: int | None = None
        self._spinning = False

    def add_node(self, node: Node) -> bool:
        """Add a node; returns False if it was already there."""
        if node in self._nodes:
            return False
        self._nodes.append(node)
        _bump()
        return True

    def remove_node(self, node: Node) -> None:
        """Stop serving a node."""
        if node in self._nodes:
            self._nodes.remove(node)
            _bump()

    def get_nodes(self) -> list[Node]:
        """The nodes of this executor."""
        return list(self._nodes)

    def _sync(self) -> None:
        c = c_api()
        if self._ws is None:
            self._ws = c.create_waitset(self.context.participant._ref)  # noqa: SLF001
            if self._ws < 0:
                msg = f'cannot create waitset ({self._ws})'
                raise GraphError(msg)
            self._guard_ref = self.context.guard._ref  # noqa: SLF001
            c.waitset_attach(self._ws, self._guard_ref, 0)
        if self._seen == _version[0]:
            return
        self._seen = _version[0]
        want = {r.cond: r for n in self._nodes if not n._destroyed  # noqa: SLF001
                for r in n._readers()}  # noqa: SLF001
        for cond in list(self._attached):
            if cond not in want:
                c.waitset_detach(self._ws, cond)
                del self._attached[cond]
        for cond, reader in want.items():
            if cond not in self._attached:
                c.waitset_attach(self._ws, cond, cond)
                self._attached[cond] = reader

    def _timers(self) -> list[Timer]:
        return [t for n in self._nodes if not n._destroyed for t in n.timers]  # noqa: SLF001

    def spin_once(self, timeout_sec: float | None = None) -> None:
        """Wait for work up to ``timeout_sec`` (None: forever) and run what is ready."""
        if not self.context.ok():
            return
        self._sync()
        deadline = None if timeout_sec is None else time.monotonic_ns() + int(timeout_sec * 1e9)
        c = c_api()
        n_slots = len(self._attached) + 1
        xs = (ct.c_ssize_t * n_slots)()
        while True:
            timers = self._timers()
            waits = [t.time_until_next_call() for t in timers]
            waits = [w for w in waits if w is not None]
            wait_ns = min(waits) if waits else DDS_INFINITY
            if deadline is not None:
                wait_ns = min(wait_ns, max(0, deadline - time.monotonic_ns()))
            wait_ns = min(wait_ns, _WAIT_SLICE_NS)
            n = c.waitset_wait(self._ws, xs, n_slots, wait_ns)
            if not self.context.ok() or self.context.stop_requested:
                return
            ran = False
            if n > 0:
                for i in range(min(n, n_slots)):
                    reader = self._attached.get(xs[i])
                    if reader is not None:
                        reader._handle()  # noqa: SLF001
                        ran = True
                    elif xs[i] == 0 and self._guard_ref is not None:
                        flag = ct.c_bool()
                        c.take_guardcondition(self._guard_ref, ct.byref(flag))
            for t in timers:
                if t.is_ready() and not t._node._destroyed:  # noqa: SLF001
                    t._fire()  # noqa: SLF001
                    ran = True
            if ran or (deadline is not None and time.monotonic_ns() >= deadline):
                return
            if not self.context.ok():
                return

    def spin(self) -> None:
        """Run callbacks until the context shuts down."""
        self._spinning = True
        try:
            while self.context.ok() and not self.context.stop_requested:
                self.spin_once(None)
        finally:
            self._spinning = False

    def spin_until_future_complete(self, future: Future, timeout_sec: float | None = None) -> None:
        """Run callbacks until ``future`` is done or ``timeout_sec`` passes."""
        end = None if timeout_sec is None else time.monotonic() + timeout_sec
        while self.context.ok() and not self.context.stop_requested and not future.done():
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                return
            self.spin_once(left)

    def shutdown(self, timeout_sec: float | None = None) -> bool:
        """Release the waitset."""
        if self._ws is not None:
            c_api().delete(self._ws)
            self._ws = None
            self._attached.clear()
        return True


def _executor_for(node: Node, executor: SingleThreadedExecutor | None) -> SingleThreadedExecutor:
    if executor is not None:
        executor.add_node(node)
        return executor
    ex = node.__dict__.get('_own_executor')
    if ex is None:
        ex = SingleThreadedExecutor(context=node.context)
        ex.add_node(node)
        node.__dict__['_own_executor'] = ex
    return ex


def spin(node: Node, executor: SingleThreadedExecutor | None = None) -> None:
    """Run the node's callbacks until shutdown."""
    _executor_for(node, executor).spin()


def spin_once(node: Node, *, executor: SingleThreadedExecutor | None = None,
              timeout_sec: float | None = None) -> None:
    """Run the callbacks that are ready (waiting up to ``timeout_sec``)."""
    _executor_for(node, executor).spin_once(timeout_sec)


def spin_until_future_complete(node: Node, future: Future,
                               executor: SingleThreadedExecutor | None = None,
                               timeout_sec: float | None = None) -> None:
    """Run the node's callbacks until ``future`` is done or ``timeout_sec`` passes."""
    _executor_for(node, executor).spin_until_future_complete(future, timeout_sec)


def now_time() -> Time:
    """Current system time as a Time (helper)."""
    return Time(nanoseconds=time.time_ns(), clock_type=ClockType.SYSTEM_TIME)
