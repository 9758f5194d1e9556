"""BC's spatial-softmax image encoder and the random-shift augmentation.

Regressions pinned:
- a spatial softmax returns the image position of a channel's peak, in [-1, 1] (x right,
  y down), so the encoder can say *where* the cube is (global pooling cannot);
- the encoder's output depends on where an object is, and BCConfig validates its fields;
- ``image_encoder='avgpool'`` still builds the older encoder (older checkpoints load);
- random shift moves whole images by whole pixels within +- pad, shares the shift between a
  sample's observation steps, keeps shape and values, and is reproducible per seed.
"""
from __future__ import annotations

import pytest
import torch

from imitation_ros.errors import ConfigError
from imitation_ros.learn.augment import AugmentConfig, augment_images, random_shift
from imitation_ros.learn.bc.modeling_bc import ImageEncoder, SpatialSoftmax, SpatialSoftmaxEncoder

torch.set_num_threads(1)


def test_spatial_softmax_finds_the_peak() -> None:
    ss = SpatialSoftmax(12, 16)
    maps = torch.full((1, 2, 12, 16), -50.0)
    maps[0, 0, 3, 12] = 50.0          # row 3, column 12
    maps[0, 1, 9, 1] = 50.0
    with torch.no_grad():
        kp = ss(maps)[0]
    assert float(kp[0, 0]) == pytest.approx(-1 + 2 * 12 / 15, abs=1e-3)
    assert float(kp[0, 1]) == pytest.approx(-1 + 2 * 3 / 11, abs=1e-3)
    assert float(kp[1, 0]) == pytest.approx(-1 + 2 * 1 / 15, abs=1e-3)
    assert float(kp[1, 1]) == pytest.approx(-1 + 2 * 9 / 11, abs=1e-3)


def test_encoder_output_depends_on_where_the_object_is() -> None:
    torch.manual_seed(0)
    enc = SpatialSoftmaxEncoder(3, (48, 64), (8, 8, 8), 4, 8, downsample=2)
    a = torch.zeros(1, 3, 48, 64)
    b = torch.zeros(1, 3, 48, 64)
    a[..., 10:16, 10:16] = 1.0
    b[..., 30:36, 44:50] = 1.0
    with torch.no_grad():
        ka, kb = enc.keypoints_xy(a), enc.keypoints_xy(b)
        feat = enc(a)
    assert ka.shape == (1, 4, 2)
    assert float((ka - kb).abs().max()) > 0.05
    assert feat.shape == (1, 8)


def test_bc_config_encoders_and_validation() -> None:
    from lerobot.configs.types import FeatureType, PolicyFeature

    from imitation_ros.learn.bc import BCConfig
    from imitation_ros.learn.bc.modeling_bc import BCPolicy

    feats = {'observation.state': PolicyFeature(type=FeatureType.STATE, shape=(6,)),
             'observation.images.front': PolicyFeature(type=FeatureType.VISUAL,
                                                       shape=(3, 96, 128))}
    out = {'action': PolicyFeature(type=FeatureType.ACTION, shape=(6,))}
    pol = BCPolicy(BCConfig(input_features=feats, output_features=out))
    assert isinstance(pol.encoders['observation_images_front'], SpatialSoftmaxEncoder)
    old = BCPolicy(BCConfig(input_features=feats, output_features=out,
                            image_encoder='avgpool', cnn_channels=(8, 16)))
    assert isinstance(old.encoders['observation_images_front'], ImageEncoder)
    batch = {'observation.state': torch.zeros(2, 6),
             'observation.images.front': torch.rand(2, 3, 96, 128)}
    assert pol.predict_action_chunk(batch).shape == (2, 1, 6)
    with pytest.raises(ValueError, match='image_encoder'):
        BCConfig(image_encoder='resnet')
    with pytest.raises(ValueError, match='image_downsample'):
        BCConfig(image_downsample=0)


def test_random_shift_moves_by_whole_pixels_within_pad() -> None:
    x = torch.zeros(64, 1, 20, 20)
    x[:, :, 10, 10] = 1.0
    out = random_shift(x, 3, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.allclose(out.sum(dim=(1, 2, 3)), torch.ones(64))   # one whole pixel moved
    pos = out[:, 0].flatten(1).argmax(dim=1)
    rows, cols = pos // 20, pos % 20
    assert int((rows - 10).abs().max()) <= 3 and int((cols - 10).abs().max()) <= 3
    assert len({(int(r), int(c)) for r, c in zip(rows, cols)}) > 10   # really random


def test_random_shift_shared_by_steps_and_reproducible() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 2, 3, 24, 32, generator=g)
    x[:, 1] = x[:, 0]
    cfg = AugmentConfig(brightness=0, contrast=0, saturation=0, hue=0, degrees=0,
                        translate=0, shift_px=4)
    a = augment_images(x, cfg, torch.Generator().manual_seed(5))
    b = augment_images(x, cfg, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.equal(a[:, 0], a[:, 1])
    assert not torch.equal(a, x)
    with pytest.raises(ConfigError, match='shift_px'):
        AugmentConfig(shift_px=-1)
