"""ROS 2 name validation, expansion and remapping, as rcl does it (DDS backend).

Rules (rcl/rmw): a node name is ``[A-Za-z_][A-Za-z0-9_]*``; a namespace is absolute,
``/``-separated tokens of the same alphabet (a token may not start with a digit); a topic
name is absolute (``/a/b``), relative (``a/b``, resolved in the node's namespace) or private
(``~``, ``~/a``, resolved under the node's fully qualified name). ``{node}`` and ``{ns}``
substitutions are supported. Remap rules ``from:=to`` match on the fully expanded name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from imitation_ros.errors import GraphError

_TOKEN = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')
_NODE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')


class NameValidationError(GraphError):
    """Raised when a node name, namespace or topic name is invalid; shows where."""


def _fail(kind: str, name: str, reason: str, index: int) -> None:
    caret = ' ' * (index + 1) + '^'
    msg = f'invalid {kind} {name!r}: {reason}\n  {name!r}\n {caret}'
    raise NameValidationError(msg)


def validate_node_name(name: str) -> None:
    """Raise NameValidationError unless ``name`` is a valid node name."""
    if not name:
        _fail('node name', name, 'must not be empty', 0)
    if name[0].isdigit():
        _fail('node name', name, 'must not start with a number', 0)
    if not _NODE.match(name):
        bad = next(i for i, c in enumerate(name) if not (c.isalnum() or c == '_'))
        _fail('node name', name, 'must only contain alphanumerics and underscores', bad)
    if len(name) > 255:
        _fail('node name', name, 'is longer than 255 characters', 255)


def _validate_path(kind: str, name: str, allow_root: bool) -> None:
    if not name:
        _fail(kind, name, 'must not be empty', 0)
    if not name.startswith('/'):
        _fail(kind, name, 'must be absolute (start with "/")', 0)
    if name == '/':
        if allow_root:
            return
        _fail(kind, name, 'must not be "/" alone', 0)
    if name.endswith('/'):
        _fail(kind, name, 'must not end with "/"', len(name) - 1)
    pos = 1
    for token in name[1:].split('/'):
        if not token:
            _fail(kind, name, 'must not contain repeated "/"', pos)
        if token[0].isdigit():
            _fail(kind, name, 'a token must not start with a number', pos)
        for i, c in enumerate(token):
            if not (c.isalnum() or c == '_'):
                _fail(kind, name, 'must only contain alphanumerics, "_" and "/"', pos + i)
        pos += len(token) + 1


def validate_namespace(ns: str) -> None:
    """Raise NameValidationError unless ``ns`` is a valid absolute namespace."""
    _validate_path('namespace', ns, allow_root=True)


def validate_topic_name(name: str) -> None:
    """Raise NameValidationError unless ``name`` is a valid fully qualified topic name."""
    _validate_path('topic or service name', name, allow_root=False)


def normalize_namespace(ns: str) -> str:
    """Return ``ns`` made absolute (``''`` -> ``'/'``, ``'a'`` -> ``'/a'``), validated."""
    if not ns:
        return '/'
    if not ns.startswith('/'):
        ns = '/' + ns
    if len(ns) > 1 and ns.endswith('/'):
        ns = ns[:-1]
    validate_namespace(ns)
    return ns


def node_fqn(name: str, ns: str) -> str:
    """Return the fully qualified node name (``/ns/name``)."""
    return f'/{name}' if ns == '/' else f'{ns}/{name}'


def expand_topic_name(name: str, node_name: str, ns: str) -> str:
    """Return ``name`` expanded against the node (``~``, relative, ``{node}``, ``{ns}``).

    Raises:
        NameValidationError: The input or the result is not a valid name.
    """
    if not name:
        _fail('topic or service name', name, 'must not be empty', 0)
    fqn = node_fqn(node_name, ns)
    out = name.replace('{node}', node_name).replace('{ns}', '' if ns == '/' else ns)
    out = out.replace('{namespace}', '' if ns == '/' else ns)
    if '{' in out or '}' in out:
        _fail('topic or service name', name, 'unknown substitution', out.find('{'))
    if out.startswith('~'):
        if len(out) > 1 and out[1] != '/':
            _fail('topic or service name', name, '"~" must be followed by "/"', 1)
        out = fqn + out[1:]
    elif not out.startswith('/'):
        out = (ns.rstrip('/') + '/' + out) if ns != '/' else '/' + out
    validate_topic_name(out)
    return out


@dataclass(frozen=True, slots=True)
class RemapRule:
    """One ``[node:]from:=to`` rule from the command line."""

    node: str | None
    src: str
    dst: str


def parse_remap(text: str) -> RemapRule:
    """Parse ``from:=to`` or ``node:from:=to``.

    Raises:
        GraphError: The rule has no ``:=`` or an empty side.
    """
    if ':=' not in text:
        msg = f'remap rule {text!r} must be of the form from:=to'
        raise GraphError(msg)
    left, dst = text.split(':=', 1)
    node = None
    if ':' in left and not left.startswith('__'):
        node, left = left.split(':', 1)
    if not left or not dst:
        msg = f'remap rule {text!r} has an empty side'
        raise GraphError(msg)
    return RemapRule(node, left, dst)


def remap_name(expanded: str, rules: list[RemapRule], node_name: str, ns: str) -> str:
    """Apply the first matching topic/service rule to an expanded name (rcl semantics)."""
    for rule in rules:
        if rule.src.startswith('__'):
            continue
        if rule.node is not None and rule.node != node_name:
            continue
        try:
            src = expand_topic_name(rule.src, node_name, ns)
        except NameValidationError:
            continue
        if src == expanded:
            return expand_topic_name(rule.dst, node_name, ns)
    return expanded


def remap_node(name: str, ns: str, rules: list[RemapRule]) -> tuple[str, str]:
    """Apply ``__node:=``/``__name:=`` and ``__ns:=`` rules; returns (name, namespace)."""
    new_name, new_ns = name, ns
    for rule in rules:
        if rule.node is not None and rule.node != name:
            continue
        if rule.src in ('__node', '__name'):
            new_name = rule.dst
        elif rule.src == '__ns':
            new_ns = rule.dst
    validate_node_name(new_name)
    return new_name, normalize_namespace(new_ns)
