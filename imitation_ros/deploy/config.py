"""Parameters of ``policy_node`` (one ROS parameter per field; see ``config/policy.yaml``)."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

from imitation_ros.deploy.safety import SafetyConfig
from imitation_ros.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyNodeConfig:
    """Parameters of ``policy_node`` (units in the comments)."""

    profile: str = 'sim_arm.yaml'        # robot profile: path, or file name under config/
    checkpoint: str = ''                 # training output dir, checkpoint or pretrained_model
    device: str = 'auto'                 # auto | cpu | cuda | cuda:N
    rate_hz: float = 0.0                 # control rate, Hz; 0 = the profile's fps
    velocity_scale: float = 1.0          # step cap = profile max_velocity_rad_s x this x period
    max_step_rad: float = 0.0            # extra cap on any joint's change per period, rad; 0 = off
    max_lead_rad: float = 0.5            # target at most this far from measured, rad; 0 = off
    stale_obs_s: float = 0.2             # hold when the newest observation is older, s
    limit_margin_rad: float = 0.0        # keep this far inside the joint limits, rad
    state_limit_tolerance_rad: float = 0.2  # hold when measured is further outside limits, rad
    ensemble_coeff: float = -1.0         # ACT temporal ensembling weight m; < 0 = off
    blend_steps: int = 3                 # seam crossfade between chunks, control periods
    latency_margin_s: float = 0.01       # request a chunk this much before p99 latency needs, s
    latency_prior_s: float = 0.1         # latency assumed before the first measurement, s
    max_plan_age_s: float = 1.0          # hold rows predicted from older observations, s; 0 = off
    enable_ramp_s: float = 1.0           # ramp from the measured pose to the policy's, s
    min_inference_s: float = 0.0         # pad each forward pass to this long (rehearsal), s
    inference_worker: Literal['thread', 'process'] = 'thread'  # where the forward pass runs
    command: Literal['profile', 'forward', 'trajectory'] = 'profile'  # command interface
    controller_rate_hz: float = 100.0    # JTC's update rate (controller_manager update_rate), Hz
    trajectory_delay_s: float = 0.0      # stamp = tick + this; 0 = period - controller period, s
    trajectory_horizon_s: float = 0.2    # no point later than this after the stamp, s
    trajectory_max_delivery_s: float = 0.005  # publish -> JTC callback, at most, s
    trajectory_resync_rad: float = 0.3   # arm this far from JTC's expected setpoint: resync, rad
    trajectory_points: int = 0           # JointTrajectory points after the first; 0 = rest of chunk
    enabled: bool = False                # command at once (else wait for ~/enable)

    def __post_init__(self) -> None:
        if not self.checkpoint:
            msg = 'policy: parameter checkpoint is required (a training output folder)'
            raise ConfigError(msg)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                msg = f'policy: parameter {f.name} must be finite, got {value}'
                raise ConfigError(msg)
        if not 0 < self.controller_rate_hz <= 10000:
            msg = ('policy: parameter controller_rate_hz must be in (0, 10000], got '
                   f'{self.controller_rate_hz}')
            raise ConfigError(msg)
        if not 0 <= self.rate_hz <= 1000:
            msg = f'policy: parameter rate_hz must be in [0, 1000], got {self.rate_hz}'
            raise ConfigError(msg)
        for name in ('latency_margin_s', 'latency_prior_s', 'max_plan_age_s', 'enable_ramp_s',
                     'min_inference_s', 'blend_steps', 'trajectory_points',
                     'trajectory_delay_s', 'trajectory_horizon_s', 'trajectory_max_delivery_s',
                     'trajectory_resync_rad'):
            if getattr(self, name) < 0:
                msg = f'policy: parameter {name} must be >= 0, got {getattr(self, name)}'
                raise ConfigError(msg)
        self.safety()

    def safety(self) -> SafetyConfig:
        """The safety filter's part (raises ``ConfigError`` naming the parameter)."""
        return SafetyConfig.from_params(self, 'policy')
