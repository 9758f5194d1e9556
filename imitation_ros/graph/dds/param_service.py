"""rcl_interfaces parameter services and ``/parameter_events`` of a DDS-backend node.

Mirrors rclpy's ``ParameterService`` (Jazzy ``rclpy/parameter_service.py``): every node serves
``~/describe_parameters``, ``~/get_parameter_types``, ``~/get_parameters``,
``~/list_parameters``, ``~/set_parameters`` and ``~/set_parameters_atomically`` with QoS
``qos_profile_parameters`` (reliable, volatile, keep last 1000), so ``ros2 param list/get/set/
describe/dump/delete`` work against it. Sets go through the node's ``set_parameters_atomically``
(hence its on-set callbacks, which may refuse with a reason). Answers follow rclpy's, including
its quirks: an undeclared name in a get/describe/types request empties the whole answer.

Also converts between this backend's :class:`Parameter` and the rcl_interfaces messages.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imitation_ros.errors import GraphError
from imitation_ros.graph.params import (
    Parameter,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
from imitation_ros.graph.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)
from imitation_ros.messages import runtime

if TYPE_CHECKING:
    from imitation_ros.graph.dds.node import Node

#: rclpy ``qos_profile_parameters`` and ``qos_profile_parameter_events`` (identical in Jazzy).
qos_profile_parameters = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1000, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE)
qos_profile_parameter_events = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1000, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE)

PARAMETER_EVENTS_TOPIC = '/parameter_events'
SERVICES = ('describe_parameters', 'get_parameter_types', 'get_parameters', 'list_parameters',
            'set_parameters', 'set_parameters_atomically')
_SRV_TYPES = {
    'describe_parameters': 'DescribeParameters', 'get_parameter_types': 'GetParameterTypes',
    'get_parameters': 'GetParameters', 'list_parameters': 'ListParameters',
    'set_parameters': 'SetParameters', 'set_parameters_atomically': 'SetParametersAtomically',
}
_VALUE_FIELDS = {
    ParameterType.BOOL: 'bool_value', ParameterType.INTEGER: 'integer_value',
    ParameterType.DOUBLE: 'double_value', ParameterType.STRING: 'string_value',
    ParameterType.BYTE_ARRAY: 'byte_array_value', ParameterType.BOOL_ARRAY: 'bool_array_value',
    ParameterType.INTEGER_ARRAY: 'integer_array_value',
    ParameterType.DOUBLE_ARRAY: 'double_array_value',
    ParameterType.STRING_ARRAY: 'string_array_value',
}
PARAMETER_SEPARATOR = '.'


def _msg(name: str) -> Any:
    return runtime.msg_class(f'rcl_interfaces/msg/{name}')


def value_to_msg(param: Parameter) -> Any:
    """Return the ``rcl_interfaces/msg/ParameterValue`` of a parameter."""
    msg = _msg('ParameterValue')(type=int(param.type_))
    field = _VALUE_FIELDS.get(param.type_)
    if field is not None:
        value = param.value
        if param.type_ == ParameterType.BYTE_ARRAY:
            value = bytes(value)
        elif param.type_ in (ParameterType.BOOL_ARRAY, ParameterType.INTEGER_ARRAY,
                             ParameterType.DOUBLE_ARRAY, ParameterType.STRING_ARRAY):
            value = list(value)
        setattr(msg, field, value)
    return msg


def parameter_to_msg(param: Parameter) -> Any:
    """Return the ``rcl_interfaces/msg/Parameter`` of a parameter."""
    return _msg('Parameter')(name=param.name, value=value_to_msg(param))


def _plain(value: Any) -> Any:
    if hasattr(value, 'tolist'):
        return value.tolist()
    return value


def parameter_from_msg(msg: Any) -> Parameter:
    """Return the :class:`Parameter` of an ``rcl_interfaces/msg/Parameter``.

    Raises:
        GraphError: The value's type number is unknown.
    """
    try:
        ptype = ParameterType(int(msg.value.type))
    except ValueError as err:
        text = f'parameter {msg.name!r}: unknown ParameterValue type {msg.value.type}'
        raise GraphError(text) from err
    if ptype == ParameterType.NOT_SET:
        return Parameter(msg.name, ParameterType.NOT_SET, None)
    value = _plain(getattr(msg.value, _VALUE_FIELDS[ptype]))
    if ptype == ParameterType.BYTE_ARRAY:
        value = bytes(bytearray(value))
    elif ptype == ParameterType.BOOL_ARRAY:
        value = [bool(v) for v in value]
    elif ptype == ParameterType.INTEGER_ARRAY:
        value = [int(v) for v in value]
    elif ptype == ParameterType.DOUBLE_ARRAY:
        value = [float(v) for v in value]
    elif ptype == ParameterType.STRING_ARRAY:
        value = list(value)
    return Parameter(msg.name, ptype, value)


def descriptor_to_msg(name: str, desc: ParameterDescriptor, ptype: ParameterType) -> Any:
    """Return the ``rcl_interfaces/msg/ParameterDescriptor`` rclpy would answer for ``name``.

    rclpy keeps ``descriptor.type`` equal to the parameter's current type; so does this.
    """
    return _msg('ParameterDescriptor')(
        name=name, type=int(ptype), description=desc.description,
        additional_constraints=desc.additional_constraints, read_only=desc.read_only,
        dynamic_typing=desc.dynamic_typing)


def result_to_msg(result: SetParametersResult) -> Any:
    """Return the ``rcl_interfaces/msg/SetParametersResult`` of a result."""
    return _msg('SetParametersResult')(successful=bool(result.successful),
                                       reason=str(result.reason))


def list_parameters(names: list[str], prefixes: list[str], depth: int) -> tuple[list[str],
                                                                                  list[str]]:
    """Return (names, prefixes) as rclpy's ``Node.list_parameters`` selects them.

    Raises:
        ValueError: ``depth`` is negative.
    """
    if depth < 0:
        msg = 'The depth must be greater than or equal to zero'
        raise ValueError(msg)
    recursive_depth = 0  # ListParameters.Request.DEPTH_RECURSIVE

    def shallow(s: str) -> bool:
        return s.count(PARAMETER_SEPARATOR) < depth

    recursive = not prefixes and depth == recursive_depth
    out_names: list[str] = []
    out_prefixes: list[str] = []
    for name in names:
        if not recursive:
            get_all = not prefixes and shallow(name)
            if not get_all and not any(
                    name == prefix or (
                        name.startswith(prefix + PARAMETER_SEPARATOR)
                        and (depth == recursive_depth or shallow(name[len(prefix) + 1:])))
                    for prefix in prefixes):
                continue
        out_names.append(name)
        last = name.rfind(PARAMETER_SEPARATOR)
        if last != -1 and name[:last] not in out_prefixes:
            out_prefixes.append(name[:last])
    return out_names, out_prefixes


class ParameterService:
    """The six parameter services of one node (created on the node, destroyed with it)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self.services = []
        for short in SERVICES:
            srv = runtime.srv_class(f'rcl_interfaces/srv/{_SRV_TYPES[short]}')
            self.services.append(node.create_service(
                srv, f'{node.get_name()}/{short}', getattr(self, f'_{short}'),
                qos_profile=qos_profile_parameters))

    def _describe_parameters(self, request: Any, response: Any) -> Any:
        node = self._node
        out = []
        for name in request.names:
            if not node.has_parameter(name):
                if not node._allow_undeclared:  # noqa: SLF001
                    response.descriptors = []
                    return response
                out.append(descriptor_to_msg(name, ParameterDescriptor(), ParameterType.NOT_SET))
                continue
            out.append(node._describe_msg(name))  # noqa: SLF001
        response.descriptors = out
        return response

    def _get_parameter_types(self, request: Any, response: Any) -> Any:
        node = self._node
        types = []
        for name in request.names:
            if node.has_parameter(name):
                types.append(int(node.get_parameter(name).type_))
            elif node._allow_undeclared:  # noqa: SLF001
                types.append(int(ParameterType.NOT_SET))
            else:
                response.types = []
                return response
        response.types = types
        return response

    def _get_parameters(self, request: Any, response: Any) -> Any:
        node = self._node
        values = []
        for name in request.names:
            if not node.has_parameter(name) and not node._allow_undeclared:  # noqa: SLF001
                response.values = []
                return response
            values.append(value_to_msg(node.get_parameter(name)))
        response.values = values
        return response

    def _list_parameters(self, request: Any, response: Any) -> Any:
        try:
            names, prefixes = list_parameters(list(self._node._parameters),  # noqa: SLF001
                                              list(request.prefixes), int(request.depth))
        except ValueError:
            names, prefixes = [], []
        response.result = _msg('ListParametersResult')(names=names, prefixes=prefixes)
        return response

    def _set_parameters(self, request: Any, response: Any) -> Any:
        results = []
        for p in request.parameters:
            results.append(result_to_msg(self._set([p])))
        response.results = results
        return response

    def _set_parameters_atomically(self, request: Any, response: Any) -> Any:
        response.result = result_to_msg(self._set(list(request.parameters)))
        return response

    def _set(self, msgs: list[Any]) -> SetParametersResult:
        try:
            params = [parameter_from_msg(m) for m in msgs]
        except GraphError as err:
            return SetParametersResult(False, str(err))
        try:
            return self._node.set_parameters_atomically(params)
        except Exception as err:  # noqa: BLE001 - a callback's bug must not kill the service
            self._node.get_logger().error(f'set_parameters {[p.name for p in params]}: {err}')
            return SetParametersResult(False, f'{type(err).__name__}: {err}')
