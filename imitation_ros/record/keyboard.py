"""Keyboard helper for the operator: single key presses -> episode commands.

    s  start an episode            f  finish: stop, success
    x  stop, failure               d  discard the episode

``KeyReader`` polls a file descriptor (stdin by default) without blocking; on a terminal it
switches to cbreak mode (keys arrive without Enter, not echoed) and restores the terminal on
``close()``. Works on pipes too (tests, scripted operators). ROS-free: the recorder node polls
it from a timer when ``keyboard: true``.
"""
from __future__ import annotations

import os
import select
import sys
from typing import Any

KEYS = {'s': 'start', 'f': 'stop_success', 'x': 'stop_fail', 'd': 'discard'}
HELP = 'keys: s = start, f = stop (success), x = stop (failure), d = discard'


def commands_from_text(text: str) -> list[str]:
    """Commands of the mapped keys in ``text``, in order (other characters are ignored)."""
    return [KEYS[c] for c in text.lower() if c in KEYS]


class KeyReader:
    """Non-blocking reader of key presses from ``fd``."""

    def __init__(self, fd: int | None = None) -> None:
        """Read from ``fd`` (default: stdin); a terminal is put in cbreak mode."""
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._saved: Any = None
        self.eof = False
        if os.isatty(self.fd):
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)

    def poll(self) -> list[str]:
        """Commands typed since the last call (never blocks)."""
        out: list[str] = []
        while not self.eof:
            ready, _, _ = select.select([self.fd], [], [], 0)
            if not ready:
                break
            data = os.read(self.fd, 1024)
            if not data:
                self.eof = True
                break
            out += commands_from_text(data.decode(errors='ignore'))
        return out

    def close(self) -> None:
        """Restore the terminal."""
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None
