"""Put any gymnasium environment with array observations and actions behind ``sim_node``.

A :class:`GymAdapter` says how the environment's vectors map to joints: which names the
published ``JointState`` carries, how an observation becomes joint positions (and
velocities), how a joint command becomes an action, when the task counts as a success, and
optionally how to draw a camera image. :class:`GymSim` then offers the same
:class:`~imitation_ros.sim.base.SimRobot` API as the MuJoCo arm: commands are clamped to the
adapter's limits (by default the action space bounds) and held; the environment is stepped
once per control period with the held command. See ``docs/sim.md``.

``gymnasium`` is imported lazily (only when an environment is made by id).
"""
from __future__ import annotations

import importlib
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.errors import ConfigError, SimError
from imitation_ros.profile.keys import OBS_STATE, image_key
from imitation_ros.sim.clamp import ClampReport, clamp_command

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

def _identity_state(obs: Any) -> tuple[Any, Any]:
    return np.asarray(obs, dtype=np.float64).reshape(-1), None


def _identity_action(cmd: Any) -> Any:
    return np.asarray(cmd, dtype=np.float32)


def _info_success(obs: Any, reward: float, terminated: bool, info: dict[str, Any]) -> bool:
    del obs, reward, terminated
    return bool(info.get('is_success', False))


@dataclass(frozen=True, slots=True, kw_only=True)
class GymAdapter:
    """How a gymnasium environment's vectors map onto named joints.

    Attributes:
        joint_names: Names of the command vector and of the published joint states.
        state_from_obs: obs -> (positions, velocities or None), both in joint order.
        action_from_command: joint command -> env action.
        success_from: (obs, reward, terminated, info) -> success of the current step.
        task_state_from: obs -> privileged task state vector (default: the flat obs).
        image_from: (env, obs, height, width) -> HxWx3 uint8, or None to use ``env.render()``.
        lower_rad: Command lower limits (default: ``action_space.low`` when the command is
            the action).
        upper_rad: Command upper limits.
        fps: Control rate (default: ``env.metadata['render_fps']`` or ``1 / env.dt``), Hz.
        make_kwargs: Extra keyword arguments of ``gymnasium.make``.
    """

    joint_names: tuple[str, ...]
    state_from_obs: Callable[[Any], tuple[Any, Any]] = _identity_state
    action_from_command: Callable[[Any], Any] = _identity_action
    success_from: Callable[[Any, float, bool, dict[str, Any]], bool] = _info_success
    task_state_from: Callable[[Any], Any] | None = None
    image_from: Callable[[Any, Any, int, int], Any] | None = None
    lower_rad: tuple[float, ...] | None = None
    upper_rad: tuple[float, ...] | None = None
    fps: float | None = None
    make_kwargs: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.joint_names or len(set(self.joint_names)) != len(self.joint_names):
            msg = f'GymAdapter.joint_names must be distinct and non-empty, got {self.joint_names}'
            raise ConfigError(msg)
        for name in ('lower_rad', 'upper_rad'):
            val = getattr(self, name)
            if val is not None and len(val) != len(self.joint_names):
                msg = f'GymAdapter.{name} has {len(val)} values for {len(self.joint_names)} joints'
                raise ConfigError(msg)


