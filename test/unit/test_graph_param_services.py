"""Parameter services and events of the DDS backend, against rclpy's rules (one process).

Regressions pinned:
- ``list_parameters`` selects names/prefixes exactly like rclpy's ``Node.list_parameters``;
- Parameter <-> rcl_interfaces/msg/Parameter conversions keep type and value for every type;
- sets follow rclpy: read-only, undeclared, wrong type (static), on-set callback refusals with
  their reason, all-or-none atomic sets, NOT_SET deletes dynamically typed parameters only;
- ``/parameter_events`` carries new/changed/deleted parameters with the node's full name;
- ``start_parameter_services=False`` creates no services.
"""
from __future__ import annotations

import time
from typing import Any

import pytest

from imitation_ros.graph.dds.param_service import (
    SERVICES,
    list_parameters,
    parameter_from_msg,
    parameter_to_msg,
    qos_profile_parameter_events,
    qos_profile_parameters,
)
from imitation_ros.graph.params import (
    Parameter,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)

NAMES = ['use_sim_time', 'a', 'b.c', 'b.d.e', 'f.g', 'bx']


@pytest.mark.parametrize(('prefixes', 'depth', 'names', 'prefix_out'), [
    ([], 0, NAMES, ['b', 'b.d', 'f']),                     # recursive: everything
    ([], 1, ['use_sim_time', 'a', 'bx'], []),              # no separator
    ([], 2, ['use_sim_time', 'a', 'b.c', 'f.g', 'bx'], ['b', 'f']),
    (['b'], 0, ['b.c', 'b.d.e'], ['b', 'b.d']),            # 'bx' is not under 'b.'
    (['b'], 1, ['b.c'], ['b']),
    (['b.d'], 1, ['b.d.e'], ['b.d']),
    (['a'], 1, ['a'], []),                                 # exact name matches
    (['zz'], 0, [], []),
])
def test_list_parameters_rules_of_rclpy(prefixes: list, depth: int, names: list,
                                        prefix_out: list) -> None:
    assert list_parameters(NAMES, prefixes, depth) == (names, prefix_out)


def test_list_parameters_negative_depth() -> None:
    with pytest.raises(ValueError, match='depth'):
        list_parameters(NAMES, [], -1)


@pytest.mark.parametrize('value', [True, 3, 2.5, 'txt', b'\x00\xff', [True, False], [1, 2],
                                   [1.5, 2.0], ['a', 'b'], None])
def test_parameter_message_round_trip(value: Any) -> None:
    p = Parameter('x', value=value)
    msg = parameter_to_msg(p)
    assert msg.name == 'x' and msg.value.type == int(p.type_)
    back = parameter_from_msg(msg)
    assert back.type_ == p.type_ and back.value == p.value
    assert type(back.value) is type(p.value)


def test_qos_profiles_are_rclpy_ones() -> None:
    for q in (qos_profile_parameters, qos_profile_parameter_events):
        assert (q.depth, q.reliability.name, q.durability.name, q.history.name) == (
            1000, 'RELIABLE', 'VOLATILE', 'KEEP_LAST')


def _node(name: str = 'pn', **kw: Any) -> Any:
    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node

    return Node(name, namespace='/ns', context=context.Context([]), **kw)


def test_set_rules_match_rclpy() -> None:
    node = _node()
    node.declare_parameter('rate', 1.0)
    node.declare_parameter('ro', 1, ParameterDescriptor(read_only=True))
    node.declare_parameter('dyn', 1, ParameterDescriptor(dynamic_typing=True))
    node.declare_parameter('mode', 'a')
    node.add_on_set_parameters_callback(
        lambda ps: SetParametersResult(all(p.value != 'bad' for p in ps), 'mode bad refused'))

    def res(*params: Parameter) -> tuple[bool, str]:
        r = node.set_parameters_atomically(list(params))
        return r.successful, r.reason

    assert res(Parameter('rate', value=2.0)) == (True, '')
    ok, why = res(Parameter('rate', value=2))
    assert not ok and why.startswith("Wrong parameter type, expected 'DOUBLE' got 'INTEGER'")
    ok, why = res(Parameter('ro', value=2))
    assert not ok and 'read-only' in why and 'ro' in why
    ok, why = res(Parameter('nope', value=2))
    assert not ok and "'nope' is not declared on node /ns/pn" in why
    assert res(Parameter('mode', value='bad')) == (False, 'mode bad refused')
    # atomic: one refusal, nothing set
    assert res(Parameter('rate', value=5.0), Parameter('mode', value='bad'))[0] is False
    assert node.get_parameter('rate').value == 2.0
    # NOT_SET: deletes a dynamically typed parameter, refused for a static one
    assert res(Parameter('dyn', value='now a string'))[0]
    assert res(Parameter('dyn', ParameterType.NOT_SET))[0]
    assert not node.has_parameter('dyn')
    ok, why = res(Parameter('mode', ParameterType.NOT_SET))
    assert not ok and why.startswith('Static parameter cannot be undeclared')
    d = node.describe_parameter('ro')
    assert (d.name, d.type, d.read_only) == ('ro', int(ParameterType.INTEGER), True)
    assert node.get_parameter_types(['rate', 'mode']) == [ParameterType.DOUBLE,
                                                          ParameterType.STRING]
    assert list(node.list_parameters(['use'], 0).names) == []
    assert list(node.list_parameters([], 0).names) == ['use_sim_time', 'rate', 'ro', 'mode']


