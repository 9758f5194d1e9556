"""Live recording health: per-topic rate, gaps, late and silent topics.

``HealthMonitor.observe()`` is called for every received message (a few integer operations;
the header stamp is read straight from the CDR bytes, nothing is deserialized).
``HealthMonitor.check()`` runs on a timer and returns a warning the moment a topic falls below
``rate_tolerance`` x its ``expected_hz`` or goes silent (and a note when it recovers).

Definitions (all per topic):

* rate: messages in the last ``window_s`` divided by the window (or the time since the first
  message while the window is not yet full);
* gap: a time step above ``gap_factor`` expected periods between consecutive messages;
  ``est_dropped`` adds ``round(gap / period) - 1`` for each, an estimate of the frames that
  never arrived. Steps are measured on header stamps when the message has a non-zero one
  (so a recorder that was briefly busy and took a burst does not count as a gap; a camera
  that skipped frames does), else on receive times;
* late: receive time minus header stamp above ``late_threshold_s`` (messages with a header
  only, and only when the profile aligns on header stamps);
* silent: nothing received for ``silent_after_s`` (at least 3 expected periods); only topics
  with an ``expected_hz`` (a sporadic topic without one may legitimately be quiet).
"""
from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal['ok', 'warn', 'error']

_STAMP = struct.Struct('<iI')
_STAMP_BE = struct.Struct('>iI')


def header_stamp_ns(data: bytes | memoryview) -> int | None:
    """Return the header stamp of a CDR message whose first field is ``std_msgs/Header``.

    The stamp (int32 sec, uint32 nanosec) follows the 4-byte encapsulation header.
    Returns None when the data is too short or the stamp is zero.
    """
    if len(data) < 12:
        return None
    little = data[1] & 1
    sec, nsec = (_STAMP if little else _STAMP_BE).unpack_from(data, 4)
    if sec == 0 and nsec == 0:
        return None
    return sec * 1_000_000_000 + nsec


