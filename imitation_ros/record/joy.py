"""Map sensor_msgs/Joy buttons to episode commands (rising edges only)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

Command = Literal['start', 'stop_success', 'stop_fail', 'discard']


@dataclass(frozen=True, slots=True)
class JoyButtons:
    """Button index per command (-1: not mapped)."""

    start: int = -1
    stop_success: int = -1
    stop_fail: int = -1
    discard: int = -1

    def enabled(self) -> bool:
        """Whether any button is mapped."""
        return any(b >= 0 for b in (self.start, self.stop_success, self.stop_fail, self.discard))


class JoyMapper:
    """Turn button arrays into commands; a held button fires once, when it goes down."""

    def __init__(self, buttons: JoyButtons) -> None:
        """Map the buttons of ``buttons``."""
        self.map: list[tuple[int, Command]] = [
            (idx, cmd) for idx, cmd in (
                (buttons.start, 'start'), (buttons.stop_success, 'stop_success'),
                (buttons.stop_fail, 'stop_fail'), (buttons.discard, 'discard'))
            if idx >= 0
        ]
        self._prev: list[int] = []
        self.missing: set[int] = set()

    def update(self, pressed: Sequence[int]) -> list[Command]:
        """Return the commands whose button went from released to pressed."""
        out: list[Command] = []
        for idx, cmd in self.map:
            if idx >= len(pressed):
                self.missing.add(idx)
                continue
            was = self._prev[idx] if idx < len(self._prev) else 0
            if pressed[idx] and not was:
                out.append(cmd)
        self._prev = [int(b) for b in pressed]
        return out
