"""Cutting a bag into episodes: from episode events, from a held button, or the whole bag.

Status of an episode:
    ``success``     STOP with success=true
    ``failed``      STOP with success=false
    ``discarded``   DISCARD
    ``unfinished``  START without STOP/DISCARD (recording ended or a new START came first)
    ``unlabelled``  no events: the whole bag, or a span of the split button

By default only ``success`` and ``unlabelled`` episodes are converted; ``keep_failed`` keeps
every episode (its status goes to the quality report).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from imitation_ros.data.bags import BagEvent

logger = logging.getLogger(__name__)

START, STOP, DISCARD = 0, 1, 2
Status = Literal['success', 'failed', 'discarded', 'unfinished', 'unlabelled']
KEPT_BY_DEFAULT: tuple[str, ...] = ('success', 'unlabelled')


@dataclass(frozen=True, slots=True)
class Episode:
    """A time span of a bag that becomes one dataset episode.

    Attributes:
        index: Episode index in the recording (from the events), or 0, 1, ... otherwise.
        start_ns: First tick (inclusive).
        end_ns: Last possible tick (inclusive).
        status: See the module docstring.
        task: Task text.
        reason: Why it ended (from the STOP/DISCARD event), '' otherwise.
    """

    index: int
    start_ns: int
    end_ns: int
    status: Status
    task: str
    reason: str = ''

    @property
    def kept_by_default(self) -> bool:
        """True for episodes converted without ``keep_failed``."""
        return self.status in KEPT_BY_DEFAULT


def from_events(events: Sequence[BagEvent], end_ns: int, default_task: str) -> list[Episode]:
    """Pair START with STOP/DISCARD events of the same episode index.

    Args:
        events: The bag's events (any order).
        end_ns: End of the recording (closes an unfinished episode).
        default_task: Task text when the events carry none.
    """
    out: list[Episode] = []
    open_: BagEvent | None = None
    for ev in sorted(events, key=lambda e: e.t_ns):
        if ev.event == START:
            if open_ is not None:
                logger.warning('episode %d: START of episode %d before its STOP; marked '
                               'unfinished', open_.episode_index, ev.episode_index)
                out.append(_episode(open_, ev.t_ns, 'unfinished', '', default_task, ''))
            open_ = ev
        elif ev.event in (STOP, DISCARD):
            if open_ is None or open_.episode_index != ev.episode_index:
                logger.warning('episode %d: %s without a START; ignored', ev.episode_index,
                               'STOP' if ev.event == STOP else 'DISCARD')
                continue
            status: Status = ('discarded' if ev.event == DISCARD
                              else 'success' if ev.success else 'failed')
            out.append(_episode(open_, ev.t_ns, status, ev.task, default_task, ev.reason))
            open_ = None
        else:
            logger.warning('unknown episode event %d; ignored', ev.event)
    if open_ is not None:
        out.append(_episode(open_, end_ns, 'unfinished', '', default_task, 'recording ended'))
    return out


def _episode(start: BagEvent, end_ns: int, status: Status, end_task: str, default_task: str,
             reason: str) -> Episode:
    task = start.task or end_task or default_task
    return Episode(start.episode_index, start.t_ns, end_ns, status, task, reason)


def from_button(
    presses: Sequence[tuple[int, bool]], end_ns: int, task: str,
) -> list[Episode]:
    """One episode per span during which the button is held.

    Args:
        presses: ``(t_ns, pressed)`` of every message of the split topic.
        end_ns: End of the recording (closes a span still held).
        task: Task text of every episode.
    """
    out: list[Episode] = []
    start: int | None = None
    for t_ns, pressed in sorted(presses, key=lambda p: p[0]):
        if pressed and start is None:
            start = t_ns
        elif not pressed and start is not None:
            out.append(Episode(len(out), start, t_ns, 'unlabelled', task))
            start = None
    if start is not None:
        out.append(Episode(len(out), start, end_ns, 'unlabelled', task))
    return out


def cut_episodes(
    events: Sequence[BagEvent],
    presses: Sequence[tuple[int, bool]] | None,
    start_ns: int,
    end_ns: int,
    task: str,
) -> list[Episode]:
    """Return the episodes of a bag: from its events, else its split button, else all of it.

    Args:
        events: Episode events found in the bag.
        presses: Split-button samples, or None when no split topic is configured.
        start_ns: First time at which every stream has a message.
        end_ns: Last message time.
        task: Default task text.
    """
    if events:
        return from_events(events, end_ns, task)
    if presses is not None:
        return from_button(presses, end_ns, task)
    return [Episode(0, start_ns, end_ns, 'unlabelled', task)]
