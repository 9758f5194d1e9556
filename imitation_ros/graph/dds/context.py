"""The DDS backend context: one Cyclone domain participant per process, discovery scope.

Discovery follows ROS 2 Jazzy's variables, with the configuration built here (never Cyclone's
default multicast one unless asked for):

* ``ROS_DOMAIN_ID`` (default 0).
* ``ROS_AUTOMATIC_DISCOVERY_RANGE``: ``LOCALHOST`` (also the default when neither it nor
  ``ROS_LOCALHOST_ONLY`` is set, and when ``ROS_LOCALHOST_ONLY=1``) -> loopback interface only,
  multicast off, unicast SPDP to ``localhost`` with participant indices up to
  ``MAX_AUTO_PARTICIPANT_INDEX`` (about that many processes per domain and host);
  ``OFF`` -> loopback, no multicast, no peers: nothing beyond this process;
  ``SUBNET``/``SYSTEM_DEFAULT`` (or ``ROS_LOCALHOST_ONLY=0``) -> Cyclone defaults, or the user's
  ``$CYCLONEDDS_URI`` when set.
* ``ROS_STATIC_PEERS`` (``;``-separated) are added as unicast peers in every mode but OFF.

Every mode asks for a socket receive buffer of up to ``SOCKET_RCVBUF_MAX`` (camera bursts;
``Internal/SocketReceiveBufferSize max=..., min="default"``: the kernel caps it at
``net.core.rmem_max``, Cyclone continues with what it got; an explicit ``min`` above the cap would
make participant creation fail, so it is never set here). A user's ``$CYCLONEDDS_URI`` is merged,
not ignored: Cyclone reads a comma-separated list of sources, later ones win for single values
and add to lists (peers), so the list is ``ours,$CYCLONEDDS_URI`` and, in LOCALHOST mode, a last
fragment that forces ``AllowMulticast`` false again: a user file cannot turn multicast back on
unless ``ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET`` asks for it. OFF ignores ``$CYCLONEDDS_URI`` (its
peers would break the isolation OFF promises). See ``docs/dds_tuning.md``.
"""
from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from imitation_ros.errors import GraphError
from imitation_ros.graph.logs import set_levels
from imitation_ros.graph.params import RosArgs, parse_ros_args

if TYPE_CHECKING:
    from imitation_ros.graph.dds.node import Node

MAX_AUTO_PARTICIPANT_INDEX = 64
RANGES = ('LOCALHOST', 'OFF', 'SUBNET', 'SYSTEM_DEFAULT')
#: Socket receive buffer asked of the kernel (capped by net.core.rmem_max).
SOCKET_RCVBUF_MAX_BYTES = 16 * 1024 * 1024
SOCKET_RCVBUF_MAX = '16MiB'
_INTERNAL = (f'<Internal><SocketReceiveBufferSize min="default" max="{SOCKET_RCVBUF_MAX}"/>'
             '</Internal>')
_NO_MULTICAST = ('<CycloneDDS><Domain Id="any"><General><AllowMulticast>false</AllowMulticast>'
                 '</General></Domain></CycloneDDS>')


def discovery_range(env: dict[str, str] | None = None) -> str:
    """Return the discovery range the environment asks for (see module docstring).

    Raises:
        GraphError: ``ROS_AUTOMATIC_DISCOVERY_RANGE`` has an unknown value.
    """
    env = os.environ if env is None else env
    rng = env.get('ROS_AUTOMATIC_DISCOVERY_RANGE', '').strip().upper()
    if rng:
        if rng not in RANGES:
            msg = f'ROS_AUTOMATIC_DISCOVERY_RANGE={rng!r}: expected one of {list(RANGES)}'
            raise GraphError(msg)
        return rng
    local = env.get('ROS_LOCALHOST_ONLY', '').strip()
    if local == '0':
        return 'SUBNET'
    return 'LOCALHOST'


def domain_id(env: dict[str, str] | None = None) -> int:
    """Return ``ROS_DOMAIN_ID`` (default 0).

    Raises:
        GraphError: The value is not an integer in 0..232.
    """
    env = os.environ if env is None else env
    text = env.get('ROS_DOMAIN_ID', '').strip()
    if not text:
        return 0
    try:
        dom = int(text)
    except ValueError:
        dom = -1
    if not 0 <= dom <= 232:
        msg = f'ROS_DOMAIN_ID={text!r}: expected an integer in 0..232'
        raise GraphError(msg)
    return dom


