"""Who commands the arm: the control gate between the policy and a person (HG-DAgger).

Three triggers, any subset enabled (``GateConfig.triggers``); the person is in control while
any enabled trigger says so:

* ``joy``: a deadman button on ``sensor_msgs/Joy`` -- held: the person; released: the policy.
  Acts on the first tick after the message (no debounce unless ``joy_debounce_s`` > 0).
* ``service``: a latched request (``std_srvs/SetBool``: true = the person takes over).
* ``deviation``: the leader arm moved away from the follower by more than ``deviation_on_rad``
  (max over the compared joints) for ``deviation_on_s`` -- a person grabbed the leader. It
  hands back once the leader has been still (speed below ``release_speed_rad_s``) for
  ``release_s`` *and* the leader is within ``deviation_off_rad`` of the follower: the person
  let go. ``deviation_off_rad < deviation_on_rad``, the two dwell times and ``min_dwell_s``
  (the least time between two switches of this trigger) are the hysteresis that keeps the
  gate from chattering around the threshold.

Pure Python + numpy, no ROS: the node and the in-process rounds both call :meth:`step`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.errors import ConfigError

if TYPE_CHECKING:
    from numpy.typing import NDArray

TRIGGERS = ('joy', 'service', 'deviation')


@dataclass(frozen=True, slots=True, kw_only=True)
class GateConfig:
    """Triggers and hysteresis of the control gate (units: rad, rad/s, s)."""

    triggers: tuple[str, ...] = ('joy', 'service', 'deviation')
    joy_button: int = 4                  # deadman button index in sensor_msgs/Joy.buttons
    joy_debounce_s: float = 0.0          # button state must hold this long before it counts
    deviation_on_rad: float = 0.35       # leader this far from the follower: person took over
    deviation_off_rad: float = 0.15      # ... and back within this: may hand back
    deviation_on_s: float = 0.0          # deviation above on-threshold this long to take over
    release_speed_rad_s: float = 0.05    # leader slower than this counts as let go
    release_s: float = 0.5               # leader still (and close) this long: hand back
    min_dwell_s: float = 0.5             # least time between two deviation switches
    compare_joints: tuple[int, ...] = () # joint indices compared (empty: all)

    def __post_init__(self) -> None:
        bad = [t for t in self.triggers if t not in TRIGGERS]
        if bad or not self.triggers:
            msg = f'dagger gate triggers must be a non-empty subset of {TRIGGERS}, got ' \
                  f'{list(self.triggers)}'
            raise ConfigError(msg)
        if not 0 < self.deviation_off_rad < self.deviation_on_rad:
            msg = (f'dagger gate needs 0 < deviation_off_rad < deviation_on_rad (hysteresis), '
                   f'got {self.deviation_off_rad}, {self.deviation_on_rad}')
            raise ConfigError(msg)
        for name in ('joy_debounce_s', 'deviation_on_s', 'release_s', 'min_dwell_s'):
            if getattr(self, name) < 0:
                msg = f'dagger gate {name} must be >= 0, got {getattr(self, name)}'
                raise ConfigError(msg)
        if self.release_speed_rad_s <= 0 or self.joy_button < 0:
            msg = (f'dagger gate release_speed_rad_s must be > 0 and joy_button >= 0, got '
                   f'{self.release_speed_rad_s}, {self.joy_button}')
            raise ConfigError(msg)


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The gate's state after one tick."""

    human: bool          # the person is in control
    changed: bool        # it switched on this tick
    source: str          # trigger that holds (or last held) control: joy, service, deviation


@dataclass(slots=True)
class _Latch:
    """A debounced boolean: ``value`` follows ``raw`` once it held ``hold_s``."""

    hold_s: float
    value: bool = False
    _cand: bool = False
    _since: float | None = None

    def update(self, raw: bool, now_s: float) -> bool:
        if raw == self.value:
            self._since = None
            return self.value
        if self._since is None or self._cand != raw:
            self._cand, self._since = raw, now_s
        if now_s - self._since >= self.hold_s:
            self.value, self._since = raw, None
        return self.value


