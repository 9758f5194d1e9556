"""Configs of ``sim_node`` and ``expert_node`` (one ROS parameter per field) and ``make_sim``.

Each field has the same name as its key in ``config/sim.yaml`` / ``config/expert.yaml``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from imitation_ros.errors import ConfigError

if TYPE_CHECKING:
    from imitation_ros.profile import RobotProfile
    from imitation_ros.sim.base import SimRobot
    from imitation_ros.sim.expert import TakeoverConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class SimNodeConfig:
    """Parameters of ``sim_node``."""

    profile: str = 'sim_arm.yaml'        # robot profile: path, or file name under config/
    task: str = 'lift_cube'              # lift_cube | lift_cube_wide | aloha_transfer_cube
                                         # | aloha_insertion
                                         # | gym:<gymnasium id>
    adapter: str = ''                    # gym tasks: 'module:function' returning a GymAdapter
    seed: int = 0                        # episode k after start uses seed + k
    joint_state_hz: float = 100.0        # /joint_states rate, Hz (sim time)
    camera_hz: float = 30.0              # camera image rate, Hz (sim time)
    clock_hz: float = 100.0              # /clock rate, Hz (sim time)
    success_hz: float = 10.0             # ~/success and ~/task_state rate, Hz
    diagnostics_hz: float = 1.0          # /diagnostics rate, Hz
    physics_dt_s: float = 0.002          # MuJoCo timestep, s
    real_time_factor: float = 1.0        # sim seconds per wall second
    max_catch_up_s: float = 1.0          # if further behind real time, give the time up (warn), s
    randomize_appearance: bool = False   # jitter light, colours and camera pose on reset
    cube_jitter_m: float = 0.02          # lift_cube: cube start jitter, m
    arm_jitter_rad: float = 0.2          # lift_cube: arm start jitter, rad
    compressed: bool = False             # also publish <camera topic>/compressed (JPEG)
    jpeg_quality: int = 90               # JPEG quality of compressed images, 1..100
    stamp_origin: Literal['wall', 'zero'] = 'wall'  # sim time 0 maps to: node start | 0 s

    def __post_init__(self) -> None:
        for name in ('joint_state_hz', 'camera_hz', 'clock_hz', 'success_hz',
                     'diagnostics_hz', 'real_time_factor', 'max_catch_up_s'):
            if getattr(self, name) <= 0:
                msg = f'sim: parameter {name} must be > 0, got {getattr(self, name)}'
                raise ConfigError(msg)
        if not 1 <= self.jpeg_quality <= 100:
            msg = f'sim: parameter jpeg_quality must be in 1..100, got {self.jpeg_quality}'
            raise ConfigError(msg)
        if not self.task:
            msg = 'sim: parameter task must not be empty'
            raise ConfigError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpertNodeConfig:
    """Parameters of ``expert_node``."""

    profile: str = 'sim_arm.yaml'        # robot profile: path, or file name under config/
    output: Literal['leader', 'command', 'both'] = 'both'  # leader JointState and/or command
    rate_hz: float = 100.0               # command stream rate, Hz
    episodes: int = 3                    # episodes to run, then exit 0
    episode_timeout_s: float = 8.0       # end an episode after this long regardless, s
    seed: int = 0                        # seed of the expert's noise draws
    noise_std_rad: float = 0.0           # Gaussian noise on every command, rad
    perturb_prob: float = 0.0            # chance per episode of one perturbation, [0, 1]
    use_recorder: bool = True            # start/stop episodes through the recorder services
    recorder_wait_s: float = 5.0         # wait this long for the recorder services at start, s
    sim_wait_s: float = 30.0             # wait this long for the sim's reset service, s
    sim_node: str = '/sim'               # name of the sim node (its ~/reset, ~/success ...)
    recorder_node: str = '/recorder'     # name of the recorder node
    success_hold_s: float = 0.5          # end an episode once success has held this long, s
    # takeover mode (DAgger): play the person at a teleop device beside a policy
    takeover: Literal['none', 'service', 'joy'] = 'none'   # how the person takes over the gate
    policy_topic: str = '/policy/command'    # the policy's proposals (its output, remapped)
    dagger_node: str = '/dagger'             # the gate (its ~/take_over, ~/reset)
    policy_reset_service: str = '/policy/reset'  # called at each episode start ('' = no)
    joy_topic: str = '/joy'                  # takeover joy: deadman Joy published each tick
    joy_button: int = 4                      # takeover joy: deadman button index
    takeover_rad: float = 0.15               # arm proposals differ more than this: take over
    takeover_gripper_rad: float = 0.5        # gripper proposals differ more than this: take over
    takeover_s: float = 0.1                  # ... for this long, s
    handback_rad: float = 0.08               # proposals agree within this (gripper x3) ...
    agree_s: float = 0.3                     # ... for this long: hand back, s
    min_drive_s: float = 0.5                 # drive at least this long once taken over, s
    policy_stale_s: float = 0.5              # no proposal this long: the person takes over, s
    gate_wait_s: float = 60.0                # wait this long for the gate and the policy, s

    def __post_init__(self) -> None:
        if self.takeover != 'none' and self.output != 'leader':
            msg = (f'expert: takeover {self.takeover!r} needs output leader (the gate commands '
                   f'the arm), got output {self.output!r}')
            raise ConfigError(msg)
        if self.takeover not in ('none', 'service', 'joy'):
            msg = f'expert: takeover must be none, service or joy, got {self.takeover!r}'
            raise ConfigError(msg)
        if self.joy_button < 0 or self.policy_stale_s <= 0 or self.gate_wait_s <= 0:
            msg = (f'expert: joy_button must be >= 0, policy_stale_s and gate_wait_s > 0, got '
                   f'{self.joy_button}, {self.policy_stale_s}, {self.gate_wait_s}')
            raise ConfigError(msg)
        self.takeover_config()
        if self.success_hold_s < 0:
            msg = f'expert: success_hold_s must be >= 0, got {self.success_hold_s}'
            raise ConfigError(msg)
        if self.rate_hz <= 0 or self.episode_timeout_s <= 0:
            msg = (f'expert: rate_hz and episode_timeout_s must be > 0, got {self.rate_hz}, '
                   f'{self.episode_timeout_s}')
            raise ConfigError(msg)
        if self.episodes < 0:
            msg = f'expert: episodes must be >= 0, got {self.episodes}'
            raise ConfigError(msg)
        if self.noise_std_rad < 0 or not 0 <= self.perturb_prob <= 1:
            msg = (f'expert: noise_std_rad must be >= 0 and perturb_prob in [0, 1], got '
                   f'{self.noise_std_rad}, {self.perturb_prob}')
            raise ConfigError(msg)

    def takeover_config(self) -> TakeoverConfig:
        """When the scripted person takes over and hands back (raises ConfigError)."""
        from imitation_ros.sim.expert import TakeoverConfig

        return TakeoverConfig(takeover_rad=self.takeover_rad,
                              gripper_rad=self.takeover_gripper_rad, takeover_s=self.takeover_s,
                              handback_rad=self.handback_rad, agree_s=self.agree_s,
                              min_drive_s=self.min_drive_s)


def make_sim(config: SimNodeConfig, profile: RobotProfile) -> SimRobot:
    """Build the simulated robot ``config.task`` names, for ``profile``.

    Raises:
        ConfigError: Unknown task, or the profile's joints do not match the task's.
        SimError: The simulator cannot be built (missing package, GL, model).
    """
    task = config.task
    cams = tuple((c.name, c.height, c.width) for c in profile.cameras)
    if task in ('lift_cube', 'lift_cube_wide'):
        from imitation_ros.sim.arm import ArmSim, task_sim_config

        # the wide variant fixes its cube range; lift_cube keeps cube_jitter_m configurable
        jitter = {} if task == 'lift_cube_wide' else {'cube_jitter_m': config.cube_jitter_m}
        return ArmSim(profile, task_sim_config(
            task, physics_dt_s=config.physics_dt_s, arm_jitter_rad=config.arm_jitter_rad,
            randomize_appearance=config.randomize_appearance, **jitter))
    if task.startswith('aloha_'):
        from imitation_ros.sim.aloha import make_aloha_sim

        sim: SimRobot = make_aloha_sim(task, cameras=cams)
    elif task.startswith('gym:'):
        from imitation_ros.sim.gym_adapter import load_adapter, make_gym_sim

        env_id = task[4:]
        adapter = load_adapter(config.adapter or env_id)
        sim = make_gym_sim(env_id, adapter, cameras=cams)
    else:
        msg = (f'sim: unknown task {task!r}; use lift_cube, lift_cube_wide, '
               f'aloha_transfer_cube, aloha_insertion or gym:<gymnasium id>')
        raise ConfigError(msg)
    if tuple(sim.joint_names) != tuple(profile.joint_names):
        sim.close()
        msg = (f'{profile.path or profile.name}: joints {list(profile.joint_names)} do not '
               f'match task {task!r} joints {list(sim.joint_names)} (same names, same order)')
        raise ConfigError(msg)
    return sim