def test_services_created_with_participant_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'OFF')
    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node

    ctx = context.Context([])
    try:
        node = Node('svc', namespace='/ns', context=ctx)
        assert node.services == []  # no DDS yet: nothing created
        quiet = Node('quiet', context=ctx, start_parameter_services=False)
        _ = ctx.participant
        assert sorted(s.srv_name for s in node.services) == sorted(
            f'/ns/svc/{s}' for s in SERVICES)
        assert quiet.services == []
        assert '/parameter_events' in [p.topic for p in quiet.publishers]
        late = Node('late', context=ctx)  # participant exists: created at once
        assert len(late.services) == len(SERVICES)
    finally:
        ctx.shutdown()


def test_parameter_events_published(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'OFF')
    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node, spin_once
    from imitation_ros.messages.runtime import msg_class

    ctx = context.Context([])
    try:
        events: list[Any] = []
        listener = Node('listener', context=ctx, start_parameter_services=False)
        listener.create_subscription(msg_class('rcl_interfaces/msg/ParameterEvent'),
                                     '/parameter_events', events.append,
                                     qos_profile_parameter_events)
        node = Node('pn', namespace='/ns', context=ctx, allow_undeclared_parameters=True)
        node.declare_parameter('gain', 1.5)
        assert node.set_parameters([Parameter('gain', value=2.5)])[0].successful
        assert node.set_parameters([Parameter('extra', value=[1, 2])])[0].successful
        node.undeclare_parameter('extra')

        def kinds() -> set[tuple[str, str]]:
            out = set()
            for ev in events:
                if ev.node != '/ns/pn':
                    continue
                out |= {('new', p.name) for p in ev.new_parameters}
                out |= {('changed', p.name) for p in ev.changed_parameters}
                out |= {('deleted', p.name) for p in ev.deleted_parameters}
            return out
        want = {('new', 'use_sim_time'), ('new', 'gain'), ('changed', 'gain'),
                ('new', 'extra'), ('deleted', 'extra')}
        end = time.monotonic() + 10
        while time.monotonic() < end and not want <= kinds():
            spin_once(listener, timeout_sec=0.05)
        assert want <= kinds()
        changed = next(p for ev in events for p in ev.changed_parameters if p.name == 'gain')
        assert changed.value.type == 3 and changed.value.double_value == 2.5
        assert all(ev.stamp.sec > 1_600_000_000 for ev in events)
    finally:
        ctx.shutdown()


def test_service_user_data_matches_rmw_cyclonedds() -> None:
    """USER_DATA as a real rclpy (Jazzy, rmw_cyclonedds_cpp) ListParameters service shows it."""
    from imitation_ros.graph.dds.node import _service_user_data, csid_to_string
    from imitation_ros.messages.runtime import srv_class

    srv_class('rcl_interfaces/srv/ListParameters')
    csid = bytes([0x01, 0x10, 0x6b, 0xa5]) + bytes(8) + (4).to_bytes(4, 'big')
    assert csid_to_string(csid) == ' 1.10.6b.a5.0.0.0.0.0.0.0.0.0.0.0.4'
    req = _service_user_data('service', csid, 'rcl_interfaces/srv/ListParameters_Request')
    rep = _service_user_data('service', csid, 'rcl_interfaces/srv/ListParameters_Response')
    assert req == (b'serviceid= 1.10.6b.a5.0.0.0.0.0.0.0.0.0.0.0.4;typehash=RIHS01_a1b0b5d6b967a5b8'
                   b'ac5bc8563c3ea678f349e312a6a4967227c5a96bc5ce38df;')
    assert rep.endswith(b';typehash=RIHS01_31b937b82de3612426be79f231e386259f97e8dc843e3f2845288'
                        b'b4bfa296bdd;')
