"""Configuration of the Behaviour Cloning policy (lerobot policy type ``bc``)."""
from __future__ import annotations

from dataclasses import dataclass, field

from lerobot.configs.policies import PreTrainedConfig
from lerobot.configs.types import NormalizationMode
from lerobot.optim.optimizers import AdamWConfig


@PreTrainedConfig.register_subclass('bc')
@dataclass
class BCConfig(PreTrainedConfig):
    """Behaviour Cloning: an MLP on the state, plus a small CNN per camera when there are images.

    The policy regresses the next ``chunk_size`` actions from the current observation
    (``chunk_size=1``: plain single-step BC).

    Args:
        n_obs_steps: Observation steps fed to the policy (only 1 is supported).
        chunk_size: Actions predicted per call.
        n_action_steps: Actions executed per call by ``select_action``; at most ``chunk_size``.
        normalization_mapping: Normalization per feature type.
        hidden_dims: Widths of the MLP head.
        image_encoder: ``'spatial_softmax'`` (keypoints: where things are; default) or
            ``'avgpool'`` (global average pooling; the encoder of older checkpoints).
        cnn_channels: Output channels of the conv layers of each camera encoder
            (``spatial_softmax``: strides 2, 1, 2, 1, ...; ``avgpool``: all stride 2).
        num_keypoints: Keypoints (spatial-softmax channels) per camera.
        image_downsample: ``spatial_softmax``: average-pool the image by this factor first
            (2: 96x128 -> 48x64, 4x cheaper; a 4 cm cube stays ~5 px wide).
        image_feature_dim: Size of each camera's embedding.
        dropout: Dropout in the MLP head.
        loss: ``'mse'`` or ``'l1'`` regression loss on normalized actions.
        optimizer_lr: AdamW learning rate.
        optimizer_weight_decay: AdamW weight decay.
        optimizer_grad_clip_norm: Gradient clipping norm.
    """

    n_obs_steps: int = 1
    chunk_size: int = 1
    n_action_steps: int = 1

    normalization_mapping: dict[str, NormalizationMode] = field(
        default_factory=lambda: {
            'VISUAL': NormalizationMode.MEAN_STD,
            'STATE': NormalizationMode.MEAN_STD,
            'ACTION': NormalizationMode.MEAN_STD,
        }
    )

    # Architecture.
    hidden_dims: tuple[int, ...] = (256, 256)
    image_encoder: str = 'spatial_softmax'
    cnn_channels: tuple[int, ...] = (16, 32, 32, 32)
    num_keypoints: int = 32
    image_downsample: int = 2
    image_feature_dim: int = 64
    dropout: float = 0.0
    loss: str = 'mse'

    # Training presets.
    optimizer_lr: float = 1e-3
    optimizer_weight_decay: float = 1e-4
    optimizer_grad_clip_norm: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_obs_steps != 1:
            msg = f'BC supports n_obs_steps=1 only; got {self.n_obs_steps} for `n_obs_steps`'
            raise ValueError(msg)
        if self.chunk_size < 1:
            msg = f'`chunk_size` must be >= 1, got {self.chunk_size}'
            raise ValueError(msg)
        if not 1 <= self.n_action_steps <= self.chunk_size:
            msg = (f'Got {self.n_action_steps} for `n_action_steps` and {self.chunk_size} for '
                   '`chunk_size`; need 1 <= n_action_steps <= chunk_size')
            raise ValueError(msg)
        if self.loss not in ('mse', 'l1'):
            msg = f"`loss` must be 'mse' or 'l1', got {self.loss!r}"
            raise ValueError(msg)
        if self.image_encoder not in ('spatial_softmax', 'avgpool'):
            msg = (f"`image_encoder` must be 'spatial_softmax' or 'avgpool', got "
                   f'{self.image_encoder!r}')
            raise ValueError(msg)
        if self.image_downsample < 1:
            msg = f'`image_downsample` must be >= 1, got {self.image_downsample}'
            raise ValueError(msg)
        if not self.cnn_channels or self.num_keypoints < 1:
            msg = (f'`cnn_channels` must not be empty and `num_keypoints` >= 1, got '
                   f'{self.cnn_channels}, {self.num_keypoints}')
            raise ValueError(msg)
        if not self.hidden_dims or any(d <= 0 for d in self.hidden_dims):
            msg = f'`hidden_dims` must be positive widths, got {self.hidden_dims}'
            raise ValueError(msg)

    def get_optimizer_preset(self) -> AdamWConfig:
        return AdamWConfig(
            lr=self.optimizer_lr,
            weight_decay=self.optimizer_weight_decay,
            grad_clip_norm=self.optimizer_grad_clip_norm,
        )

    def get_scheduler_preset(self) -> None:
        return None

    def validate_features(self) -> None:
        if self.robot_state_feature is None and not self.image_features:
            msg = 'BC needs observation.state or at least one image among the input features'
            raise ValueError(msg)
        if self.action_feature is None:
            msg = 'BC needs an `action` output feature'
            raise ValueError(msg)

    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list[int]:
        return list(range(self.chunk_size))

    @property
    def reward_delta_indices(self) -> None:
        return None
