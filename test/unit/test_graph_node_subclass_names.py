"""Our nodes subclass the backend's Node: a private name of theirs must not shadow the backend's.

Regression pinned: ``dagger_node`` defined ``_publish_event`` (intervention records), which
replaced the DDS backend's own ``Node._publish_event`` (parameter events), so declaring a
parameter raised a TypeError inside the node. rclpy's Node keeps its internals under other
names; the DDS backend must leave our nodes' names alone too.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import imitation_ros.nodes
from imitation_ros.graph.dds.node import Node as DdsNode

NODE_MODULES = sorted(m.name for m in pkgutil.iter_modules(imitation_ros.nodes.__path__))


@pytest.mark.parametrize('module', NODE_MODULES)
def test_node_private_names_do_not_shadow_the_backend(module: str) -> None:
    mod = importlib.import_module(f'imitation_ros.nodes.{module}')
    classes = [c for _, c in inspect.getmembers(mod, inspect.isclass)
               if c.__module__ == mod.__name__ and issubclass(c, DdsNode)]
    assert classes, f'no Node subclass found in {mod.__name__}'
    backend = {n for n in dir(DdsNode) if n.startswith('_') and not n.startswith('__')}
    for cls in classes:
        own = {n for n in vars(cls) if n.startswith('_') and not n.startswith('__')}
        assert not own & backend, f'{cls.__name__} shadows the DDS Node\'s {own & backend}'
