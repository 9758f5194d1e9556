"""ArmSim: the MuJoCo arm with its cube-lift task, as a plain in-process API.

The CI task ("lift_cube"): a 4 cm cube lies near a fixed spot on the table (uniform jitter of
``cube_jitter_m`` and ``cube_yaw_jitter_rad``); the arm starts in a randomized pose near home.
Success: the cube's centre is at least ``lift_height_m`` above its resting height *and* it
touches both fingers, i.e. it was really picked up. The gripper is wide (9.6 cm open, 5.6 cm
wide pads, for a 4 cm cube), so a policy that only sees joint states can still succeed on the
jitter.

Usage::

    sim = ArmSim(load_profile(config_path('sim_arm.yaml')))
    obs = sim.reset(seed=0)     # {'observation.state': (6,), 'observation.images.front': HxWx3}
    obs = sim.step(target_joint_positions)  # one control period (1 / fps)
    sim.success(), sim.task_state()

MuJoCo is imported here; ``MUJOCO_GL`` defaults to ``egl`` (set it to ``osmesa`` where EGL is
missing) and the renderer is created on the first :meth:`ArmSim.render`.
"""
from __future__ import annotations

import atexit
import dataclasses
import logging
import math
import os
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.errors import SimError
from imitation_ros.profile.keys import OBS_STATE, image_key
from imitation_ros.sim.clamp import ClampReport, clamp_command
from imitation_ros.sim.kinematics import yaw_of_quat
from imitation_ros.sim.model import ArmGeometry, build_mjcf

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from imitation_ros.profile import RobotProfile

logger = logging.getLogger(__name__)

#: Layout of :meth:`ArmSim.task_state` (privileged state for the scripted expert).
TASK_STATE_NAMES = ('cube_x', 'cube_y', 'cube_z', 'cube_yaw', 'cube_rest_z', 'lift_m',
                    'grasped', 'success')


