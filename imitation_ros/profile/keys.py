"""Dataset feature keys, as lerobot spells them. Never spell these strings inline elsewhere."""
from __future__ import annotations

OBS_STR = 'observation'
OBS_STATE = OBS_STR + '.state'
OBS_IMAGES = OBS_STR + '.images'
OBS_ENV_STATE = OBS_STR + '.environment_state'   # privileged object pose (simulators only)
ACTION = 'action'
TASK = 'task'


def image_key(camera: str) -> str:
    """Return the feature key of a camera, e.g. ``observation.images.front``."""
    return f'{OBS_IMAGES}.{camera}'
