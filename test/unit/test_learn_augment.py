"""Augmentation on batches: shapes and ranges kept, images changed, state noise sigma 0.01.

Regressions pinned:
- augmentation must not modify the input batch in place;
- a sample's observation steps share one set of augmentation parameters;
- the same generator seed gives the same augmentation (resumable runs).
"""
from __future__ import annotations

import pytest
import torch

from imitation_ros.errors import ConfigError
from imitation_ros.learn.augment import AugmentConfig, augment_batch, augment_images
from imitation_ros.profile.keys import OBS_STATE, image_key

torch.set_num_threads(1)
CAM = image_key('front')


def _batch(b: int = 8, steps: int | None = None) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    shape = (b, 3, 24, 32) if steps is None else (b, steps, 3, 24, 32)
    return {CAM: torch.rand(shape, generator=g), OBS_STATE: torch.zeros(b, 6)}


def test_images_change_but_keep_shape_and_range() -> None:
    batch = _batch()
    before = batch[CAM].clone()
    out = augment_batch(batch, AugmentConfig(), torch.Generator().manual_seed(0))
    assert out[CAM].shape == before.shape
    assert out[CAM].dtype == torch.float32
    assert float(out[CAM].min()) >= 0.0 and float(out[CAM].max()) <= 1.0
    assert float((out[CAM] - before).abs().mean()) > 0.01
    assert torch.equal(batch[CAM], before), 'input batch was modified in place'


def test_same_seed_same_result_and_steps_share_parameters() -> None:
    batch = _batch(4, steps=2)
    batch[CAM][:, 1] = batch[CAM][:, 0]          # identical frames in both steps
    a = augment_batch(batch, AugmentConfig(), torch.Generator().manual_seed(5))
    b = augment_batch(batch, AugmentConfig(), torch.Generator().manual_seed(5))
    assert torch.equal(a[CAM], b[CAM])
    assert torch.allclose(a[CAM][:, 0], a[CAM][:, 1], atol=1e-6)


def test_state_noise_sigma() -> None:
    batch = {OBS_STATE: torch.zeros(20000, 6)}
    out = augment_batch(batch, AugmentConfig(), torch.Generator().manual_seed(0))
    std = float(out[OBS_STATE].std())
    assert 0.009 < std < 0.011
    assert abs(float(out[OBS_STATE].mean())) < 0.001


def test_switched_off() -> None:
    batch = _batch()
    cfg = AugmentConfig(images=False, state_noise_std=0.0)
    out = augment_batch(batch, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(out[CAM], batch[CAM]) and torch.equal(out[OBS_STATE], batch[OBS_STATE])


def test_identity_parameters_keep_image() -> None:
    x = _batch()[CAM]
    cfg = AugmentConfig(brightness=0, contrast=0, saturation=0, hue=0, degrees=0, translate=0,
                        shift_px=0)
    assert torch.equal(augment_images(x, cfg, torch.Generator()), x)


def test_default_is_a_random_shift_scaled_to_the_image() -> None:
    """Defaults: no rotation or affine; a whole-pixel shift of up to 4 % of the smaller side."""
    from imitation_ros.learn.augment import shift_pixels

    cfg = AugmentConfig()
    assert cfg.degrees == 0 and cfg.translate == 0 and cfg.hue == 0
    assert shift_pixels(cfg, 96, 128) == 4 and shift_pixels(cfg, 480, 640) == 19
    assert shift_pixels(cfg, 10, 10) == 1 and shift_pixels(AugmentConfig(shift_px=0), 96, 128) == 0
    only_shift = AugmentConfig(brightness=0, contrast=0, saturation=0)
    x = torch.zeros(64, 3, 96, 128)
    x[:, :, 40:56, 60:76] = 1.0                         # a bright square
    out = augment_images(x, only_shift, torch.Generator().manual_seed(0))
    rows = out[:, 0].amax(dim=2).argmax(dim=1) - 40     # top edge moved by the shift
    cols = out[:, 0].amax(dim=1).argmax(dim=1) - 60
    assert rows.abs().max() <= 4 and cols.abs().max() <= 4
    assert len(set(rows.tolist())) > 3                  # shifts differ per sample
    assert torch.equal(out.sum(dim=(1, 2, 3)), x.sum(dim=(1, 2, 3)))   # moved, not blurred


@pytest.mark.parametrize('field,value', [('hue', 0.7), ('brightness', -0.1), ('translate', 0.6)])
def test_bad_config(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        AugmentConfig(**{field: value})