@dataclass
class ControlGate:
    """Decides each tick whether the person or the policy commands (see module docstring)."""

    config: GateConfig = field(default_factory=GateConfig)
    human: bool = False
    source: str = ''
    switches: int = 0

    def __post_init__(self) -> None:
        self._joy = _Latch(self.config.joy_debounce_s)
        self._service = False
        self._dev = False
        self._dev_since: float | None = None        # deviation above on-threshold since
        self._still_since: float | None = None      # leader still and close since
        self._dev_switched_s = -np.inf
        self._prev_leader: NDArray[np.float64] | None = None
        self._prev_t: float | None = None
        self.last_deviation = 0.0

    def reset(self) -> None:
        """Back to the policy, every trigger released (a new episode)."""
        self.human, self.source = False, ''
        self.__post_init__()

    def set_service(self, human: bool) -> None:
        """Latch the service request (``std_srvs/SetBool``: true = the person takes over)."""
        self._service = bool(human)

    def joy_pressed(self, buttons: list[int] | tuple[int, ...]) -> bool:
        """Whether a Joy message's ``buttons`` hold the deadman button."""
        b = self.config.joy_button
        return b < len(buttons) and bool(buttons[b])

    def deviation(self, leader: NDArray[np.floating], follower: NDArray[np.floating]) -> float:
        """Max absolute leader-follower difference over the compared joints, rad."""
        d = np.abs(np.asarray(leader, np.float64) - np.asarray(follower, np.float64))
        idx = self.config.compare_joints
        return float(d[list(idx)].max() if idx else d.max())

    def step(self, now_s: float, *, joy: bool | None = None,
             leader: NDArray[np.floating] | None = None,
             follower: NDArray[np.floating] | None = None) -> GateDecision:
        """Advance the gate to ``now_s``.

        Args:
            now_s: Current time, s (monotonic).
            joy: Deadman button state of the newest Joy message (None: no Joy yet / stale,
                counts as released).
            leader: Newest leader-arm joint positions (None: none or stale; the deviation
                trigger then keeps its state and cannot switch).
            follower: Newest measured follower joint positions (same order).

        Returns:
            The decision (who commands, whether it changed, which trigger).
        """
        cfg = self.config
        wants: dict[str, bool] = {}
        if 'joy' in cfg.triggers:
            wants['joy'] = self._joy.update(bool(joy), now_s)
        if 'service' in cfg.triggers:
            wants['service'] = self._service
        if 'deviation' in cfg.triggers:
            wants['deviation'] = self._deviation_step(now_s, leader, follower)
        human = any(wants.values())
        changed = human != self.human
        if changed:
            self.switches += 1
            self.human = human
        if human:
            if not wants.get(self.source, False):
                self.source = next(k for k, v in wants.items() if v)
        return GateDecision(human, changed, self.source)

    def _deviation_step(self, now_s: float, leader: NDArray[np.floating] | None,
                        follower: NDArray[np.floating] | None) -> bool:
        cfg = self.config
        if leader is None or follower is None:
            self._dev_since = self._still_since = None
            self._prev_leader = None
            return self._dev
        lead = np.asarray(leader, np.float64)
        dev = self.deviation(lead, follower)
        self.last_deviation = dev
        speed = 0.0
        if self._prev_leader is not None and self._prev_t is not None and now_s > self._prev_t:
            speed = float(np.abs(lead - self._prev_leader).max() / (now_s - self._prev_t))
        self._prev_leader, self._prev_t = lead.copy(), now_s
        dwell_ok = now_s - self._dev_switched_s >= cfg.min_dwell_s
        if not self._dev:
            self._still_since = None
            if dev > cfg.deviation_on_rad:
                if self._dev_since is None:
                    self._dev_since = now_s
                if now_s - self._dev_since >= cfg.deviation_on_s and dwell_ok:
                    self._dev, self._dev_switched_s, self._dev_since = True, now_s, None
            else:
                self._dev_since = None
        else:
            self._dev_since = None
            if dev < cfg.deviation_off_rad and speed < cfg.release_speed_rad_s:
                if self._still_since is None:
                    self._still_since = now_s
                if now_s - self._still_since >= cfg.release_s and dwell_ok:
                    self._dev, self._dev_switched_s, self._still_since = False, now_s, None
            else:
                self._still_since = None
        return self._dev