class GymSim:
    """A gymnasium environment as a :class:`~imitation_ros.sim.base.SimRobot`."""

    def __init__(self, env: Any, adapter: GymAdapter, *,
                 cameras: Sequence[tuple[str, int, int]] = ()) -> None:
        """Wrap ``env``.

        Args:
            env: A gymnasium environment (already made).
            adapter: The joint mapping.
            cameras: (name, height, width) of each camera to offer (rendered with
                ``adapter.image_from`` or ``env.render()``).

        Raises:
            SimError: No limits can be found, or no control rate.
        """
        self.env = env
        self.adapter = adapter
        self.joint_names = tuple(adapter.joint_names)
        n = len(self.joint_names)
        space = getattr(env, 'action_space', None)
        lower, upper = adapter.lower_rad, adapter.upper_rad
        if lower is None or upper is None:
            low = np.asarray(getattr(space, 'low', []), dtype=np.float64).reshape(-1)
            high = np.asarray(getattr(space, 'high', []), dtype=np.float64).reshape(-1)
            if low.size != n or high.size != n:
                msg = (f'{_env_name(env)}: give GymAdapter.lower_rad/upper_rad; the action '
                       f'space {space} does not have one bound per joint ({n})')
                raise SimError(msg)
            lower = tuple(low) if lower is None else lower
            upper = tuple(high) if upper is None else upper
        self.lower_rad = np.asarray(lower, dtype=np.float64)
        self.upper_rad = np.asarray(upper, dtype=np.float64)
        fps = adapter.fps or _env_fps(env)
        if not fps or not math.isfinite(fps) or fps <= 0:
            msg = f'{_env_name(env)}: cannot tell its control rate; set GymAdapter.fps'
            raise SimError(msg)
        self.control_period_s = 1.0 / fps
        self.physics_dt_s = self.control_period_s
        self.cameras = tuple(cameras)
        self.camera_names = tuple(c[0] for c in cameras)
        self.task_state_names: tuple[str, ...] = ()
        self.clamp_count = 0
        self.last_clamp = ClampReport()
        self.seed: int | None = None
        self._obs: Any = None
        self._success = False
        self._target = np.zeros(n)
        self._steps = 0
        self._pending_s = 0.0
        self._done = False
        self.reset(None)

    # ------------------------------------------------------------------ SimRobot API
    def reset(self, seed: int | None = None) -> dict[str, Any]:
        """Reset the environment (seeded); the held target becomes the measured joints."""
        self.seed = seed
        self._obs, _ = self.env.reset(seed=seed)
        self._success = False
        self._done = False
        self._steps = 0
        self._pending_s = 0.0
        pos = self.joint_positions()
        self._target = np.clip(pos, self.lower_rad, self.upper_rad) if pos.size == len(
            self.joint_names) else np.clip(np.zeros(len(self.joint_names)), self.lower_rad,
                                           self.upper_rad)
        ts = self.task_state()
        self.task_state_names = tuple(f'task_{i}' for i in range(ts.size))
        return self.observation()

    def set_command(self, cmd: Sequence[float] | NDArray[Any]) -> ClampReport:
        """Clamp and hold a joint command (see :meth:`ArmSim.set_command`)."""
        arr = np.asarray(cmd, dtype=np.float64).reshape(-1)
        if arr.size != len(self.joint_names):
            msg = (f'command has {arr.size} values, expected {len(self.joint_names)} '
                   f'({list(self.joint_names)})')
            raise SimError(msg)
        self._target, report = clamp_command(arr, self.lower_rad, self.upper_rad, self._target,
                                             self.joint_names)
        if report.changed:
            self.clamp_count += 1
            logger.debug('command %s', report.describe())
        self.last_clamp = report
        return report

    @property
    def target(self) -> NDArray[np.float64]:
        """Current (clamped) command."""
        return self._target.copy()

    def advance(self, dt_s: float) -> int:
        """Step the environment once per elapsed control period; return env steps taken.

        Once the environment terminates or truncates, time still advances but the
        environment is not stepped again until :meth:`reset` (its last state is held).
        """
        self._pending_s += dt_s
        n = 0
        while self._pending_s >= self.control_period_s - 1e-9:
            self._pending_s -= self.control_period_s
            n += 1
            if self._done:
                continue
            action = self.adapter.action_from_command(self._target.copy())
            self._obs, reward, terminated, truncated, info = self.env.step(action)
            self._success = bool(self.adapter.success_from(self._obs, float(reward),
                                                           bool(terminated), info))
            if terminated or truncated:
                self._done = True
                logger.info('%s: episode ended (terminated=%s); holding until reset',
                            _env_name(self.env), terminated)
        self._steps += n
        return n

    def step(self, cmd: Sequence[float] | NDArray[Any]) -> dict[str, Any]:
        """Command, advance one control period, return the observation."""
        self.set_command(cmd)
        self.advance(self.control_period_s)
        return self.observation()

    @property
    def time_s(self) -> float:
        """Simulated time since reset, s."""
        return self._steps * self.control_period_s

    def joint_positions(self) -> NDArray[np.float64]:
        """Joint positions from the current observation."""
        pos, _ = self.adapter.state_from_obs(self._obs)
        return np.asarray(pos, dtype=np.float64).reshape(-1)

    def joint_velocities(self) -> NDArray[np.float64]:
        """Joint velocities from the observation (zeros when the adapter gives none)."""
        _, vel = self.adapter.state_from_obs(self._obs)
        if vel is None:
            return np.zeros(len(self.joint_names))
        return np.asarray(vel, dtype=np.float64).reshape(-1)

    def observation(self, *, images: bool = True) -> dict[str, Any]:
        """Observation dict: state and one image per camera."""
        obs: dict[str, Any] = {OBS_STATE: self.joint_positions().astype(np.float32)}
        if images:
            for name, _, _ in self.cameras:
                obs[image_key(name)] = self.render(name)
        return obs

    def render(self, camera: str | None = None) -> NDArray[np.uint8]:
        """Image of ``camera`` from the adapter's ``image_from`` or ``env.render()``.

        Raises:
            SimError: No such camera, or the environment cannot render RGB arrays.
        """
        cam = next((c for c in self.cameras if camera in (None, c[0])), None)
        if cam is None:
            msg = f'{_env_name(self.env)}: no camera {camera!r}; cameras: {self.camera_names}'
            raise SimError(msg)
        _, h, w = cam
        if self.adapter.image_from is not None:
            img = self.adapter.image_from(self.env, self._obs, h, w)
        else:
            try:
                img = self.env.render()
            except Exception as err:  # noqa: BLE001 - env renderers raise anything
                msg = f'{_env_name(self.env)}: render() failed: {err}'
                raise SimError(msg) from None
            if img is None:
                msg = (f'{_env_name(self.env)}: render() returned None; make it with '
                       f"render_mode='rgb_array' or give GymAdapter.image_from")
                raise SimError(msg)
        from imitation_ros.messages.codecs import resize_rgb

        return resize_rgb(np.ascontiguousarray(np.asarray(img, dtype=np.uint8)[..., :3]), h, w)

    def success(self) -> bool:
        """Success of the last environment step."""
        return self._success

    def task_state(self) -> NDArray[np.float64]:
        """Privileged state: the adapter's ``task_state_from`` or the flat observation."""
        fn = self.adapter.task_state_from
        src = fn(self._obs) if fn is not None else self._obs
        if isinstance(src, dict):
            return np.zeros(0)
        return np.asarray(src, dtype=np.float64).reshape(-1)

    def close(self) -> None:
        """Close the environment (and the adapter's image source if it can be closed)."""
        closer = getattr(self.adapter.image_from, 'close', None)
        if callable(closer):
            closer()
        self.env.close()


