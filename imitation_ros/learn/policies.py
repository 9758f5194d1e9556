"""Policy types, their defaults for 50-500 demonstrations, and dataset feature checks.

Defaults (override any lerobot config field with ``overrides``):

* ``act``: chunk_size 32 = n_action_steps, dim_model 256, 4 encoder / 1 decoder layers,
  resnet18 backbone *untrained* (``pretrained_backbone_weights=None``), lr 1e-4 (backbone 1e-5).
* ``diffusion``: horizon 16, n_obs_steps 2, n_action_steps 8, down_dims (128, 256, 512),
  100 warm-up steps, DDIM with 10 inference steps (fast enough for a CPU control loop).
* ``bc``: our ``BCConfig`` (MLP 256x256, CNN 32/64/128 per camera), one action per call.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from imitation_ros.errors import DatasetError, TrainError
from imitation_ros.profile.keys import ACTION, OBS_IMAGES, OBS_STATE

if TYPE_CHECKING:
    from lerobot.configs.policies import PreTrainedConfig

logger = logging.getLogger(__name__)

PolicyName = Literal['bc', 'act', 'diffusion']
POLICY_NAMES: tuple[str, ...] = ('bc', 'act', 'diffusion')

#: Our defaults per policy type (lerobot field -> value), sized for 50-500 demonstrations.
POLICY_DEFAULTS: dict[str, dict[str, Any]] = {
    'act': {
        'chunk_size': 32,
        'n_action_steps': 32,
        'dim_model': 256,
        'n_heads': 8,
        'dim_feedforward': 1024,
        'n_encoder_layers': 4,
        'n_decoder_layers': 1,
        'n_vae_encoder_layers': 4,
        'vision_backbone': 'resnet18',
        'pretrained_backbone_weights': None,
        'optimizer_lr': 1e-4,
        'optimizer_lr_backbone': 1e-5,
    },
    'diffusion': {
        'horizon': 16,
        'n_obs_steps': 2,
        'n_action_steps': 8,
        'down_dims': (128, 256, 512),
        'scheduler_warmup_steps': 100,
        'noise_scheduler_type': 'DDIM',
        'num_inference_steps': 10,
        'pretrained_backbone_weights': None,
    },
    'bc': {},
}


def ensure_registered() -> None:
    """Import the BC configuration so lerobot knows the policy type ``bc``."""
    import imitation_ros.learn.bc.configuration_bc  # noqa: F401


def image_keys(features: dict[str, dict[str, Any]]) -> list[str]:
    """Return the camera feature keys (``observation.images.*``) of a features dict, sorted."""
    return sorted(k for k, ft in features.items()
                  if k.startswith(OBS_IMAGES + '.') and ft.get('dtype') in ('image', 'video'))


def check_features(policy: str, features: dict[str, dict[str, Any]], dataset: str | Path) -> None:
    """Check that a dataset carries what ``policy`` needs, before anything is built.

    Args:
        policy: ``bc``, ``act`` or ``diffusion``.
        features: The dataset's lerobot features dict (``meta/info.json``).
        dataset: The dataset root, named in the error.

    Raises:
        DatasetError: Naming the dataset and the missing or malformed feature.
    """
    if policy not in POLICY_NAMES:
        msg = f'unknown policy {policy!r}; choose one of {list(POLICY_NAMES)}'
        raise TrainError(msg)
    for key in (OBS_STATE, ACTION):
        ft = features.get(key)
        if ft is None:
            msg = (f'{dataset}: feature {key!r} is missing (policy {policy!r} needs it); '
                   f'features present: {sorted(features)}')
            raise DatasetError(msg)
        shape = tuple(ft.get('shape', ()))
        if ft.get('dtype') not in ('float32', 'float64') or len(shape) != 1 or shape[0] < 1:
            msg = (f"{dataset}: feature {key!r} must be a float32 vector (one value per joint); "
                   f"got dtype {ft.get('dtype')!r} shape {shape}")
            raise DatasetError(msg)
    cams = image_keys(features)
    for key in cams:
        shape = tuple(features[key].get('shape', ()))
        if len(shape) != 3 or shape[2] != 3:
            msg = f'{dataset}: feature {key!r} must be an HxWx3 image, got shape {shape}'
            raise DatasetError(msg)
    if policy in ('act', 'diffusion') and not cams:
        msg = (f'{dataset}: policy {policy!r} needs at least one camera feature '
               f"'{OBS_IMAGES}.<camera>' (image or video); the dataset has none. "
               "Use --policy bc for state-only datasets.")
        raise DatasetError(msg)
    if policy == 'diffusion' and len({tuple(features[k]['shape']) for k in cams}) > 1:
        shapes = {k: tuple(features[k]['shape']) for k in cams}
        msg = f'{dataset}: diffusion needs all cameras of one shape, got {shapes}'
        raise DatasetError(msg)


def make_policy_config(
    policy: str,
    features: dict[str, dict[str, Any]],
    *,
    device: str,
    overrides: dict[str, Any] | None = None,
) -> PreTrainedConfig:
    """Build the lerobot config of ``policy`` for a dataset, with our defaults.

    Args:
        policy: ``bc``, ``act`` or ``diffusion``.
        features: The dataset's lerobot features dict; state, images and action are used.
        device: Torch device string.
        overrides: lerobot config fields to set on top of our defaults.

    Returns:
        The config, with ``input_features``/``output_features`` filled.

    Raises:
        TrainError: On an unknown field or a value lerobot rejects.
    """
    from lerobot.configs.types import FeatureType
    from lerobot.datasets.utils import dataset_to_policy_features
    from lerobot.policies.factory import make_policy_config as lerobot_make_config

    ensure_registered()
    keep = {OBS_STATE, ACTION, *image_keys(features)}
    used = {k: v for k, v in features.items() if k in keep}
    pf = dataset_to_policy_features(used)
    kwargs = dict(POLICY_DEFAULTS[policy])
    kwargs.update(overrides or {})
    try:
        from lerobot.configs.policies import PreTrainedConfig

        cls = PreTrainedConfig.get_choice_class(policy)
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(kwargs) - names)
        if bad:
            msg = f'policy {policy!r}: unknown config field(s) {bad}; see {cls.__name__}'
            raise TrainError(msg)
        for key, value in kwargs.items():
            if isinstance(value, list):
                kwargs[key] = tuple(value)
        cfg = lerobot_make_config(policy, device=device, **kwargs)
    except (ValueError, TypeError, NotImplementedError) as err:
        msg = f'policy {policy!r}: invalid configuration {kwargs}: {err}'
        raise TrainError(msg) from err
    cfg.output_features = {k: ft for k, ft in pf.items() if ft.type is FeatureType.ACTION}
    cfg.input_features = {k: ft for k, ft in pf.items() if k not in cfg.output_features}
    try:
        cfg.validate_features()
    except ValueError as err:
        msg = f'policy {policy!r}: {err}'
        raise TrainError(msg) from err
    return cfg


def config_summary(cfg: PreTrainedConfig) -> dict[str, Any]:
    """Return the scalar fields of a policy config (for logs and the run file)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if isinstance(value, (int, float, str, bool, tuple, type(None))):
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out
