"""Parameters of ``dagger_node`` (one ROS parameter per field; see ``config/dagger.yaml``)."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

from imitation_ros.dagger.core import CoreConfig
from imitation_ros.dagger.gate import GateConfig
from imitation_ros.dagger.modes import ModeConfig
from imitation_ros.deploy.safety import SafetyConfig
from imitation_ros.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class DaggerNodeConfig:
    """Parameters of ``dagger_node``."""

    profile: str = 'sim_arm.yaml'                 # robot profile: path, or name under config/
    mode: Literal['hg', 'classic', 'label_only'] = 'hg'
    beta0: float = 1.0                            # classic: expert executed with p = beta
    beta_decay: float = 0.5                       # classic: beta_r = beta0 * decay ** round
    round: int = 0                                # DAgger round of this session
    seed: int = 0                                 # seed of the classic-mode draws
    triggers: tuple[str, ...] = ('joy', 'service', 'deviation')
    joy_topic: str = '/joy'                       # sensor_msgs/Joy with the deadman button
    joy_button: int = 4                           # deadman button index
    joy_debounce_s: float = 0.0                   # button must hold this long, s
    joy_stale_s: float = 0.5                      # Joy older than this counts as released, s
    deviation_on_rad: float = 0.35                # leader-follower gap that takes over, rad
    deviation_off_rad: float = 0.15               # gap below which control may return, rad
    deviation_on_s: float = 0.0                   # gap above on-threshold this long, s
    release_speed_rad_s: float = 0.05             # leader slower than this = let go, rad/s
    release_s: float = 0.5                        # leader still and close this long, s
    min_dwell_s: float = 0.5                      # least time between deviation switches, s
    ramp_s: float = 0.5                           # handover blend time, s
    policy_topic: str = '/policy/command'         # the policy node's output, remapped here
    policy_stale_s: float = 0.2                   # older policy command: hold, s
    leader_stale_s: float = 0.2                   # older leader pose: hold, s
    policy_reset_service: str = '/policy/reset'   # std_srvs/Trigger called on hand-back
    command: Literal['profile', 'forward', 'trajectory'] = 'profile'  # in and out interface
    trajectory_time_s: float = 0.0                # JointTrajectory time_from_start; 0 = period
    rate_hz: float = 0.0                          # control rate; 0 = the profile's fps
    # safety: the policy node's filter, same parameters (deploy.config.PolicyNodeConfig)
    velocity_scale: float = 1.0                   # step cap = profile velocity x this x dt
    max_step_rad: float = 0.0                     # extra cap per period, rad; 0 = off
    max_lead_rad: float = 0.5                     # target this close to measured, rad; 0 = off
    stale_obs_s: float = 0.2                      # measured state older: hold, s
    limit_margin_rad: float = 0.0                 # keep inside the limits, rad
    state_limit_tolerance_rad: float = 0.2        # measured further outside limits: hold, rad
    enabled: bool = False                         # command at once (else wait for ~/enable)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                msg = f'dagger: parameter {f.name} must be finite, got {value}'
                raise ConfigError(msg)
        if not 0 <= self.rate_hz <= 1000:
            msg = f'dagger: parameter rate_hz must be in [0, 1000], got {self.rate_hz}'
            raise ConfigError(msg)
        if self.trajectory_time_s < 0:
            msg = f'dagger: trajectory_time_s must be >= 0, got {self.trajectory_time_s}'
            raise ConfigError(msg)
        self.gate(), self.mode_config(), self.core(), self.safety()     # validate the parts

    def safety(self) -> SafetyConfig:
        """The safety filter's part (raises ``ConfigError`` naming the parameter)."""
        return SafetyConfig.from_params(self, 'dagger')

    def gate(self) -> GateConfig:
        """The gate's part."""
        return GateConfig(triggers=tuple(self.triggers), joy_button=self.joy_button,
                          joy_debounce_s=self.joy_debounce_s,
                          deviation_on_rad=self.deviation_on_rad,
                          deviation_off_rad=self.deviation_off_rad,
                          deviation_on_s=self.deviation_on_s,
                          release_speed_rad_s=self.release_speed_rad_s,
                          release_s=self.release_s, min_dwell_s=self.min_dwell_s)

    def mode_config(self) -> ModeConfig:
        """The mode's part."""
        return ModeConfig(mode=self.mode, beta0=self.beta0, beta_decay=self.beta_decay,
                          round=self.round)

    def core(self) -> CoreConfig:
        """Ramp and staleness times."""
        return CoreConfig(ramp_s=self.ramp_s, policy_stale_s=self.policy_stale_s,
                          leader_stale_s=self.leader_stale_s, joy_stale_s=self.joy_stale_s)