def cyclone_config(env: dict[str, str] | None = None) -> str:
    """Return the Cyclone configuration (comma-separated sources) for the environment.

    Our XML first (discovery scope, socket buffer), then ``$CYCLONEDDS_URI`` if set (not in OFF
    mode), then in LOCALHOST mode a fragment turning multicast off again (see module docstring).
    """
    env = os.environ if env is None else env
    rng = discovery_range(env)
    peers = [p.strip() for p in env.get('ROS_STATIC_PEERS', '').split(';') if p.strip()]
    peer_xml = ''.join(f'<Peer address={quoteattr(p)}/>' for p in peers)
    uri = env.get('CYCLONEDDS_URI', '').strip().strip(',')
    if rng in ('SUBNET', 'SYSTEM_DEFAULT'):
        discovery = f'<Discovery><Peers>{peer_xml}</Peers></Discovery>' if peers else ''
        ours = f'<CycloneDDS><Domain Id="any">{_INTERNAL}{discovery}</Domain></CycloneDDS>'
        return f'{ours},{uri}' if uri else ours
    general = ('<General><Interfaces><NetworkInterface address="127.0.0.1" multicast="false"/>'
               '</Interfaces><AllowMulticast>false</AllowMulticast></General>')
    if rng == 'OFF':
        discovery = '<Discovery><ParticipantIndex>none</ParticipantIndex></Discovery>'
    else:
        discovery = (
            '<Discovery><ParticipantIndex>auto</ParticipantIndex>'
            f'<MaxAutoParticipantIndex>{MAX_AUTO_PARTICIPANT_INDEX}</MaxAutoParticipantIndex>'
            f'<Peers><Peer address="localhost"/>{peer_xml}</Peers></Discovery>')
    ours = f'<CycloneDDS><Domain Id="any">{general}{discovery}{_INTERNAL}</Domain></CycloneDDS>'
    if rng == 'OFF' or not uri:
        return ours
    return f'{ours},{uri},{_NO_MULTICAST}'


