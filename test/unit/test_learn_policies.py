"""Policy configs: defaults for 50-500 demos, offline backbones, BC registered with lerobot.

Regressions pinned:
- ACT and Diffusion never ask torchvision for pretrained weights (no download);
- Diffusion samples with DDIM in 10 steps; ACT uses lr 1e-4 with backbone lr 1e-5;
- lerobot's factory finds the ``bc`` type (policy class and processors) after registration;
- --backbone-weights loads a local ResNet state dict into ACT's backbone, and rejects others.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from imitation_ros.errors import TrainError
from imitation_ros.learn.policies import make_policy_config
from imitation_ros.learn.synthetic import shrink_cameras
from imitation_ros.learn.trainer import _load_backbone
from imitation_ros.profile import load_profile

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def features() -> dict:
    return shrink_cameras(load_profile(ROOT / 'config' / 'sim_arm.yaml'), 24, 32).features()


def test_defaults(features: dict) -> None:
    act = make_policy_config('act', features, device='cpu')
    assert act.pretrained_backbone_weights is None
    assert act.optimizer_lr == 1e-4 and act.optimizer_lr_backbone == 1e-5
    assert act.chunk_size == act.n_action_steps == 32 and act.dim_model == 256
    dp = make_policy_config('diffusion', features, device='cpu')
    assert dp.pretrained_backbone_weights is None
    assert dp.noise_scheduler_type == 'DDIM' and dp.num_inference_steps == 10
    assert (dp.horizon, dp.n_obs_steps, dp.n_action_steps) == (16, 2, 8)
    assert dp.scheduler_warmup_steps <= 100
    bc = make_policy_config('bc', features, device='cpu')
    assert set(bc.input_features) == {'observation.state', 'observation.images.front'}
    assert bc.action_feature.shape == (6,)


def test_bc_known_to_lerobot_factory(features: dict) -> None:
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    from imitation_ros.learn.bc.modeling_bc import BCPolicy

    cfg = make_policy_config('bc', features, device='cpu')
    assert cfg.type == 'bc'
    assert get_policy_class('bc') is BCPolicy
    pre, post = make_pre_post_processors(cfg, dataset_stats=None)
    assert pre.name == 'policy_preprocessor' and post.name == 'policy_postprocessor'


def test_act_backbone_from_local_weights(features: dict, tmp_path: Path) -> None:
    import torchvision
    from lerobot.policies.act.modeling_act import ACTPolicy

    cfg = make_policy_config('act', features, device='cpu',
                             overrides={'dim_model': 32, 'n_heads': 2, 'dim_feedforward': 64,
                                        'n_encoder_layers': 1, 'n_vae_encoder_layers': 1})
    policy = ACTPolicy(cfg)
    ref = torchvision.models.resnet18(weights=None)
    with torch.no_grad():
        ref.conv1.weight.fill_(0.125)
    path = tmp_path / 'resnet18.pth'
    torch.save(ref.state_dict(), path)
    _load_backbone(policy, path)
    assert torch.all(policy.model.backbone.conv1.weight == 0.125)
    torch.save({'not': torch.zeros(1)}, tmp_path / 'bad.pth')
    with pytest.raises(TrainError, match='bad.pth'):
        _load_backbone(policy, tmp_path / 'bad.pth')


@pytest.mark.parametrize('policy', ['act', 'diffusion'])
def test_cpu_presets_resolve_and_build(policy: str) -> None:
    """config/train_<policy>_cpu.yaml (the demo's and bench_vision's settings) builds a config."""
    from imitation_ros.cli.demo import CPU_PRESETS
    from imitation_ros.cli.train import parse_overrides

    name, batch, steps = CPU_PRESETS[policy]
    over = parse_overrides(['n_action_steps=4'], name)   # --set wins over the preset
    assert over['n_action_steps'] == 4 and over['pretrained_backbone_weights'] is None
    feats = shrink_cameras(load_profile(ROOT / 'config' / 'sim_arm.yaml'), 96, 128).features()
    cfg = make_policy_config(policy, feats, device='cpu', overrides=over)
    for key, value in parse_overrides([], name).items():
        if key != 'n_action_steps':
            got = getattr(cfg, key)
            assert (list(got) if isinstance(got, tuple) else got) == value, key
    assert batch > 0 and steps > 0
