"""The ACT paper's bimanual ALOHA tasks (gym-aloha, MuJoCo) behind the same sim API.

Optional and heavier than the CI task: ``pip install "imitation_ros[aloha]"`` (gym-aloha
0.1.5, which needs ``mujoco>=3.0,<3.9``). ``gym_aloha`` is imported only when an ALOHA sim
is made; without it :func:`make_aloha_sim` raises a SimError with the install command.

Joints: the 14 of ``gym_aloha.constants.JOINTS`` (two 6-joint ViperX arms in rad plus a
normalized gripper each, 0 closed .. 1 open), as published on ``/joint_states``; commands are
the same 14 absolute targets (the env's action). Success is gym-aloha's: reward 4, i.e. the
cube was handed over and is off the table (transfer) or the peg is in the socket (insertion).
Rendering switches off anti-aliasing and shadows and renders only the ``top`` camera, at the
profile camera's size and only when an image is asked for (gym-aloha renders three 480x640
cameras on every step otherwise); the ``top`` image is published under the profile's camera
name.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.errors import SimError
from imitation_ros.sim.gym_adapter import GymAdapter, GymSim

if TYPE_CHECKING:
    from collections.abc import Sequence

INSTALL = 'pip install "gym-aloha==0.1.5"   (needs mujoco>=3.0,<3.9)'

#: Task names accepted by :func:`make_aloha_sim` -> gymnasium id.
ALOHA_TASKS = {
    'aloha_transfer_cube': 'gym_aloha/AlohaTransferCube-v0',
    'aloha_insertion': 'gym_aloha/AlohaInsertion-v0',
}

_ARM = ('waist', 'shoulder', 'elbow', 'forearm_roll', 'wrist_angle', 'wrist_rotate', 'gripper')
#: Joint names as gym-aloha orders them (left arm, then right arm).
ALOHA_JOINTS = tuple(f'{side}_arm_{j}' for side in ('left', 'right') for j in _ARM)
_LOWER = tuple(0.0 if j == 'gripper' else -math.pi for _ in range(2) for j in _ARM)
_UPPER = tuple(1.0 if j == 'gripper' else math.pi for _ in range(2) for j in _ARM)


def _state(obs: Any) -> tuple[Any, Any]:
    return np.asarray(obs['agent_pos'], dtype=np.float64), None


def _success(obs: Any, reward: float, terminated: bool, info: dict[str, Any]) -> bool:
    del obs, terminated
    return bool(info.get('is_success', reward >= 4))


class _TopCamera:
    """Renders gym-aloha's ``top`` camera with a plain ``mujoco.Renderer`` when asked.

    dm_control's ``physics.render`` builds a new scene on every call (~10x slower).
    """

    def __init__(self) -> None:
        self._renderers: dict[tuple[int, int], Any] = {}

    def __call__(self, env: Any, obs: Any, height: int, width: int) -> Any:
        import mujoco

        del obs
        physics = env.unwrapped._env.physics   # noqa: SLF001 - the only handle to the model
        renderer = self._renderers.get((height, width))
        if renderer is None:
            model = physics.model.ptr
            model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
            model.vis.global_.offheight = max(model.vis.global_.offheight, height)
            renderer = mujoco.Renderer(model, height=height, width=width)
            for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION,
                         mujoco.mjtRndFlag.mjRND_SKYBOX):
                renderer.scene.flags[flag] = 0
            self._renderers[(height, width)] = renderer
        renderer.update_scene(physics.data.ptr, camera='top')
        return renderer.render()

    def close(self) -> None:
        """Free the renderers' GL contexts."""
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()


def _task_state(obs: Any) -> Any:
    del obs
    return np.zeros(0)


def aloha_adapter(*, height: int = 480, width: int = 640) -> GymAdapter:
    """Adapter of gym-aloha's environments (``obs_type='pixels_agent_pos'``)."""
    return GymAdapter(
        joint_names=ALOHA_JOINTS, state_from_obs=_state, success_from=_success,
        task_state_from=_task_state, image_from=_TopCamera(), lower_rad=_LOWER,
        upper_rad=_UPPER,
        fps=50.0,
        make_kwargs={'obs_type': 'pixels_agent_pos', 'observation_height': height,
                     'observation_width': width},
    )


def make_aloha_sim(task: str = 'aloha_transfer_cube', *,
                   cameras: Sequence[tuple[str, int, int]] = (('top', 480, 640),)) -> GymSim:
    """Make an ALOHA task as a :class:`GymSim`.

    Args:
        task: A key of :data:`ALOHA_TASKS`.
        cameras: (name, height, width); the first sets the rendered size of gym-aloha's
            ``top`` camera (every name shows that camera).

    Raises:
        SimError: gym-aloha is not installed (the message gives the install command), or the
            task is unknown.
    """
    if task not in ALOHA_TASKS:
        msg = f'unknown ALOHA task {task!r}; use one of {sorted(ALOHA_TASKS)}'
        raise SimError(msg)
    try:
        import gym_aloha  # noqa: F401 - registers the environments
        import gymnasium as gym
    except ImportError as err:
        msg = f'the ALOHA task needs gym-aloha, which is not installed ({err}); {INSTALL}'
        raise SimError(msg) from None
    h, w = (cameras[0][1], cameras[0][2]) if cameras else (480, 640)
    adapter = aloha_adapter(height=h, width=w)
    try:
        env = gym.make(ALOHA_TASKS[task], **(adapter.make_kwargs or {}))
    except Exception as err:  # noqa: BLE001 - dm_control/mujoco raise many kinds
        msg = f'gym-aloha cannot make {ALOHA_TASKS[task]}: {err}'
        raise SimError(msg) from None
    dm_env = env.unwrapped._env            # noqa: SLF001 - the only handle to the model
    physics = dm_env.physics
    physics.model.vis.quality.offsamples = 0
    physics.model.vis.quality.shadowsize = 0
    physics.model.light_castshadow[:] = 0
    dm_env.task.get_observation = _top_camera_only(dm_env.task, h, w)
    return GymSim(env, adapter, cameras=cameras)


def _top_camera_only(task: Any, height: int, width: int) -> Any:
    """gym-aloha renders three 480x640 cameras on every step: render none there.

    Same keys as ``BimanualViperXTask.get_observation`` (qpos, qvel, env_state, images.top);
    ``images.top`` is a blank frame, and :class:`_TopCamera` renders the camera only when one
    is asked for (30 Hz in sim_node instead of 3 cameras at 50 Hz).
    """
    blank = np.zeros((height, width, 3), dtype=np.uint8)

    def get_observation(physics: Any) -> Any:
        return {'qpos': task.get_qpos(physics), 'qvel': task.get_qvel(physics),
                'env_state': task.get_env_state(physics), 'images': {'top': blank}}

    return get_observation