class Context:
    """Process-wide state: parsed ROS args, the participant (created with the first node)."""

    def __init__(self, args: list[str] | None = None) -> None:
        self.ros_args: RosArgs = parse_ros_args(args)
        set_levels(self.ros_args.log_levels)
        self._ok = True
        self._stop = False
        self._lock = threading.RLock()
        self._participant: Any = None
        self._domain: Any = None
        self._guard: Any = None
        self._csid = 0
        self._graph_writer: Any = None
        self.nodes: list[Node] = []
        self.on_shutdown: list[Any] = []

    def ok(self) -> bool:
        """Whether the context has not been shut down."""
        return self._ok

    @property
    def stop_requested(self) -> bool:
        """Whether request_stop() was called (executors stop spinning; nodes stay usable)."""
        return self._stop

    def request_stop(self) -> None:
        """Make executors return soon (safe to call from a signal handler)."""
        self._stop = True
        if self._guard is not None:
            self._guard.set(True)

    @property
    def has_participant(self) -> bool:
        """Whether the participant exists already."""
        return self._participant is not None

    @property
    def participant(self) -> Any:
        """The process's DomainParticipant (created on first use)."""
        with self._lock:
            if not self._ok:
                msg = 'the graph context is shut down'
                raise GraphError(msg)
            if self._participant is None:
                self._create_participant()
            return self._participant

    def _create_participant(self) -> None:
        from cyclonedds.core import GuardCondition, Policy, Qos
        from cyclonedds.domain import Domain, DomainParticipant

        dom = domain_id()
        config = cyclone_config()
        try:
            self._domain = Domain(dom, config)
            qos = Qos(Policy.Userdata(data=b'enclave=/;'))
            self._participant = DomainParticipant(dom, qos=qos)
        except Exception as err:  # cyclonedds raises DDSException
            msg = (f'cannot create DDS participant in domain {dom} '
                   f'(range {discovery_range()}): {err}')
            raise GraphError(msg) from err
        self._guard = GuardCondition(self._participant)
        for node in list(self.nodes):  # rosout, parameter events and services of every node
            try:
                node._start_builtin()  # noqa: SLF001
            except Exception as err:  # noqa: BLE001 - never fail the user's endpoint for these
                node.get_logger().error(f'cannot create the parameter services/rosout: {err}')

    @property
    def guard(self) -> Any:
        """Guard condition triggered on shutdown (wakes executors)."""
        _ = self.participant
        return self._guard

    def publish_graph(self) -> None:
        """Publish ``ros_discovery_info`` (rmw_dds_common ParticipantEntitiesInfo) for our nodes.

        rmw_cyclonedds_cpp publishes it on DDS topic ``ros_discovery_info`` (no ``rt/`` prefix),
        reliable, transient local, keep last 1, so ``ros2 node list`` and ``ros2 topic info -v``
        can map endpoints (by GUID) to node names. Only once the participant exists.
        """
        if self._participant is None or not self._ok:
            return
        from cyclonedds._clayer import ddspy_write
        from cyclonedds.pub import DataWriter

        from imitation_ros.graph.dds.node import _Topic, dds_qos
        from imitation_ros.graph.qos import DurabilityPolicy, QoSProfile
        from imitation_ros.messages import runtime

        name = 'rmw_dds_common/msg/ParticipantEntitiesInfo'
        with self._lock:
            if self._graph_writer is None:
                tp = _Topic.get(self, 'ros_discovery_info', name, False)
                qos = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
                hash_ = runtime.type_hash(name)
                self._graph_writer = DataWriter(
                    self._participant, tp,
                    qos=dds_qos(qos, f'typehash={hash_};'.encode() if hash_ else b''))
            gid_cls = runtime.msg_class('rmw_dds_common/msg/Gid')

            def gid(entity: Any) -> Any:
                return gid_cls(data=list(entity.guid.bytes[:16]))

            infos = []
            for node in self.nodes:
                readers, writers = node._graph_entities()  # noqa: SLF001
                infos.append(runtime.msg_class('rmw_dds_common/msg/NodeEntitiesInfo')(
                    node_namespace=node.get_namespace(), node_name=node.get_name(),
                    reader_gid_seq=[gid(r) for r in readers],
                    writer_gid_seq=[gid(w) for w in writers]))
            msg = runtime.msg_class(name)(gid=gid(self._participant),
                                          node_entities_info_seq=infos)
            ddspy_write(self._graph_writer._ref, runtime.serialize_buffer(msg))  # noqa: SLF001

    def next_csid(self) -> bytes:
        """Return a fresh 16-byte client/service id (participant GUID prefix + counter)."""
        with self._lock:
            self._csid += 1
            counter = self._csid
        guid = self.participant.guid.bytes if hasattr(self.participant, 'guid') else bytes(16)
        return guid[:12] + counter.to_bytes(4, 'big')

    def shutdown(self) -> None:
        """Shut down: wake executors, destroy remaining nodes and the participant."""
        with self._lock:
            if not self._ok:
                return
            self._ok = False
            if self._guard is not None:
                self._guard.set(True)
        for cb in list(self.on_shutdown):
            try:
                cb()
            except Exception:  # noqa: BLE001, S110 - best effort at shutdown
                pass
        from imitation_ros.graph.dds.node import Node as BaseNode

        for node in list(self.nodes):
            BaseNode.destroy_node(node)  # the base one: overrides already ran in run()
        with self._lock:
            part, self._participant = self._participant, None
            self._guard = None
            self._graph_writer = None
            self._domain = None
        if part is not None:
            from imitation_ros.graph.dds.node import delete_entity

            for topic in self.__dict__.pop('_topics', {}).values():
                delete_entity(topic)
            delete_entity(part)


_default: list[Context | None] = [None]


def get_default_context(create: bool = False) -> Context | None:
    """Return the process's default context (None unless init() ran, or ``create``)."""
    if _default[0] is None and create:
        _default[0] = Context(None)
    return _default[0]


def init(args: list[str] | None = None) -> Context:
    """Create the default context from ``args`` (only their ``--ros-args`` part is used).

    Raises:
        GraphError: init() was already called without shutdown.
    """
    ctx = _default[0]
    if ctx is not None and ctx.ok():
        msg = 'init() was already called (call shutdown() first)'
        raise GraphError(msg)
    _default[0] = Context(args)
    return _default[0]


def shutdown() -> None:
    """Shut down the default context.

    Raises:
        GraphError: init() was not called.
    """
    ctx = _default[0]
    if ctx is None or not ctx.ok():
        msg = 'shutdown() without init()'
        raise GraphError(msg)
    ctx.shutdown()


def try_shutdown() -> None:
    """Shut down the default context if it is still up."""
    ctx = _default[0]
    if ctx is not None and ctx.ok():
        ctx.shutdown()


def ok() -> bool:
    """Whether the default context exists and is not shut down."""
    ctx = _default[0]
    return ctx is not None and ctx.ok()
