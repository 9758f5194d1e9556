"""What ros2_control's JointTrajectoryController (JTC) executes, and trajectories that stitch.

:class:`JtcModel` replays JTC's rules (``docs/jtc.md`` links the source lines) over the
messages a node published, one controller cycle at a time, so tests and benches can check the
setpoint JTC writes to the hardware, not the points the node meant:

* A message is validated when it arrives (the topic callback): every controller joint named
  (no partial goals), no unknown joint, ``time_from_start`` strictly increasing, one position
  per joint, velocities/accelerations empty or one per joint, a non-zero ``header.stamp``
  whose last point is not in the past, and (``allow_nonzero_velocity_at_trajectory_end``
  false, the Jazzy default) zero velocities at the last point. A rejected message changes
  nothing. An accepted one waits in a one-slot buffer: a newer message overwrites it.
* At the next update the waiting message replaces the running trajectory at once, whatever
  its start time. Its start time is ``header.stamp``, or the time of that first update when
  the stamp is zero. At that first update JTC stores the *point before the trajectory*: the
  state read from the hardware (closed loop; with ``mock_components/GenericSystem`` that is
  the command written one cycle earlier) or the last command (``open_loop_control`` /
  ``interpolate_from_desired_state``), at that update's time.
* Sampling at time t: before the point before, nothing is written (the last command stays);
  before the first point's time, the setpoint runs from the point before to the first point;
  between points it is interpolated, linearly (positions only), cubic (positions and
  velocities on both ends) or quintic (and accelerations); after the last point it holds it.
  Commands that stop coming leave JTC holding the last point.

:class:`TrajectoryStitcher` builds the node's messages so that what JTC executes keeps the
per-joint velocity cap: each message starts ``delay_s`` in the future (stamp = tick + delay)
with its first point inside the band every possible first-sample time allows. The point
before is JTC's setpoint one cycle before that sample, which the node can work out: it sent
every trajectory JTC ran (it replays rules 3 and 5 over them, for a message taken at once and
one delivery plus one cycle late). The points after the first are capped pair by pair,
clipped within ``max_lead_rad`` of the measured pose and cut at ``horizon_s``, so a node that
dies leaves JTC running at most that long.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import NDArray

    from imitation_ros.deploy.safety import SafetyFilter


@dataclass(frozen=True, slots=True)
class TrajMsg:
    """The fields of a ``trajectory_msgs/JointTrajectory`` JTC reads (times in s)."""

    joint_names: tuple[str, ...]
    stamp_s: float                                  # header.stamp; 0 = start when sampled
    times_s: NDArray[np.float64]                    # time_from_start of each point
    positions: NDArray[np.float64]                  # (m, n) in joint_names order
    velocities: NDArray[np.float64] | None = None   # (m, n) or None (empty fields)
    accelerations: NDArray[np.float64] | None = None


def validate(msg: TrajMsg, joints: Sequence[str], now_s: float, *,
             allow_partial_joints_goal: bool = False,
             allow_nonzero_velocity_at_trajectory_end: bool = False) -> str:
    """Why JTC rejects ``msg`` arriving at ``now_s`` ('' when it accepts it)."""
    names = list(msg.joint_names)
    if not allow_partial_joints_goal and len(names) != len(joints):
        return "joints on incoming trajectory don't match the controller joints"
    if not names:
        return 'empty joint names'
    unknown = [n for n in names if n not in joints]
    if unknown:
        return f"incoming joints {unknown} don't match the controller's joints"
    times = np.asarray(msg.times_s, dtype=np.float64)
    if len(times) == 0:
        return 'no points'
    if msg.stamp_s != 0.0 and msg.stamp_s + times[-1] < now_s:
        return 'non-zero start time and the trajectory ends in the past'
    if np.any(np.diff(times) <= 0):
        return 'time_from_start not strictly increasing'
    for field, arr, required in (('positions', msg.positions, True),
                                 ('velocities', msg.velocities, False),
                                 ('accelerations', msg.accelerations, False)):
        if arr is None:
            if required:
                return f'no {field}'
            continue
        if np.shape(arr) != (len(times), len(names)):
            return f'{field} must be one per joint per point, got shape {np.shape(arr)}'
    if (not allow_nonzero_velocity_at_trajectory_end and msg.velocities is not None
            and np.any(np.asarray(msg.velocities)[-1] != 0.0)):
        return 'non-zero velocity at the trajectory end'
    return ''


def interpolate(t0: float, p0: NDArray[np.float64], v0: NDArray[np.float64] | None,
                a0: NDArray[np.float64] | None, t1: float, p1: NDArray[np.float64],
                v1: NDArray[np.float64] | None, a1: NDArray[np.float64] | None,
                t: float) -> NDArray[np.float64]:
    """JTC's ``interpolate_between_points``: linear, cubic or quintic by the fields given.

    Outside [t0, t1] the time is clamped and the interpolation is linear (as JTC does).
    """
    big_t = t1 - t0
    s = t - t0
    has_v = v0 is not None and v1 is not None
    has_a = a0 is not None and a1 is not None
    if s < 0.0:
        s, has_v, has_a = 0.0, False, False
    if s > big_t:
        s, has_v, has_a = big_t, False, False
    if not has_v or big_t == 0.0:
        slope = (p1 - p0) / big_t if big_t != 0.0 else np.zeros_like(p0)
        return p0 + s * slope
    assert v0 is not None and v1 is not None
    if not has_a:
        c2 = (-3 * p0 + 3 * p1 - 2 * v0 * big_t - v1 * big_t) / big_t**2
        c3 = (2 * p0 - 2 * p1 + v0 * big_t + v1 * big_t) / big_t**3
        return p0 + v0 * s + c2 * s**2 + c3 * s**3
    assert a0 is not None and a1 is not None
    c3 = (-20 * p0 + 20 * p1 - 3 * a0 * big_t**2 + a1 * big_t**2 - 12 * v0 * big_t
          - 8 * v1 * big_t) / (2 * big_t**3)
    c4 = (30 * p0 - 30 * p1 + 3 * a0 * big_t**2 - 2 * a1 * big_t**2 + 16 * v0 * big_t
          + 14 * v1 * big_t) / (2 * big_t**4)
    c5 = (-12 * p0 + 12 * p1 - a0 * big_t**2 + a1 * big_t**2 - 6 * v0 * big_t
          - 6 * v1 * big_t) / (2 * big_t**5)
    return p0 + v0 * s + 0.5 * a0 * s**2 + c3 * s**3 + c4 * s**4 + c5 * s**5


class _Active:
    """A trajectory JTC executes, in controller joint order."""

    def __init__(self, msg: TrajMsg, order: list[int]) -> None:
        self.stamp_s = msg.stamp_s
        self.times = np.asarray(msg.times_s, dtype=np.float64)
        self.pos = np.asarray(msg.positions, dtype=np.float64)[:, order]
        self.vel = None if msg.velocities is None else np.asarray(msg.velocities)[:, order]
        self.acc = (None if msg.accelerations is None
                    else np.asarray(msg.accelerations)[:, order])
        self.before_t: float | None = None
        self.before: NDArray[np.float64] | None = None

    def _row(self, arr: NDArray[np.float64] | None, i: int) -> NDArray[np.float64] | None:
        return None if arr is None else arr[i]

    def sample(self, t: float) -> NDArray[np.float64] | None:
        """Setpoint at ``t`` (None before the point before the trajectory)."""
        assert self.before is not None and self.before_t is not None
        if t < self.before_t:
            return None
        abs_t = self.stamp_s + self.times
        if t < abs_t[0]:
            return interpolate(self.before_t, self.before, None, None, abs_t[0], self.pos[0],
                               self._row(self.vel, 0), self._row(self.acc, 0), t)
        for i in range(len(abs_t) - 1):
            if abs_t[i] <= t < abs_t[i + 1]:
                return interpolate(abs_t[i], self.pos[i], self._row(self.vel, i),
                                   self._row(self.acc, i), abs_t[i + 1], self.pos[i + 1],
                                   self._row(self.vel, i + 1), self._row(self.acc, i + 1), t)
        return self.pos[-1].copy()


class JtcModel:
    """JointTrajectoryController's setpoint over time (see module docstring).

    Args:
        joints: The controller's ``joints`` parameter (its order is the command order).
        initial: The command interfaces' values on activation (JTC holds them), rad.
        state: Optional hardware state read at each update (closed loop on a real arm);
            default: the last command (``mock_components/GenericSystem``, or open loop).
        allow_partial_joints_goal: JTC parameter (default false).
        allow_nonzero_velocity_at_trajectory_end: JTC parameter (default false on Jazzy).
    """

    def __init__(self, joints: Sequence[str], initial: NDArray[np.floating], *,
                 state: Callable[[float], NDArray[np.float64]] | None = None,
                 allow_partial_joints_goal: bool = False,
                 allow_nonzero_velocity_at_trajectory_end: bool = False) -> None:
        self.joints = list(joints)
        self.command = np.asarray(initial, dtype=np.float64).copy()
        self._state = state
        self.allow_partial = allow_partial_joints_goal
        self.allow_nonzero_end = allow_nonzero_velocity_at_trajectory_end
        self._pending: TrajMsg | None = None
        self._active: _Active | None = None
        self.rejected: list[str] = []
        self.accepted = 0

    def receive(self, msg: TrajMsg, now_s: float) -> bool:
        """The topic callback: validate, then overwrite the one-slot buffer."""
        why = validate(msg, self.joints, now_s, allow_partial_joints_goal=self.allow_partial,
                       allow_nonzero_velocity_at_trajectory_end=self.allow_nonzero_end)
        if why:
            self.rejected.append(why)
            return False
        self.accepted += 1
        self._pending = msg
        return True

    def update(self, t: float) -> NDArray[np.float64]:
        """One controller cycle at ``t``: take a waiting message, sample, write the command."""
        if self._pending is not None:
            msg, self._pending = self._pending, None
            self._active = _Active(self._fill_partial(msg), self._order(msg))
        act = self._active
        if act is not None:
            if act.before is None:                  # the first sample of this trajectory
                if act.stamp_s == 0.0:
                    act.stamp_s = t
                act.before_t = t
                act.before = (self.command.copy() if self._state is None
                              else np.asarray(self._state(t), dtype=np.float64))
            out = act.sample(t)
            if out is not None:
                self.command = out
        return self.command.copy()

    def _order(self, msg: TrajMsg) -> list[int]:
        names = list(self._fill_partial(msg).joint_names)
        return [names.index(j) for j in self.joints]

    def _fill_partial(self, msg: TrajMsg) -> TrajMsg:
        """Joints a partial goal omits hold the last command (JTC's ``fill_partial_goal``)."""
        missing = [j for j in self.joints if j not in msg.joint_names]
        if not missing:
            return msg
        idx = [self.joints.index(j) for j in missing]
        m = len(msg.times_s)
        pos = np.hstack([msg.positions, np.tile(self.command[idx], (m, 1))])

        def pad(a: NDArray[np.float64] | None) -> NDArray[np.float64] | None:
            return None if a is None else np.hstack([a, np.zeros((m, len(idx)))])

        return TrajMsg((*msg.joint_names, *missing), msg.stamp_s, msg.times_s, pos,
                       pad(msg.velocities), pad(msg.accelerations))


def execute(joints: Sequence[str], initial: NDArray[np.floating],
            sent: Sequence[tuple[float, TrajMsg]], *, rate_hz: float, t_end_s: float,
            phase_s: float = 0.0, t_start_s: float = 0.0) -> tuple[NDArray[np.float64],
                                                                    NDArray[np.float64]]:
    """JTC's setpoint at every update of a ``rate_hz`` controller over ``sent`` messages.

    Args:
        sent: (arrival time, message), in arrival order.
        phase_s: Offset of the controller's update grid, s.

    Returns:
        (times (k,), setpoints (k, n)) at each update from ``t_start_s`` to ``t_end_s``.
    """
    model = JtcModel(joints, initial)
    ts = np.arange(t_start_s + phase_s, t_end_s, 1.0 / rate_hz)
    out = np.empty((len(ts), len(joints)))
    i = 0
    for k, t in enumerate(ts):
        while i < len(sent) and sent[i][0] <= t:
            model.receive(sent[i][1], sent[i][0])
            i += 1
        out[k] = model.update(float(t))
    return ts, out


def forward_execute(initial: NDArray[np.floating], sent: Sequence[tuple[float, NDArray]], *,
                    rate_hz: float, t_end_s: float, phase_s: float = 0.0,
                    t_start_s: float = 0.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """JointGroupPositionController's command at every update: the newest message's data."""
    ts = np.arange(t_start_s + phase_s, t_end_s, 1.0 / rate_hz)
    cmd = np.asarray(initial, dtype=np.float64).copy()
    out = np.empty((len(ts), len(cmd)))
    i = 0
    for k, t in enumerate(ts):
        while i < len(sent) and sent[i][0] <= t:
            cmd = np.asarray(sent[i][1], dtype=np.float64)
            i += 1
        out[k] = cmd
    return ts, out


RESYNC_WINDOW_S = 0.5    # an arm may lag what JTC commands by this long before a resync


@dataclass(frozen=True, slots=True)
class Sent:
    """A trajectory the stitcher sent, in absolute times (positions only)."""

    times_s: NDArray[np.float64]       # stamp + time_from_start
    positions: NDArray[np.float64]     # (m, n)
    before: NDArray[np.float64] | None = None   # JTC's hold when none of ours ran before

    def at(self, t: float) -> NDArray[np.float64]:
        """Linear interpolation through the points; the first before, the last after."""
        if t <= self.times_s[0]:
            return self.positions[0].copy()
        return np.array([np.interp(t, self.times_s, self.positions[:, j])
                         for j in range(self.positions.shape[1])])


class TrajectoryStitcher:
    """Builds JointTrajectory messages whose execution by JTC keeps the velocity cap.

    Args:
        safety: The safety filter (its limits and per-joint step cap are reused).
        period_s: The node's period between messages, s.
        controller_period_s: JTC's update period (1 / controller_manager update_rate), s.
        delay_s: Stamp each message this long after the tick (0: period - controller
            period). Must exceed the delivery time plus one controller period.
        horizon_s: No point later than this after the stamp (bounds open-loop motion).
        max_lead_rad: Every point within this of the measured pose (0: off).
        max_delivery_s: Longest time from publishing to JTC's subscription callback, s.
    """

    def __init__(self, safety: SafetyFilter, *, period_s: float, controller_period_s: float,
                 delay_s: float = 0.0, horizon_s: float = 0.2, max_lead_rad: float = 0.0,
                 max_delivery_s: float = 0.005) -> None:
        delay = delay_s or period_s - controller_period_s
        if not 0 < controller_period_s < period_s:
            msg = (f'controller period {controller_period_s} s must be > 0 and shorter than '
                   f'the node period {period_s} s')
            raise ConfigError(msg)
        longest = period_s - controller_period_s + 1e-9
        if not controller_period_s + max_delivery_s < delay <= longest:
            msg = (f'trajectory delay {delay} s must be in (controller period + delivery '
                   f'{controller_period_s + max_delivery_s}, node period - controller period '
                   f'{period_s - controller_period_s}]')
            raise ConfigError(msg)
        if horizon_s < 0:
            msg = f'horizon_s must be >= 0, got {horizon_s}'
            raise ConfigError(msg)
        self.safety = safety
        self.period_s, self.tc = period_s, controller_period_s
        self.delay_s, self.horizon_s, self.max_lead_rad = delay, horizon_s, max_lead_rad
        self.max_delivery_s = max_delivery_s
        self.running: Sent | None = None
        self._history: list[Sent] = []
        self._hold_pose: NDArray[np.float64] | None = None
        self.sent = 0
        self.resyncs = 0
        self.infeasible = 0

    def reset(self) -> None:
        """Forget the running trajectory (JTC is then assumed to hold the measured pose)."""
        self.running = None

    def setpoint(self, t_s: float, measured: NDArray[np.float64]) -> NDArray[np.float64]:
        """Where JTC stands at ``t_s`` by what was sent (the measured pose before anything),
        each message taken half a controller cycle after it was published."""
        if self.running is None:
            return measured.copy()
        return self._executed(t_s, len(self._history), 0.5 * self.tc)

    def _executed(self, t_s: float, upto: int, take_after_s: float) -> NDArray[np.float64]:
        """JTC's setpoint at ``t_s`` over the first ``upto`` recorded messages, each taken
        ``take_after_s`` after it was published (stamp - delay): rules 3 and 5."""
        for k in range(upto - 1, -1, -1):
            sent = self._history[k]
            take = sent.times_s[0] - self.delay_s + take_after_s
            if take > t_s:
                continue
            if t_s >= sent.times_s[0] or (k == 0 and sent.before is None):
                return sent.at(t_s)
            before = (sent.before if k == 0 and sent.before is not None
                      else self._executed(take - self.tc, k, take_after_s))
            a = (t_s - take) / max(sent.times_s[0] - take, 1e-9)
            return before + min(max(a, 0.0), 1.0) * (sent.positions[0] - before)
        first = self._history[0]
        return (first.positions[0] if first.before is None else first.before).copy()

    def _setpoint_range(self, t_s: float, measured: NDArray[np.float64]) -> tuple[
            NDArray[np.float64], NDArray[np.float64]]:
        """Bounds of JTC's setpoint at ``t_s``: each message taken at once or one delivery
        plus one controller cycle after it was published."""
        if self.running is None:
            return measured.copy(), measured.copy()
        n = len(self._history)
        early = self._executed(t_s, n, 1e-9)
        late = self._executed(t_s, n, self.max_delivery_s + self.tc)
        return np.minimum(early, late), np.maximum(early, late)

    def _band(self, now_s: float, stamp_s: float,
              measured: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Where the first point may lie: JTC first samples the message at some t_s in
        (now, now + max_delivery + Tc], from its setpoint at t_s - Tc (mock hardware and open
        loop: the command one cycle before), reaching the first point at the stamp."""
        vmax = self.safety.step_cap(1.0)
        taus = np.linspace(now_s - self.tc, now_s + self.max_delivery_s, 9)
        knots = np.concatenate([s.times_s for s in self._history]) if self._history else []
        taus = np.concatenate([taus, [k for k in knots if taus[0] < k < taus[-1]]])
        lo = np.full_like(measured, -np.inf)
        hi = np.full_like(measured, np.inf)
        for tau in taus:
            room = vmax * max(stamp_s - tau - self.tc, 0.0)
            p_lo, p_hi = self._setpoint_range(float(tau), measured)
            lo, hi = np.maximum(lo, p_hi - room), np.minimum(hi, p_lo + room)
        if np.any(lo > hi):
            self.infeasible += 1                # the setpoint is too uncertain: split it
        mid = 0.5 * (lo + hi)
        return np.minimum(lo, mid), np.maximum(hi, mid)     # never empty

    def build(self, now_s: float, measured: NDArray[np.floating], times_s: NDArray[np.floating],
              targets: NDArray[np.floating]) -> tuple[float, NDArray[np.float64],
                                                      NDArray[np.float64]]:
        """The next message from the policy's targets at ``now_s + times_s``.

        Args:
            now_s: This tick's time (the same clock as the stamps), s.
            measured: Measured joint positions.
            times_s: Offsets of ``targets`` after ``now_s``, s, increasing (row 0 at 0).
            targets: (m, n) safe targets (already through the safety filter).

        Returns:
            (stamp, time_from_start (k,), positions (k, n)): one point per node period from
            the stamp to the horizon. Record what was published with :meth:`sent_at`.
        """
        n_pts = 1 + int(np.floor(self.horizon_s / self.period_s + 1e-9))
        return self._build(now_s, measured, times_s, targets, n_pts)

    def hold(self, now_s: float, measured: NDArray[np.floating]) -> tuple[
            float, NDArray[np.float64], NDArray[np.float64]]:
        """A one-point message stopping JTC as near its running setpoint as the cap allows."""
        meas = np.asarray(measured, dtype=np.float64)
        return self._build(now_s, meas, np.zeros(1), self.setpoint(now_s, meas)[None, :], 1)

    def _build(self, now_s: float, measured: NDArray[np.floating],
               times_s: NDArray[np.floating], targets: NDArray[np.floating],
               n_pts: int) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
        meas = np.asarray(measured, dtype=np.float64)
        self._hold_pose = meas.copy()           # JTC's setpoint when none of ours runs
        tgt = np.asarray(targets, dtype=np.float64).reshape(len(times_s), -1)
        off = np.asarray(times_s, dtype=np.float64)
        stamp = now_s + self.delay_s
        tfs = np.arange(n_pts) * self.period_s
        want = self.delay_s + tfs
        rows = np.stack([np.interp(want, off, tgt[:, j]) for j in range(tgt.shape[1])], axis=1)
        if self.max_lead_rad > 0:
            rows = np.clip(rows, meas - self.max_lead_rad, meas + self.max_lead_rad)
        lo, hi = self._band(now_s, stamp, meas)
        first = np.clip(np.clip(rows[0], lo, hi), self.safety.lower, self.safety.upper)
        rest = self.safety.filter_trajectory(first, tfs[1:], rows[1:])
        return stamp, tfs, np.vstack([first, rest])

    def consistent(self, now_s: float, measured: NDArray[np.floating], tol_rad: float) -> bool:
        """False (and the record dropped) when the arm is further than ``tol_rad`` from every
        setpoint JTC should have had over the last ``RESYNC_WINDOW_S`` (an arm lagging its
        command is still consistent): another controller, a switch, commands not consumed."""
        meas = np.asarray(measured, dtype=np.float64)
        if self.running is None or tol_rad <= 0:
            return True
        taus = now_s - np.linspace(0.0, RESYNC_WINDOW_S, 11)
        if min(float(np.max(np.abs(self.setpoint(float(t), meas) - meas))) for t in taus) \
                <= tol_rad:
            return True
        self.running = None
        self.resyncs += 1
        return False

    def sent_at(self, stamp_s: float, times_s: NDArray[np.float64],
                positions: NDArray[np.float64]) -> None:
        """Record a published message: it is the trajectory JTC runs from its stamp on."""
        new = Sent(stamp_s + np.asarray(times_s, dtype=np.float64),
                   np.asarray(positions, dtype=np.float64).copy(),
                   None if self.running is not None else self._hold_pose)
        keep = [s for s in self._history if s.times_s[-1] >= stamp_s - RESYNC_WINDOW_S - 1.0]
        self._history = [*keep, new] if self.running is not None else [new]
        self.running = new
        self.sent += 1


def next_message(stitcher: TrajectoryStitcher, now_s: float,
                 measured: NDArray[np.floating] | None, command: NDArray[np.floating] | None,
                 offsets_s: NDArray[np.floating], points: NDArray[np.floating], *,
                 hold: bool, resync_rad: float = 0.0) -> tuple[float, NDArray[np.float64],
                                                               NDArray[np.float64]] | None:
    """What the policy node publishes in trajectory mode this tick (None: nothing).

    A passing ``command`` (the tick's filtered command, then ``points`` at ``offsets_s``)
    becomes a stitched trajectory; a hold stops JTC at its running setpoint (nothing when
    nothing of ours runs: JTC holds its last command by itself). When ``resync_rad`` > 0 and
    the measured pose is further than that from what JTC should be executing (a controller
    switch, a controller not consuming, another publisher), the record is dropped and nothing
    is sent this tick; the next trajectory starts from the measured pose.
    """
    if measured is not None and not stitcher.consistent(now_s, measured, resync_rad):
        hold = True
    if hold or command is None or measured is None:
        if stitcher.running is None:        # nothing of ours runs: JTC holds by itself
            return None
        meas = measured if measured is not None else stitcher.setpoint(now_s, np.zeros(0))
        out = stitcher.hold(now_s, np.asarray(meas, dtype=np.float64))
    else:
        cmd = np.asarray(command, dtype=np.float64)[None, :]
        times, rows = np.zeros(1), cmd
        if len(offsets_s):
            times = np.concatenate([times, np.asarray(offsets_s, dtype=np.float64)])
            rows = np.vstack([cmd, np.asarray(points, dtype=np.float64)])
        out = stitcher.build(now_s, measured, times, rows)
    stitcher.sent_at(*out)
    return out
