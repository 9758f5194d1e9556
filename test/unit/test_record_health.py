"""Recording health: rate, gaps, dropped-frame estimate, late and silent topics.

Regressions pinned:
- the header stamp is read from the CDR bytes without deserializing;
- a camera at half its expected rate is reported the moment the window is full, and a note
  is given when it recovers;
- a silent topic is an error, also one that never published; a topic without an
  expected rate is never called silent;
- a 200 ms hole in a 30 Hz stream counts one gap and ~5 dropped frames; gaps are measured
  on header stamps (a burst after a busy recorder is no gap);
- messages received more than late_threshold_s after their stamp are counted late.
"""
from __future__ import annotations

from imitation_ros.record.health import HealthMonitor, header_stamp_ns
from imitation_ros.record.synthetic import image_cdr, joint_state_cdr

T0 = 1_790_000_000_000_000_000
MS = 1_000_000


def test_header_stamp_from_cdr() -> None:
    assert header_stamp_ns(joint_state_cdr(T0 + 123, ['a'])) == T0 + 123
    assert header_stamp_ns(b'\x00\x01') is None


def test_low_rate_then_recovery() -> None:
    mon = HealthMonitor({'/cam': (30.0, True)}, window_s=1.0, rate_tolerance=0.8)
    t = T0
    events = []
    for _ in range(60):                      # 2 s at 15 Hz
        t += 66_666_667
        mon.observe('/cam', t)
        events += mon.check(t)
    assert [e.level for e in events] == ['warn']
    assert 'rate 15.0 Hz below 80% of the expected 30 Hz' in events[0].text
    for _ in range(90):                      # 3 s at 30 Hz
        t += 33_333_333
        mon.observe('/cam', t)
        events += mon.check(t)
    assert [e.level for e in events] == ['warn', 'ok']


def test_no_rate_warning_before_the_first_message() -> None:
    mon = HealthMonitor({'/a': (100.0, False)}, silent_after_s=1.0)
    assert mon.check(T0) == []
    assert mon.check(T0 + 500 * MS) == []


def test_silent_and_never_seen() -> None:
    mon = HealthMonitor({'/a': (100.0, False), '/b': (10.0, False), '/c': (None, False)},
                        silent_after_s=0.5)
    mon.check(T0)
    mon.observe('/a', T0 + 10 * MS)
    events = mon.check(T0 + 600 * MS)
    assert {e.topic: e.level for e in events} == {'/a': 'error', '/b': 'error'}
    assert 'no message received' in next(e.text for e in events if e.topic == '/b')
    entries = {s.name: s for s in mon.statuses(T0 + 600 * MS)}
    assert entries['recorder: /a'].level == 2


def test_gaps_dropped_and_late() -> None:
    mon = HealthMonitor({'/cam': (30.0, True)}, late_threshold_s=0.1)
    t = T0
    for i in range(30):
        t += 33_333_333 if i != 10 else 200 * MS
        stamp = t - (150 * MS if i >= 25 else 5 * MS)
        mon.observe('/cam', t, image_cdr(stamp, 4, 4))
    snap = mon.totals()['/cam']
    assert snap['gaps'] == 1 and snap['est_dropped'] == 5
    assert snap['late'] == 5 and 0.149 < snap['max_latency_s'] < 0.151
    assert abs(snap['max_gap_s'] - 0.2) < 1e-6


def test_burst_arrival_is_not_a_gap() -> None:
    mon = HealthMonitor({'/js': (100.0, True)})
    t = T0
    for i in range(100):                     # stamps every 10 ms, received in bursts of 20
        stamp = T0 + i * 10 * MS
        recv = T0 + (i // 20 + 1) * 200 * MS
        mon.observe('/js', recv, image_cdr(stamp, 2, 2))
    assert mon.totals()['/js']['gaps'] == 0
