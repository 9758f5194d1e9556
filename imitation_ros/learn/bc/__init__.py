"""Behaviour Cloning registered as the lerobot policy type ``bc``.

The three files follow lerobot's plugin naming (``configuration_bc``, ``modeling_bc``,
``processor_bc``), which is what lerobot 0.4.4's factory derives from the config class's module
when a type is not in its built-in if-chain: importing :mod:`.configuration_bc` registers the
type, then ``get_policy_class('bc')`` and ``make_pre_post_processors(BCConfig(...))`` work.
"""
from __future__ import annotations

from imitation_ros.learn.bc.configuration_bc import BCConfig

__all__ = ['BCConfig']
