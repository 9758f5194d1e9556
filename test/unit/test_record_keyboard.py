"""Keyboard helper: keys -> commands, read without blocking.

Regressions pinned:
- s/f/x/d map to start / stop success / stop failure / discard, other keys are ignored;
- ``KeyReader.poll`` never blocks and reports end of input.
"""
from __future__ import annotations

import os

from imitation_ros.record.keyboard import KeyReader, commands_from_text


def test_key_map() -> None:
    assert commands_from_text('sFq xd\n') == ['start', 'stop_success', 'stop_fail', 'discard']


def test_poll_pipe() -> None:
    r, w = os.pipe()
    reader = KeyReader(r)
    assert reader.poll() == []                 # nothing typed: returns at once
    os.write(w, b's')
    assert reader.poll() == ['start']
    os.write(w, b'zf')
    os.close(w)
    assert reader.poll() == ['stop_success']
    assert reader.eof
    reader.close()
    os.close(r)
