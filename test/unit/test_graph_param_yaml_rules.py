"""Params files and ``-p`` values follow rcl_yaml_param_parser's rules on the DDS backend.

Each case below was run through real rcl (ROS 2 Jazzy, ``rclpy.init(args=[..., '--params-file',
f])`` + a node ``/ns/n`` declaring its overrides) and the outcome copied here; the ``ros``-marked
test at the end re-runs a subset against a live rclpy when ROS 2 is sourced.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imitation_ros.errors import ConfigError, GraphError
from imitation_ros.graph.params import (
    YamlRuleError,
    load_params_file,
    node_key_matches,
    overrides_for,
    parse_params_text,
    parse_ros_args,
    yaml_value,
)

W = '/**:\n  ros__parameters:\n'

#: (case, file text, expected params of node /ns/n or the error text rcl's meaning maps to)
FILE_CASES: list[tuple[str, str, dict | str]] = [
    ('mixed_int_float', W + '    a: [1, 2.5]\n', 'sequence mixes integer and double'),
    ('float_int', W + '    a: [2.5, 1]\n', 'sequence mixes double and integer'),
    ('int_str', W + '    a: [1, "x"]\n', 'sequence mixes integer and string'),
    ('bool_int', W + '    a: [true, 1]\n', 'sequence mixes bool and integer'),
    ('null_in_list', W + '    a: [1, ~]\n', 'sequence mixes integer and string'),
    ('nested_list', W + '    a: [[1, 2], [3]]\n', 'nested sequences'),
    ('empty_val', W + '    a:\n', 'no value at line 3'),
    ('no_rosparams', '/**:\n  foo: 1\n', "key '/**/foo' has a value before ros__parameters"),
    ('rosparams_scalar', '/**:\n  ros__parameters: 5\n', 'must map parameter names'),
    ('rosparams_empty', '/**:\n  ros__parameters:\n', 'must map parameter names'),
    ('anchor', W + '    a: &x 1\n    b: *x\n', 'aliases'),
    ('toplist', '- a\n- b\n', 'a sequence cannot be a key'),
    ('key_seq', W + '    ? [a]\n    : 1\n', 'cannot be a key'),
    ('bad_name', '/ns/n-x:\n  ros__parameters:\n    a: 1\n', "invalid node name 'n-x'"),
    ('no_node', 'ros__parameters:\n  a: 1\n', 'no node name before ros__parameters'),
    ('empty_list', W + '    a: []\n', {'a': None}),
    ('null_val', W + '    a: ~\n    b: null\n', {'a': '~', 'b': 'null'}),
    ('yes_bool', W + '    a: yes\n    b: On\n    c: TRUE\n    d: y\n    e: off\n',
     {'a': True, 'b': True, 'c': True, 'd': True, 'e': False}),
    ('ints', W + '    a: 0x10\n    b: 010\n    c: 1_000\n    d: +5\n    e: -3\n',
     {'a': 16, 'b': 8, 'c': '1_000', 'd': 5, 'e': -3}),
    ('floats', W + '    a: 1e3\n    b: .5\n    c: .inf\n    d: -.inf\n    f: 1.\n    g: 09\n'
     '    h: 1e999\n    i: 0x1p3\n    j: INF\n',
     {'a': 1000.0, 'b': 0.5, 'c': math.inf, 'd': -math.inf, 'f': 1.0, 'g': 9.0, 'h': '1e999',
      'i': 8.0, 'j': math.inf}),
    ('big_int', W + '    a: 99999999999999999999\n', {'a': 1e20}),
    ('quoted', W + '    a: "1"\n    b: \'2.5\'\n    c: !!str 3\n    d: "true"\n    e: \'\'\n'
     '    f: !!float 5\n', {'a': '1', 'b': '2.5', 'c': '3', 'd': 'true', 'e': '', 'f': 5}),
    ('lists', W + '    a: [a, "1", b]\n    b: [true, false]\n    c:\n      - 1\n      - 2\n',
     {'a': ['a', '1', 'b'], 'b': [True, False], 'c': [1, 2]}),
    ('nested', W + '    a:\n      b:\n        c: 1\n', {'a.b.c': 1}),
    ('timestamp_key_int', W + '    a: 2001-12-14\n    1: 2\n', {'a': '2001-12-14', '1': 2}),
    ('dup_key', W + '    a: 1\n    a: 2\n', {'a': 2}),
    ('multi_doc', W + '    a: 1\n---\n' + W + '    b: 1\n', {'a': 1, 'b': 1}),
    ('empty_file', '', {}),
    ('block_str', W + '    a: |\n      multi\n      line\n', {'a': 'multi\nline\n'}),
    # node keys: relative = from the root, * one token, ** any number, nested = namespaces
    ('rel_name', 'n:\n  ros__parameters:\n    a: 1\n', {}),
    ('other_node', 'other:\n  ros__parameters:\n    a: 1\n', {}),
    ('wild_star', '/*:\n  ros__parameters:\n    a: 1\n', {}),
    ('ns_star', '/ns/*:\n  ros__parameters:\n    a: 1\n', {'a': 1}),
    ('ns_dstar', '/**/n:\n  ros__parameters:\n    a: 1\n', {'a': 1}),
    ('dstar_prefix', '/**/ns/n:\n  ros__parameters:\n    a: 1\n', {'a': 1}),
    ('star_ns', '/*/n:\n  ros__parameters:\n    a: 1\n', {'a': 1}),
    ('nested_ns', 'ns:\n  n:\n    ros__parameters:\n      a: 1\n', {'a': 1}),
    ('nested_ns_slash', '/ns:\n  n:\n    ros__parameters:\n      a: 1\n', {'a': 1}),
    # later sections win, whatever their specificity
    ('spec_then_wild', '/ns/n:\n  ros__parameters:\n    a: 1\n' + W + '    a: 2\n', {'a': 2}),
    ('spec_wildns', '/ns/n:\n  ros__parameters:\n    a: 1\n/ns/*:\n  ros__parameters:\n'
     '    a: 3\n', {'a': 3}),
    ('wildns_then_spec', '/ns/*:\n  ros__parameters:\n    a: 3\n/ns/n:\n  ros__parameters:\n'
     '    a: 1\n' + W + '    a: 2\n    b: 2\n', {'a': 2, 'b': 2}),
]

#: (-p value text, expected value or error text), measured with ``-p a:=<text>``
P_CASES: list[tuple[str, object]] = [
    ('[1,2.5]', 'sequence mixes integer and double'),
    ('', 'no value'),
    ('{b: 1}', 'mapping'),
    ('~', '~'), ('1_000', '1_000'), ('0x10', 16), ("'5'", '5'), ('[a, b]', ['a', 'b']),
    ('yes', True), ('hello world', 'hello world'), ('1 # c', 1), ('- 1', [1]), ('[]', None),
]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b if not isinstance(a, dict) else a == b


@pytest.mark.parametrize(('case', 'text', 'expected'), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_params_file_rules_match_rcl(tmp_path: Path, case: str, text: str,
                                     expected: dict | str) -> None:
    f = tmp_path / f'{case}.yaml'
    f.write_text(text)
    if isinstance(expected, str):
        with pytest.raises(ConfigError) as info:
            load_params_file(f, 'n', '/ns/n')
        assert str(info.value).startswith(f'{f}: ')
        assert expected in str(info.value)
        # rcl fails at init: so does parsing the command line here
        with pytest.raises(ConfigError, match=case):
            parse_ros_args(['--ros-args', '--params-file', str(f)])
        return
    got = load_params_file(f, 'n', '/ns/n')
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert _same(v, got[k]) or (type(v) is type(got[k]) and v == got[k]), (k, got[k])


@pytest.mark.parametrize(('text', 'expected'), P_CASES, ids=[c[0] or 'empty' for c in P_CASES])
def test_p_values_match_rcl(text: str, expected: object) -> None:
    if isinstance(expected, str) and expected in ('sequence mixes integer and double', 'no value',
                                                  'mapping'):
        with pytest.raises(YamlRuleError, match=expected):
            yaml_value(text)
        with pytest.raises(GraphError, match=r"-p 'a:=.*rcl rejects the value"):
            parse_ros_args(['--ros-args', '-p', f'a:={text}'])
        return
    value = yaml_value(text)
    assert type(value) is type(expected) and value == expected


def test_error_names_file_key_and_line(tmp_path: Path) -> None:
    f = tmp_path / 'robot.yaml'
    f.write_text('recorder:\n  ros__parameters:\n    fps: 30\n    gains: [1, 2.5, 3]\n')
    with pytest.raises(ConfigError) as info:
        parse_ros_args(['--ros-args', '--params-file', str(f)])
    text = str(info.value)
    assert f'{f}: ' in text and "parameter 'gains'" in text and 'line 4' in text
    assert 'write every number as a double' in text


def test_p_node_prefix_rules() -> None:
    ra = parse_ros_args(['--ros-args', '-p', 'n:a:=1', '-p', 'b:=2'])
    # ``n:`` means the node /n, not /ns/n (rcl prefixes a relative node key with /)
    assert overrides_for([ra], 'n', '/ns/n') == {'b': 2}
    assert overrides_for([ra], 'n', '/n') == {'a': 1, 'b': 2}
    with pytest.raises(GraphError, match='plain node name'):
        parse_ros_args(['--ros-args', '-p', '/ns/n:a:=1'])


def test_p_and_files_merge_in_first_appearance_order(tmp_path: Path) -> None:
    f = tmp_path / 'p.yaml'
    f.write_text('/ns/n:\n  ros__parameters:\n    a: 10\n' + W + '    a: 20\n    b: 20\n')
    # -p a:=1 creates the /** entry first; the file's /ns/n section comes after it and wins
    ra = parse_ros_args(['--ros-args', '-p', 'a:=1', '--params-file', str(f)])
    assert overrides_for([ra], 'n', '/ns/n') == {'a': 10, 'b': 20}
    # node-local args apply after global ones
    local = parse_ros_args(['--ros-args', '-p', 'b:=3'])
    assert overrides_for([ra, local], 'n', '/ns/n') == {'a': 10, 'b': 3}


def test_node_key_matching() -> None:
    assert node_key_matches('/**', '/a/b/c')
    assert node_key_matches('/**/c', '/c') and node_key_matches('/**/c', '/a/b/c')
    assert node_key_matches('/a/*', '/a/x') and not node_key_matches('/a/*', '/a/x/y')
    assert node_key_matches('ns/n', '/ns/n') and not node_key_matches('n', '/ns/n')


def test_parse_sections_keep_first_appearance() -> None:
    text = W + '    a: 1\n/x:\n  ros__parameters:\n    a: 2\n' + W + '    b: 3\n'
    assert parse_params_text(text) == [('/**', {'a': 1, 'b': 3}), ('/x', {'a': 2})]


def test_declare_with_empty_list_override_is_not_set(tmp_path: Path) -> None:
    from imitation_ros.graph.dds import context
    from imitation_ros.graph.dds.node import Node
    from imitation_ros.graph.params import ParameterType

    f = tmp_path / 'p.yaml'
    f.write_text(W + '    a: []\n    b: [1, 2]\n')
    node = Node('n', namespace='/ns',
                context=context.Context(['--ros-args', '--params-file', str(f)]))
    p = node.declare_parameter('a', [1.0])  # rclpy: declared, NOT_SET, no error
    assert p.type_ == ParameterType.NOT_SET and p.value is None
    with pytest.raises(GraphError, match="'b' is DOUBLE_ARRAY but the override"):
        node.declare_parameter('b', [1.0])  # rclpy: InvalidParameterTypeException


_PROBE = r'''
import json, sys, rclpy
from rclpy.node import Node
try:
    rclpy.init(args=['--ros-args', '--params-file', sys.argv[1]])
except Exception as e:
    print(json.dumps({'ok': False})); sys.exit()
n = Node('n', namespace='/ns', automatically_declare_parameters_from_overrides=True,
         start_parameter_services=False)
skip = ('use_sim_time', 'start_type_description_service')
print(json.dumps({'ok': True, 'params': {k: p.value if not hasattr(p.value, 'tolist')
      else p.value.tolist() for k, p in n._parameters.items() if k not in skip}}))
'''


@pytest.mark.ros
def test_live_rcl_agrees(tmp_path: Path, ros_domain: int) -> None:
    """Re-run a subset of the cases through a real rclpy (subprocess) and compare."""
    if shutil.which('ros2') is None:
        pytest.skip('ROS 2 is not sourced')
    probe = tmp_path / 'probe.py'
    probe.write_text(_PROBE)
    names = {'mixed_int_float', 'bool_int', 'nested_list', 'empty_val', 'no_rosparams', 'anchor',
             'bad_name', 'ints', 'quoted', 'rel_name', 'ns_star', 'nested_ns', 'spec_wildns'}
    env = dict(os.environ)
    env.pop('IMITATION_ROS_BACKEND', None)
    for case, text, expected in FILE_CASES:
        if case not in names:
            continue
        f = tmp_path / f'{case}.yaml'
        f.write_text(text)
        out = subprocess.run([sys.executable, str(probe), str(f)], env=env, capture_output=True,
                             text=True, timeout=60, check=False)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if isinstance(expected, str):
            assert result == {'ok': False}, case
        else:
            assert result == {'ok': True, 'params': expected}, case