def _env_name(env: Any) -> str:
    spec = getattr(env, 'spec', None)
    return getattr(spec, 'id', None) or type(env).__name__


def _env_fps(env: Any) -> float | None:
    meta = getattr(env, 'metadata', None) or {}
    unwrapped = getattr(env, 'unwrapped', env)
    dt = getattr(unwrapped, 'dt', None)
    if isinstance(dt, (int, float)) and dt > 0:
        return 1.0 / float(dt)
    fps = meta.get('render_fps')
    return float(fps) if fps else None


# ------------------------------------------------------------------------ built-in example
def _pendulum_state(obs: Any) -> tuple[Any, Any]:
    cos, sin, vel = (float(v) for v in obs)
    return np.array([math.atan2(sin, cos)]), np.array([vel])


def _pendulum_success(obs: Any, reward: float, terminated: bool, info: dict[str, Any]) -> bool:
    del reward, terminated, info
    cos, sin, vel = (float(v) for v in obs)
    return abs(math.atan2(sin, cos)) < 0.3 and abs(vel) < 1.0


def _pendulum_image(env: Any, obs: Any, height: int, width: int) -> Any:
    """Draw the pendulum (numpy only, so no pygame is needed)."""
    del env
    cos, sin, _ = (float(v) for v in obs)
    img = np.full((height, width, 3), 235, dtype=np.uint8)
    cy, cx, r = height / 2, width / 2, 0.4 * min(height, width)
    for s in np.linspace(0.0, 1.0, 4 * int(r) + 2):
        y, x = int(round(cy - s * r * cos)), int(round(cx + s * r * sin))
        img[max(0, y - 1):y + 2, max(0, x - 1):x + 2] = (200, 60, 40)
    return img