@dataclass(slots=True)
class TopicHealth:
    """Counters of one topic."""

    topic: str
    expected_hz: float | None
    has_header: bool
    count: int = 0
    first_ns: int = 0
    last_ns: int = 0
    last_seq_ns: int = 0
    max_gap_ns: int = 0
    gaps: int = 0
    est_dropped: int = 0
    late: int = 0
    max_latency_ns: int = 0
    arrivals: deque[int] = field(default_factory=deque)
    state: Level = 'ok'
    reason: str = ''

    def snapshot(self) -> dict[str, Any]:
        """Counters as a JSON-ready dict."""
        return {
            'count': self.count,
            'gaps': self.gaps,
            'est_dropped': self.est_dropped,
            'max_gap_s': round(self.max_gap_ns / 1e9, 4),
            'late': self.late,
            'max_latency_s': round(self.max_latency_ns / 1e9, 4),
        }


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """A change of a topic's state, to be logged by the caller."""

    level: Level
    topic: str
    text: str


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One ``diagnostic_msgs/DiagnosticStatus`` worth of data (level 0 ok, 1 warn, 2 error)."""

    level: int
    name: str
    message: str
    values: dict[str, str]


class HealthMonitor:
    """Per-topic health of a recording, fed with receive times in nanoseconds."""

    def __init__(
        self,
        topics: dict[str, tuple[float | None, bool]],
        *,
        window_s: float = 2.0,
        rate_tolerance: float = 0.8,
        silent_after_s: float = 1.0,
        late_threshold_s: float = 0.2,
        gap_factor: float = 2.0,
        check_late: bool = True,
    ) -> None:
        """Watch ``topics``: {topic: (expected_hz or None, message has a header first)}."""
        self.window_ns = int(window_s * 1e9)
        self.rate_tolerance = rate_tolerance
        self.silent_after_ns = int(silent_after_s * 1e9)
        self.late_ns = int(late_threshold_s * 1e9)
        self.gap_factor = gap_factor
        self.check_late = check_late
        self.start_ns: int | None = None
        self.topics = {
            t: TopicHealth(t, hz if hz and hz > 0 else None, bool(header))
            for t, (hz, header) in topics.items()
        }

    def observe(self, topic: str, recv_ns: int, data: bytes | memoryview | None = None) -> None:
        """Count one message of ``topic`` received at ``recv_ns``."""
        th = self.topics.get(topic)
        if th is None:
            return
        if self.start_ns is None:
            self.start_ns = recv_ns
        stamp = header_stamp_ns(data) if th.has_header and data is not None else None
        t_seq = stamp if stamp is not None else recv_ns
        if th.count:
            gap = t_seq - th.last_seq_ns
            if gap > th.max_gap_ns:
                th.max_gap_ns = gap
            if th.expected_hz:
                period_ns = 1e9 / th.expected_hz
                if gap > self.gap_factor * period_ns:
                    th.gaps += 1
                    th.est_dropped += max(0, round(gap / period_ns) - 1)
        else:
            th.first_ns = recv_ns
        th.count += 1
        th.last_ns = recv_ns
        th.last_seq_ns = t_seq
        th.arrivals.append(recv_ns)
        limit = recv_ns - self.window_ns
        arrivals = th.arrivals
        while arrivals and arrivals[0] < limit:
            arrivals.popleft()
        if self.check_late and stamp is not None:
            latency = recv_ns - stamp
            if latency > th.max_latency_ns:
                th.max_latency_ns = latency
            if latency > self.late_ns:
                th.late += 1

    def rate_hz(self, topic: str, now_ns: int) -> float:
        """Receive rate of ``topic`` over the window ending at ``now_ns``."""
        th = self.topics[topic]
        limit = now_ns - self.window_ns
        n = sum(1 for t in th.arrivals if t >= limit)
        if not th.count:
            return 0.0
        span = min(self.window_ns, max(now_ns - th.first_ns, 1))
        return n * 1e9 / span

    def _silent_ns(self, th: TopicHealth) -> int:
        if th.expected_hz:
            return max(self.silent_after_ns, int(3e9 / th.expected_hz))
        return self.silent_after_ns

    def check(self, now_ns: int) -> list[HealthEvent]:
        """Update every topic's state and return the changes (warnings and recoveries)."""
        if self.start_ns is None:
            self.start_ns = now_ns
        events = []
        for th in self.topics.values():
            state: Level = 'ok'
            reason = ''
            since = now_ns - (th.last_ns if th.count else self.start_ns)
            if th.expected_hz and since > self._silent_ns(th):
                state = 'error'
                reason = (f'silent: no message for {since / 1e9:.1f} s' if th.count
                          else f'silent: no message received in {since / 1e9:.1f} s')
            elif th.expected_hz and th.count and now_ns - th.first_ns >= self.window_ns:
                rate = self.rate_hz(th.topic, now_ns)
                if rate < self.rate_tolerance * th.expected_hz:
                    state = 'warn'
                    reason = (f'rate {rate:.1f} Hz below {self.rate_tolerance:.0%} of the '
                              f'expected {th.expected_hz:g} Hz')
            if state != th.state:
                if state == 'ok':
                    events.append(HealthEvent('ok', th.topic, f'{th.topic}: back to normal'))
                else:
                    events.append(HealthEvent(state, th.topic, f'{th.topic}: {reason}'))
            th.state, th.reason = state, reason
        return events

    def totals(self) -> dict[str, dict[str, Any]]:
        """Counters of every topic (JSON-ready)."""
        return {t: th.snapshot() for t, th in self.topics.items()}

    def summary(self, now_ns: int) -> dict[str, dict[str, Any]]:
        """Counters plus live rate and state of every topic (JSON-ready)."""
        out = {}
        for t, th in self.topics.items():
            snap = th.snapshot()
            snap.update({
                'rate_hz': round(self.rate_hz(t, now_ns), 2),
                'expected_hz': th.expected_hz,
                'state': th.state,
            })
            if th.reason:
                snap['reason'] = th.reason
            out[t] = snap
        return out

    def statuses(self, now_ns: int, prefix: str = 'recorder') -> list[StatusEntry]:
        """One DiagnosticStatus-ready entry per topic."""
        levels = {'ok': 0, 'warn': 1, 'error': 2}
        out = []
        for t, snap in self.summary(now_ns).items():
            th = self.topics[t]
            values = {k: str(v) for k, v in snap.items() if k not in ('state', 'reason')}
            out.append(StatusEntry(levels[th.state], f'{prefix}: {t}', th.reason or 'ok', values))
        return out


def diff_totals(after: dict[str, dict[str, Any]],
                before: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-topic counter differences (``after - before``) of ``HealthMonitor.totals()``."""
    out: dict[str, dict[str, Any]] = {}
    for topic, snap in after.items():
        prev = before.get(topic, {})
        out[topic] = {
            k: (v - prev.get(k, 0) if k in ('count', 'gaps', 'est_dropped', 'late') else v)
            for k, v in snap.items()
        }
    return out
