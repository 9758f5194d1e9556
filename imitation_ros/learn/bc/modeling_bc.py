"""Behaviour Cloning policy: MLP on the state plus a small CNN encoder per camera.

Two camera encoders (``BCConfig.image_encoder``):

* ``spatial_softmax`` (default): a few convolutions keep a feature map at 1/4 resolution, a
  1x1 convolution turns it into ``num_keypoints`` heat maps, and a spatial softmax reads each
  map's expected (x, y) position: the encoder outputs *where* things are (the cube, the
  fingers), which is what a grasp needs (robomimic / Diffusion Policy's visual encoder, made
  small enough for a CPU).
* ``avgpool``: stride-2 convolutions and global average pooling (position-blind; kept for
  older checkpoints and comparisons).
"""
from __future__ import annotations

from collections import deque

import torch
import torch.nn.functional as F  # noqa: N812
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.utils.constants import ACTION, OBS_STATE
from torch import Tensor, nn

from imitation_ros.learn.bc.configuration_bc import BCConfig


class ImageEncoder(nn.Module):
    """Stride-2 conv stack with GroupNorm, global average pooling and a linear projection."""

    def __init__(self, in_channels: int, channels: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_channels
        for ch in channels:
            layers += [
                nn.Conv2d(prev, ch, kernel_size=3, stride=2, padding=1),
                nn.GroupNorm(num_groups=min(8, ch), num_channels=ch),
                nn.ReLU(inplace=True),
            ]
            prev = ch
        self.convs = nn.Sequential(*layers)
        self.proj = nn.Linear(prev, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C, H, W) normalized images to (B, out_dim) features."""
        return F.relu(self.proj(self.convs(x).mean(dim=(2, 3))))


class SpatialSoftmax(nn.Module):
    """Expected (x, y) position of each channel's softmax in [-1, 1] (learned temperature)."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1.0, 1.0, height),
                                torch.linspace(-1.0, 1.0, width), indexing='ij')
        self.register_buffer('pos', torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1),
                             persistent=False)
        self.log_temperature = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, K, H, W) heat maps to (B, K, 2) keypoints."""
        b, k, h, w = x.shape
        attn = torch.softmax(x.reshape(b, k, h * w) / self.log_temperature.exp(), dim=-1)
        return attn @ self.pos


class SpatialSoftmaxEncoder(nn.Module):
    """(Average-pool by ``downsample``) -> conv stack at 1/4 of that -> 1x1 conv to keypoint
    maps -> spatial softmax -> linear."""

    def __init__(self, in_channels: int, image_hw: tuple[int, int], channels: tuple[int, ...],
                 num_keypoints: int, out_dim: int, downsample: int = 1) -> None:
        super().__init__()
        self.downsample = max(1, int(downsample))
        layers: list[nn.Module] = []
        prev = in_channels
        for i, ch in enumerate(channels):
            # first layer 5x5 stride 2, every second layer after it stride 2: total /4
            stride = 2 if i in (0, 2) else 1
            kernel = 5 if i == 0 else 3
            layers += [
                nn.Conv2d(prev, ch, kernel_size=kernel, stride=stride, padding=kernel // 2),
                nn.GroupNorm(num_groups=min(8, ch), num_channels=ch),
                nn.ReLU(inplace=True),
            ]
            prev = ch
        self.convs = nn.Sequential(*layers)
        self.keypoints = nn.Conv2d(prev, num_keypoints, kernel_size=1)
        with torch.no_grad():
            h, w = self.convs(self._shrink(torch.zeros(1, in_channels, *image_hw))).shape[-2:]
        self.softmax = SpatialSoftmax(int(h), int(w))
        self.proj = nn.Linear(2 * num_keypoints, out_dim)

    def _shrink(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.downsample) if self.downsample > 1 else x

    def keypoints_xy(self, x: Tensor) -> Tensor:
        """Return (B, K, 2) keypoints in [-1, 1] image coordinates (x right, y down)."""
        return self.softmax(self.keypoints(self.convs(self._shrink(x))))

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C, H, W) normalized images to (B, out_dim) features."""
        return F.relu(self.proj(self.keypoints_xy(x).flatten(1)))