#: Home pose of the five arm joints (pan, lift, elbow, wrist flex, roll): hand above the table.
HOME_ARM_RAD = (0.0, 0.2, 1.25, 1.25, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmSimConfig:
    """Randomization and task parameters of :class:`ArmSim`."""

    physics_dt_s: float = 0.002          # MuJoCo timestep, s
    cube_jitter_m: float = 0.02          # cube start: uniform +- this in x and y, m
    cube_yaw_jitter_rad: float = 0.3     # cube start yaw: uniform +- this, rad
    arm_jitter_rad: float = 0.2          # arm start: home pose + uniform +- this per joint, rad
    lift_height_m: float = 0.05          # success: cube centre this far above its rest, m
    randomize_appearance: bool = False   # jitter light, colours and camera pose on reset
    camera_jitter_m: float = 0.02        # with randomize_appearance: camera position +- m
    slew_limit: bool = True              # move targets at most max_velocity_rad_s per step
    cube_x_m: float | None = None        # nominal cube x (and its zone); None: the geometry's

    def __post_init__(self) -> None:
        if not 0.0005 <= self.physics_dt_s <= 0.01:
            msg = f'physics_dt_s must be in [0.0005, 0.01] s, got {self.physics_dt_s}'
            raise SimError(msg)
        for name in ('cube_jitter_m', 'cube_yaw_jitter_rad', 'arm_jitter_rad',
                     'camera_jitter_m'):
            if getattr(self, name) < 0:
                msg = f'{name} must be >= 0, got {getattr(self, name)}'
                raise SimError(msg)
        if self.cube_jitter_m > 0.08:
            msg = (f'cube_jitter_m must be <= 0.08 m (reach of the arm), got '
                   f'{self.cube_jitter_m}')
            raise SimError(msg)
        if self.cube_x_m is not None and not 0.2 <= self.cube_x_m <= 0.4:
            msg = f'cube_x_m must be in [0.2, 0.4] m (reach of the arm), got {self.cube_x_m}'
            raise SimError(msg)
        if self.lift_height_m <= 0:
            msg = f'lift_height_m must be > 0, got {self.lift_height_m}'
            raise SimError(msg)


#: Named variants of the cube-lift task (``task`` of ``sim_node``) -> ``ArmSimConfig`` fields.
#: ``lift_cube``: the easy smoke test (cube +- 2 cm: the wide gripper grasps it blind).
#: ``lift_cube_wide``: the cube anywhere in a 12 x 12 cm square (x 0.25..0.37 m, y +- 6 cm):
#: replaying the demos blind or seeing only the joints mostly misses; the policy must see it.
TASK_VARIANTS: dict[str, dict[str, float]] = {
    'lift_cube': {},
    'lift_cube_wide': {'cube_x_m': 0.31, 'cube_jitter_m': 0.06},
}


def task_sim_config(task: str = 'lift_cube', **overrides: Any) -> ArmSimConfig:
    """Return the :class:`ArmSimConfig` of a named task variant (see :data:`TASK_VARIANTS`).

    Args:
        task: ``lift_cube`` (easy smoke test) or ``lift_cube_wide`` (needs eyes).
        **overrides: Further ``ArmSimConfig`` fields (e.g. ``randomize_appearance=True``).

    Raises:
        SimError: Unknown task variant or invalid field.
    """
    if task not in TASK_VARIANTS:
        msg = f'unknown cube task {task!r}; known: {sorted(TASK_VARIANTS)}'
        raise SimError(msg)
    return ArmSimConfig(**{**TASK_VARIANTS[task], **overrides})


_LIVE: weakref.WeakSet[ArmSim] = weakref.WeakSet()
_ATEXIT: list[bool] = []


def _close_all() -> None:
    # Free GL contexts while EGL is still up: registered after MuJoCo's own EGL atexit hook,
    # so it runs before it (else every context's __del__ prints an EGLError at teardown).
    for sim in list(_LIVE):
        sim.close()


def _import_mujoco() -> Any:
    os.environ.setdefault('MUJOCO_GL', 'egl')
    if os.environ['MUJOCO_GL'] in ('egl', 'osmesa'):
        os.environ.setdefault('PYOPENGL_PLATFORM', os.environ['MUJOCO_GL'])
    try:
        import mujoco
    except ImportError as err:
        msg = f'mujoco is not installed ({err}); pip install "mujoco>=3.3,<3.9"'
        raise SimError(msg) from None
    return mujoco


class ArmSim:
    """The simulated 6-joint arm and the cube-lift task (see module docstring)."""

    task_state_names = TASK_STATE_NAMES

    def __init__(self, profile: RobotProfile, config: ArmSimConfig | None = None,
                 geometry: ArmGeometry | None = None) -> None:
        """Build the model from ``profile`` (joint names, limits, cameras, fps).

        Raises:
            SimError: The profile does not fit the model (joints, cameras) or MuJoCo fails.
        """
        self._mj = _import_mujoco()
        mj = self._mj
        self.profile = profile
        self.config = config or ArmSimConfig()
        self.geometry = geometry or ArmGeometry()
        if self.config.cube_x_m is not None:
            self.geometry = dataclasses.replace(self.geometry, cube_x_m=self.config.cube_x_m)
        self.joint_names = tuple(profile.joint_names)
        self.lower_rad = np.asarray(profile.limits.lower_rad, dtype=np.float64)
        self.upper_rad = np.asarray(profile.limits.upper_rad, dtype=np.float64)
        self.max_velocity_rad_s = np.asarray(profile.limits.max_velocity_rad_s, dtype=np.float64)
        self.control_period_s = 1.0 / profile.fps
        self.physics_dt_s = self.config.physics_dt_s
        max_hw = (max([c.height for c in profile.cameras], default=96),
                  max([c.width for c in profile.cameras], default=128))
        xml = build_mjcf(profile, self.geometry, max_image_hw=max_hw)
        try:
            self.model = mj.MjModel.from_xml_string(xml)
        except ValueError as err:
            msg = f'{profile.path or profile.name}: MuJoCo rejected the arm model: {err}'
            raise SimError(msg) from None
        self.model.opt.timestep = self.physics_dt_s
        self.data = mj.MjData(self.model)
        m = self.model
        self._qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in self.joint_names])
        self._dadr = np.array([m.jnt_dofadr[m.joint(n).id] for n in self.joint_names])
        self._act = np.array([m.actuator(n).id for n in self.joint_names])
        self._fing = [m.jnt_qposadr[m.joint(n).id] for n in ('finger_a', 'finger_b')]
        self._cube_body = m.body('cube').id
        self._cube_qadr = m.jnt_qposadr[m.joint('cube').id]
        self._cube_geom = m.geom('cube').id
        self._finger_geoms = {m.geom('finger_a').id, m.geom('finger_b').id}
        self.camera_names = tuple(c.name for c in profile.cameras)
        for cam in profile.cameras:
            if mj.mj_name2id(m, mj.mjtObj.mjOBJ_CAMERA, cam.name) < 0:
                msg = (f'{profile.path or profile.name}: camera {cam.name!r} is not in the sim '
                       f'model; it has front, top, wrist')
                raise SimError(msg)
        self._base_look = {
            'light_dir': m.light_dir.copy(), 'light_diffuse': m.light_diffuse.copy(),
            'mat_rgba': m.mat_rgba.copy(), 'cam_pos': m.cam_pos.copy(),
            'cam_quat': m.cam_quat.copy(),
        }
        g = self.geometry
        self.home_rad = np.zeros(len(self.joint_names))
        home5 = HOME_ARM_RAD
        for i, n in enumerate(('shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex',
                               'wrist_roll')):
            self.home_rad[self.joint_names.index(n)] = home5[i]
        self._grip_i = self.joint_names.index('gripper')
        self.home_rad[self._grip_i] = min(1.0, float(self.upper_rad[self._grip_i]))
        self._target = self.home_rad.copy()
        self._renderers: dict[tuple[int, int], Any] = {}
        self._cube_rest_z = g.cube_half_m
        self._steps = 0
        self._requested_s = 0.0
        self.clamp_count = 0
        self.last_clamp = ClampReport()
        self.seed: int | None = None
        self._rng = np.random.default_rng()
        self.reset(None)

    # --------------------------------------------------------------------------- episodes
    def reset(self, seed: int | None = None) -> dict[str, Any]:
        """Start a new episode from a randomized arm pose and cube position.

        Args:
            seed: Seed of this episode's randomization (``None``: continue the sim's stream).

        Returns:
            The first observation (see :meth:`observation`).
        """
        mj, m, d, cfg, g = self._mj, self.model, self.data, self.config, self.geometry
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.seed = seed
        rng = self._rng
        mj.mj_resetData(m, d)
        q0 = self.home_rad + rng.uniform(-cfg.arm_jitter_rad, cfg.arm_jitter_rad,
                                         len(self.joint_names))
        # the gripper starts open (a half-open gripper would look like one that is closing)
        q0[self._grip_i] = rng.uniform(0.95, 1.0) * self.home_rad[self._grip_i]
        q0 = np.clip(q0, self.lower_rad, self.upper_rad)
        d.qpos[self._qadr] = q0
        for adr in self._fing:
            d.qpos[adr] = g.finger_per_rad_m * q0[self._grip_i]
        cx = g.cube_x_m + rng.uniform(-cfg.cube_jitter_m, cfg.cube_jitter_m)
        cy = g.cube_y_m + rng.uniform(-cfg.cube_jitter_m, cfg.cube_jitter_m)
        yaw = rng.uniform(-cfg.cube_yaw_jitter_rad, cfg.cube_yaw_jitter_rad)
        a = self._cube_qadr
        d.qpos[a:a + 3] = (cx, cy, g.cube_half_m + 0.0005)
        d.qpos[a + 3:a + 7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
        d.ctrl[self._act] = q0
        self._target = q0.copy()
        if cfg.randomize_appearance:
            self._randomize_appearance(rng)
        mj.mj_forward(m, d)
        for _ in range(int(0.1 / self.physics_dt_s)):     # let the cube settle
            mj.mj_step(m, d)
        self._cube_rest_z = float(d.xpos[self._cube_body][2])
        d.time = 0.0
        self._steps = 0
        self._requested_s = 0.0
        return self.observation()

    def _randomize_appearance(self, rng: np.random.Generator) -> None:
        m, base, cfg = self.model, self._base_look, self.config
        m.light_dir[:] = base['light_dir'] + rng.uniform(-0.3, 0.3, base['light_dir'].shape)
        m.light_diffuse[:] = np.clip(base['light_diffuse'] * rng.uniform(0.6, 1.4), 0, 1)
        rgba = base['mat_rgba'].copy()
        rgba[:, :3] = np.clip(rgba[:, :3] + rng.uniform(-0.15, 0.15, rgba[:, :3].shape), 0, 1)
        m.mat_rgba[:] = rgba
        m.cam_pos[:] = base['cam_pos'] + rng.uniform(-cfg.camera_jitter_m, cfg.camera_jitter_m,
                                                     base['cam_pos'].shape)
        quat = base['cam_quat'] + rng.normal(0.0, 0.01, base['cam_quat'].shape)
        m.cam_quat[:] = quat / np.linalg.norm(quat, axis=1, keepdims=True)

    # --------------------------------------------------------------------------- control
    def set_command(self, cmd: Sequence[float] | NDArray[Any]) -> ClampReport:
        """Set the joint position target, clamped to the profile limits.

        Args:
            cmd: One position per joint, in profile order (rad).

        Returns:
            What the clamp changed (also counted in ``clamp_count``).

        Raises:
            SimError: ``cmd`` has the wrong number of values.
        """
        arr = np.asarray(cmd, dtype=np.float64).reshape(-1)
        if arr.size != len(self.joint_names):
            msg = (f'command has {arr.size} values, expected {len(self.joint_names)} '
                   f'({list(self.joint_names)})')
            raise SimError(msg)
        self._target, report = clamp_command(arr, self.lower_rad, self.upper_rad,
                                             self._target, self.joint_names)
        if report.changed:
            self.clamp_count += 1
            logger.debug('command %s', report.describe())
        self.last_clamp = report
        return report

    @property
    def target(self) -> NDArray[np.float64]:
        """Current (clamped) joint target, rad."""
        return self._target.copy()

    def advance(self, dt_s: float) -> int:
        """Step the physics so that simulated time grows by ``dt_s`` (whole steps).

        The requested time is accumulated exactly and the step count rounded from it, so
        advancing by 1/30 s alternates 17 and 16 steps of 2 ms and never drifts.
        """
        mj, m, d = self._mj, self.model, self.data
        self._requested_s += max(0.0, dt_s)
        goal = int(round(self._requested_s / self.physics_dt_s))
        n = max(0, goal - self._steps)
        act = self._act
        max_step = self.max_velocity_rad_s * self.physics_dt_s
        for _ in range(n):
            if self.config.slew_limit:
                cur = d.ctrl[act]
                d.ctrl[act] = cur + np.clip(self._target - cur, -max_step, max_step)
            else:
                d.ctrl[act] = self._target
            mj.mj_step(m, d)
        self._steps += n
        return n

    def step(self, cmd: Sequence[float] | NDArray[Any]) -> dict[str, Any]:
        """Command ``cmd``, advance one control period (1 / fps), return the observation."""
        self.set_command(cmd)
        self.advance(self.control_period_s)
        return self.observation()

    @property
    def time_s(self) -> float:
        """Simulated time since the last reset, s."""
        return self._steps * self.physics_dt_s

    @property
    def steps(self) -> int:
        """Physics steps since the last reset."""
        return self._steps

    # --------------------------------------------------------------------------- readout
    def joint_positions(self) -> NDArray[np.float64]:
        """Measured joint positions in profile order, rad."""
        return self.data.qpos[self._qadr].astype(np.float64)

    def joint_velocities(self) -> NDArray[np.float64]:
        """Measured joint velocities in profile order, rad/s."""
        return self.data.qvel[self._dadr].astype(np.float64)

    def observation(self, *, images: bool = True) -> dict[str, Any]:
        """Observation keyed by feature keys: state (float32) and one image per camera."""
        obs: dict[str, Any] = {OBS_STATE: self.joint_positions().astype(np.float32)}
        if images:
            for cam in self.profile.cameras:
                obs[image_key(cam.name)] = self.render(cam.name)
        return obs

    def _grasped(self) -> bool:
        d = self.data
        touching = set()
        for i in range(d.ncon):
            con = d.contact[i]
            g1, g2 = int(con.geom1), int(con.geom2)
            if g1 == self._cube_geom and g2 in self._finger_geoms:
                touching.add(g2)
            elif g2 == self._cube_geom and g1 in self._finger_geoms:
                touching.add(g1)
        return len(touching) == 2

    def lift_m(self) -> float:
        """Height of the cube centre above its resting height, m."""
        return float(self.data.xpos[self._cube_body][2]) - self._cube_rest_z

    def success(self) -> bool:
        """True when the cube is held between both fingers at least ``lift_height_m`` up."""
        return self.lift_m() >= self.config.lift_height_m and self._grasped()

    def task_state(self) -> NDArray[np.float64]:
        """Privileged state laid out as :data:`TASK_STATE_NAMES`."""
        d, a = self.data, self._cube_qadr
        pos = d.xpos[self._cube_body]
        w, x, y, z = (float(v) for v in d.qpos[a + 3:a + 7])
        grasped = self._grasped()
        lift = self.lift_m()
        ok = lift >= self.config.lift_height_m and grasped
        return np.array([pos[0], pos[1], pos[2], yaw_of_quat(w, x, y, z), self._cube_rest_z,
                         lift, float(grasped), float(ok)], dtype=np.float64)

    # --------------------------------------------------------------------------- rendering
    def render(self, camera: str | None = None, *, height: int | None = None,
               width: int | None = None) -> NDArray[np.uint8]:
        """Render ``camera`` (default: the profile's first camera, else ``front``).

        Returns:
            HxWx3 uint8 RGB, at the profile camera's size unless ``height``/``width`` given.

        Raises:
            SimError: Unknown camera, or no OpenGL context (set ``MUJOCO_GL=egl|osmesa``).
        """
        mj = self._mj
        spec = next((c for c in self.profile.cameras if camera in (None, c.name)), None)
        name = camera or (spec.name if spec else 'front')
        h = height or (spec.height if spec else 96)
        w = width or (spec.width if spec else 128)
        if mj.mj_name2id(self.model, mj.mjtObj.mjOBJ_CAMERA, name) < 0:
            msg = f'camera {name!r} is not in the sim model; it has front, top, wrist'
            raise SimError(msg)
        renderer = self._renderers.get((h, w))
        if renderer is None:
            glob = self.model.vis.global_
            glob.offwidth, glob.offheight = max(glob.offwidth, w), max(glob.offheight, h)
            try:
                renderer = mj.Renderer(self.model, height=h, width=w)
            except Exception as err:  # noqa: BLE001 - GL back ends raise assorted errors
                msg = (f'cannot create a MuJoCo renderer with MUJOCO_GL='
                       f'{os.environ.get("MUJOCO_GL")!r}: {err}; try MUJOCO_GL=egl or osmesa')
                raise SimError(msg) from None
            flags = renderer.scene.flags
            flags[mj.mjtRndFlag.mjRND_SHADOW] = 0
            flags[mj.mjtRndFlag.mjRND_REFLECTION] = 0
            flags[mj.mjtRndFlag.mjRND_SKYBOX] = 0
            self._renderers[(h, w)] = renderer
            _LIVE.add(self)
            if not _ATEXIT:
                atexit.register(_close_all)
                _ATEXIT.append(True)
        renderer.update_scene(self.data, camera=name)
        return renderer.render()

    def close(self) -> None:
        """Free the renderers (the OpenGL contexts)."""
        renderers = list(self._renderers.values())
        self._renderers.clear()
        for r in renderers:
            try:
                r.close()
            except Exception as err:  # noqa: BLE001 - GL teardown errors are not actionable
                logger.debug('closing a renderer failed: %s', err)

    def __enter__(self) -> ArmSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
