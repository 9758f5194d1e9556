"""Parameters of ``policy_node`` (one ROS parameter per field; see ``config/policy.yaml``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from imitation_ros.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyNodeConfig:
    """Parameters of ``policy_node``."""

    profile: str = 'sim_arm.yaml'        # robot profile: path, or file name under config/
    checkpoint: str = ''                 # training output dir, checkpoint or pretrained_model
    device: str = 'auto'                 # auto | cpu | cuda | cuda:N
    rate_hz: float = 0.0                 # control rate, Hz; 0 = the profile's fps
    max_step_rad: float = 0.05           # largest change of any joint per control period, rad
    stale_obs_s: float = 0.2             # hold when the newest observation is older, s
    limit_margin_rad: float = 0.0        # keep this far inside the joint limits, rad
    ensemble_coeff: float = -1.0         # ACT temporal ensembling weight; < 0 = off
    command: Literal['profile', 'forward', 'trajectory'] = 'profile'  # command interface
    trajectory_time_s: float = 0.0       # JointTrajectory time_from_start; 0 = one period, s
    enabled: bool = True                 # start commanding at once (else wait for ~/enable)

    def __post_init__(self) -> None:
        if not self.checkpoint:
            msg = 'policy: parameter checkpoint is required (a training output folder)'
            raise ConfigError(msg)
        if self.rate_hz < 0 or self.rate_hz > 1000:
            msg = f'policy: parameter rate_hz must be in [0, 1000], got {self.rate_hz}'
            raise ConfigError(msg)
        if self.trajectory_time_s < 0:
            msg = f'policy: trajectory_time_s must be >= 0, got {self.trajectory_time_s}'
            raise ConfigError(msg)