def pendulum_adapter() -> GymAdapter:
    """Adapter of gymnasium's ``Pendulum-v1``: joint ``pendulum`` (angle, 0 = up), torque in.

    The command is the motor torque (limits ``[-2, 2]`` from the action space); the published
    "position" is the angle and the velocity its rate. Success: within 0.3 rad of upright
    and slower than 1 rad/s.
    """
    return GymAdapter(joint_names=('pendulum',), state_from_obs=_pendulum_state,
                      success_from=_pendulum_success, image_from=_pendulum_image)


#: Adapters shipped with the package, by gymnasium id (``task: gym:<id>`` in sim_node).
ADAPTERS: dict[str, Callable[[], GymAdapter]] = {'Pendulum-v1': pendulum_adapter}


def load_adapter(spec: str) -> GymAdapter:
    """Return an adapter from a gymnasium id in :data:`ADAPTERS` or ``'module:function'``.

    Raises:
        ConfigError: Unknown id, or the function cannot be imported or returns no adapter.
    """
    if spec in ADAPTERS:
        return ADAPTERS[spec]()
    if ':' not in spec:
        msg = (f'no built-in gym adapter for {spec!r} (have {sorted(ADAPTERS)}); pass '
               f"adapter 'package.module:function' returning a GymAdapter")
        raise ConfigError(msg)
    mod_name, _, fn_name = spec.partition(':')
    try:
        fn = getattr(importlib.import_module(mod_name), fn_name)
    except (ImportError, AttributeError) as err:
        msg = f'gym adapter {spec!r}: cannot import: {err}'
        raise ConfigError(msg) from None
    adapter = fn()
    if not isinstance(adapter, GymAdapter):
        msg = f'gym adapter {spec!r} returned {type(adapter).__name__}, not a GymAdapter'
        raise ConfigError(msg)
    return adapter


def make_gym_sim(env_id: str, adapter: GymAdapter | None = None, *,
                 cameras: Sequence[tuple[str, int, int]] = ()) -> GymSim:
    """``gymnasium.make(env_id)`` wrapped as a :class:`GymSim`.

    Raises:
        SimError: gymnasium missing or the environment cannot be made.
    """
    try:
        import gymnasium as gym
    except ImportError:
        msg = 'gymnasium is not installed: pip install "gymnasium>=1.1,<2"'
        raise SimError(msg) from None
    adapter = adapter or load_adapter(env_id)
    kwargs = dict(adapter.make_kwargs or {})
    if cameras and adapter.image_from is None:
        kwargs.setdefault('render_mode', 'rgb_array')
    try:
        env = gym.make(env_id, **kwargs)
    except Exception as err:  # noqa: BLE001 - gymnasium raises many kinds
        msg = f'gymnasium cannot make {env_id!r}: {err}'
        raise SimError(msg) from None
    return GymSim(env, adapter, cameras=cameras)