class BCPolicy(PreTrainedPolicy):
    """Regress a chunk of ``chunk_size`` actions from one observation."""

    config_class = BCConfig
    name = 'bc'

    def __init__(self, config: BCConfig, **kwargs: object) -> None:
        super().__init__(config)
        config.validate_features()
        self.config = config
        self.encoders = nn.ModuleDict()
        in_dim = 0
        for key, ft in config.image_features.items():
            enc: nn.Module
            if config.image_encoder == 'spatial_softmax':
                enc = SpatialSoftmaxEncoder(
                    ft.shape[0], (ft.shape[1], ft.shape[2]), tuple(config.cnn_channels),
                    config.num_keypoints, config.image_feature_dim,
                    downsample=config.image_downsample)
            else:
                enc = ImageEncoder(ft.shape[0], tuple(config.cnn_channels),
                                   config.image_feature_dim)
            self.encoders[key.replace('.', '_')] = enc
            in_dim += config.image_feature_dim
        if config.robot_state_feature is not None:
            in_dim += config.robot_state_feature.shape[0]
        self.action_dim = config.action_feature.shape[0]
        layers: list[nn.Module] = []
        prev = in_dim
        for width in config.hidden_dims:
            layers += [nn.Linear(prev, width), nn.ReLU(inplace=True)]
            if config.dropout > 0:
                layers.append(nn.Dropout(config.dropout))
            prev = width
        layers.append(nn.Linear(prev, config.chunk_size * self.action_dim))
        self.head = nn.Sequential(*layers)
        self.reset()

    def get_optim_params(self) -> dict:
        return self.parameters()

    def reset(self) -> None:
        """Clear the queue of actions kept between ``select_action`` calls."""
        self._action_queue: deque[Tensor] = deque([], maxlen=self.config.n_action_steps)

    def _features(self, batch: dict[str, Tensor]) -> Tensor:
        parts = []
        if self.config.robot_state_feature is not None:
            parts.append(batch[OBS_STATE])
        for key in self.config.image_features:
            parts.append(self.encoders[key.replace('.', '_')](batch[key]))
        return torch.cat(parts, dim=-1)

    def _predict(self, batch: dict[str, Tensor]) -> Tensor:
        out = self.head(self._features(batch))
        return out.view(out.shape[0], self.config.chunk_size, self.action_dim)

    @torch.no_grad()
    def predict_action_chunk(self, batch: dict[str, Tensor], **kwargs: object) -> Tensor:
        """Return (B, chunk_size, action_dim) normalized actions."""
        self.eval()
        return self._predict(batch)

    @torch.no_grad()
    def select_action(self, batch: dict[str, Tensor], **kwargs: object) -> Tensor:
        """Return one action, running the model once every ``n_action_steps`` calls."""
        self.eval()
        if len(self._action_queue) == 0:
            actions = self._predict(batch)[:, : self.config.n_action_steps]
            self._action_queue.extend(actions.transpose(0, 1))
        return self._action_queue.popleft()

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict]:
        """Return the regression loss on the non-padded actions of the chunk."""
        pred = self._predict(batch)
        target = batch[ACTION]
        if target.ndim == 2:
            target = target.unsqueeze(1)
        if self.config.loss == 'mse':
            err = F.mse_loss(pred, target, reduction='none')
        else:
            err = F.l1_loss(pred, target, reduction='none')
        pad = batch.get('action_is_pad')
        if pad is not None:
            mask = (~pad).unsqueeze(-1).to(err.dtype)
            loss = (err * mask).sum() / (mask.sum() * err.shape[-1]).clamp_min(1.0)
        else:
            loss = err.mean()
        return loss, {}   # no .item() here: it would force a device sync every step
