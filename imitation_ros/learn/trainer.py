"""Train BC, ACT or Diffusion on a LeRobot dataset, from a frame cache.

``train(TrainConfig(dataset=..., policy='act'))`` validates the dataset's features, builds (or
reuses) the frame cache, holds out validation episodes, computes normalization stats on the
training episodes, builds the lerobot policy, processors, optimizer and scheduler from the
policy's presets, and runs a seeded loop with on-device augmentation, gradient clipping, a
progress bar (loss, lr, samples/s), per-joint validation error, ``metrics.jsonl``, ``loss.png``
and lerobot-layout checkpoints::

    <output>/checkpoints/<step>/pretrained_model/  config.json, model.safetensors,
                                                   policy_{pre,post}processor*.json/.safetensors,
                                                   imitation_ros_train.json
    <output>/checkpoints/<step>/training_state/    optimizer, scheduler, rng, step
    <output>/checkpoints/last -> <step>
    <output>/metrics.jsonl, <output>/loss.png

Several GPUs: run under ``accelerate launch --multi_gpu -m imitation_ros.cli.main train ...``;
each process draws its own batches (rank-seeded), gradients are averaged by DDP, rank 0 saves.
That path is not exercised by the tests (no multi-GPU machine); the single-device path is.
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from imitation_ros.errors import ConfigError, DatasetError, TrainError
from imitation_ros.learn.augment import AugmentConfig, augment_batch
from imitation_ros.learn.batches import BatchSource, ChunkIndex, ChunkSpec, Prefetcher
from imitation_ros.learn.cache import FrameCache, load_features, open_cache
from imitation_ros.learn.inference import RUN_FILE, PolicyRunner, resolve_device
from imitation_ros.learn.plots import plot_losses, read_metrics
from imitation_ros.learn.policies import (
    POLICY_NAMES,
    check_features,
    config_summary,
    ensure_registered,
    image_keys,
    make_policy_config,
)
from imitation_ros.profile.keys import ACTION, OBS_STATE

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = {'bc': 64, 'act': 32, 'diffusion': 64}


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """One training run.

    Attributes:
        dataset: LeRobot dataset root.
        policy: ``bc``, ``act`` or ``diffusion``.
        output_dir: Run folder (checkpoints, metrics, plots).
        steps: Optimizer steps in total (a resumed run continues up to this).
        batch_size: Samples per step; default per policy (bc 64, act 32, diffusion 64).
        lr: Learning rate; default the policy preset's.
        val_episodes: Held-out episodes: explicit indices, or a fraction of the episodes
            (chosen with the seed; at least one when there are two or more episodes).
        val_every: Validate every this many steps (and at the end).
        val_max_frames: At most this many held-out frames are scored per validation.
        save_every: Checkpoint every this many steps (and at the end).
        log_every: Write a metrics record (and refresh the bar) every this many steps.
        seed: Seed of weights, batches, augmentation and held-out split.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        resume: Continue from ``output_dir/checkpoints/last``.
        augment: Augmentation settings (``None``: no augmentation).
        policy_overrides: lerobot config fields set over our defaults.
        backbone_weights: Local torchvision ResNet state dict for ACT's backbone.
        cache_dir: Where frame caches live (default next to the dataset).
        device_cache_fraction: Keep the frames on the GPU when they take less than this
            fraction of its free memory.
        progress: Show progress bars.
        inputs: ``all`` (state and every camera) or ``state`` (joint state only, even when
            the dataset has cameras: far faster on a CPU; enough when the task needs no
            perception).
        frame_weights: A ``.npy`` file with one loss weight per dataset frame (global frame
            index order; >= 0, at most ``MAX_WEIGHT_VALUES`` distinct values, e.g. DAgger's
            expert 1.0 / policy-driven 0.25, see ``dagger.labels.frame_weights``). A sample
            weighs what its anchor frame weighs; the training loss is the weighted mean over
            the batch (validation stays unweighted). None: every frame weighs 1.
    """

    dataset: Path
    policy: str
    output_dir: Path
    steps: int = 20000
    batch_size: int | None = None
    lr: float | None = None
    val_episodes: tuple[int, ...] | float = 0.1
    val_every: int = 1000
    val_max_frames: int = 256
    save_every: int = 5000
    log_every: int = 50
    seed: int = 0
    device: str = 'auto'
    resume: bool = False
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    policy_overrides: dict[str, Any] = field(default_factory=dict)
    backbone_weights: Path | None = None
    cache_dir: Path | None = None
    device_cache_fraction: float = 0.5
    progress: bool = True
    inputs: Literal['all', 'state'] = 'all'
    frame_weights: Path | None = None

    def __post_init__(self) -> None:
        if self.policy not in POLICY_NAMES:
            msg = f'policy must be one of {list(POLICY_NAMES)}, got {self.policy!r}'
            raise ConfigError(msg)
        for name in ('steps', 'val_every', 'save_every', 'log_every', 'val_max_frames'):
            if getattr(self, name) < 1:
                msg = f'{name} must be >= 1, got {getattr(self, name)}'
                raise ConfigError(msg)
        if self.batch_size is not None and self.batch_size < 1:
            msg = f'batch_size must be >= 1, got {self.batch_size}'
            raise ConfigError(msg)
        if self.lr is not None and not self.lr > 0:
            msg = f'lr must be > 0, got {self.lr}'
            raise ConfigError(msg)
        if isinstance(self.val_episodes, float) and not 0 <= self.val_episodes < 1:
            msg = f'val_episodes as a fraction must be in [0, 1), got {self.val_episodes}'
            raise ConfigError(msg)

    @property
    def effective_batch_size(self) -> int:
        """The batch size used (explicit or the policy's default)."""
        return self.batch_size or DEFAULT_BATCH_SIZE[self.policy]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict of the run settings."""
        d = {}
        for k in self.__slots__:
            v = getattr(self, k)
            if isinstance(v, Path):
                v = str(v)
            elif isinstance(v, AugmentConfig):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            d[k] = v
        return d


MAX_WEIGHT_VALUES = 8       # distinct per-frame weights (one forward pass per value and step)
WEIGHT_KEY = '_frame_weight'


def load_frame_weights(path: Path, n_frames: int, train_rows: np.ndarray) -> np.ndarray:
    """Read and check per-frame weights (see ``TrainConfig.frame_weights``).

    Raises:
        ConfigError: Unreadable file, wrong length, negative / non-finite values, too many
            distinct values, or no training frame with a weight > 0; the message names the file.
    """
    try:
        w = np.asarray(np.load(Path(path), allow_pickle=False), dtype=np.float64)
    except (OSError, ValueError) as err:
        msg = f'frame_weights {path}: cannot read a .npy array: {err}'
        raise ConfigError(msg) from err
    if w.ndim != 1 or w.shape[0] != n_frames:
        msg = (f'frame_weights {path}: needs one weight per dataset frame ({n_frames}), got '
               f'shape {list(w.shape)}')
        raise ConfigError(msg)
    if not np.all(np.isfinite(w)) or (w < 0).any():
        msg = f'frame_weights {path}: weights must be finite and >= 0'
        raise ConfigError(msg)
    if len(np.unique(w)) > MAX_WEIGHT_VALUES:
        msg = (f'frame_weights {path}: at most {MAX_WEIGHT_VALUES} distinct weights (one '
               f'forward pass per value), got {len(np.unique(w))}')
        raise ConfigError(msg)
    if not (w[train_rows] > 0).any():
        msg = f'frame_weights {path}: every training frame has weight 0'
        raise ConfigError(msg)
    return w


class _WeightedSource(BatchSource):
    """A batch source that also hands each sample's anchor-frame weight (``WEIGHT_KEY``)."""

    def __init__(self, *args: Any, weights: np.ndarray, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._weights = torch.from_numpy(np.asarray(weights, np.float32))

    def host_part(self, positions: np.ndarray) -> dict[str, torch.Tensor]:
        out = super().host_part(positions)
        out[WEIGHT_KEY] = self._weights[torch.from_numpy(self.index.anchors[positions])]
        return out

    def device_part(self, host: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        batch = super().device_part(host)
        batch[WEIGHT_KEY] = host[WEIGHT_KEY].to(self.device)
        return batch


def weighted_loss(model: Any, batch: dict[str, Any], weights: torch.Tensor) -> torch.Tensor:
    """The per-sample weighted mean of ``model.forward``'s loss over ``batch``.

    lerobot policies return the batch-mean loss, so the batch is split by weight value and
    each group's mean loss counts ``weight x group size``: for a loss that is a mean over
    samples this is exactly ``sum_i w_i l_i / sum_i w_i``. Groups of weight 0 are skipped
    (no forward pass, no gradient); a batch that weighs 0 in all gives a zero loss.
    """
    n = int(weights.shape[0])
    total: torch.Tensor | None = None
    denom = 0.0
    for v in torch.unique(weights).tolist():
        if v <= 0:
            continue
        idx = torch.nonzero(weights == v).reshape(-1)
        part = {k: (t.index_select(0, idx) if isinstance(t, torch.Tensor) and t.dim() > 0
                    and t.shape[0] == n else t) for k, t in batch.items()}
        loss, _ = model.forward(part)
        term = loss * (v * len(idx))
        total = term if total is None else total + term
        denom += v * len(idx)
    if total is None:
        return torch.zeros((), device=weights.device, requires_grad=True)
    return total / denom


@dataclass(frozen=True)
class TrainResult:
    """What a run produced.

    Attributes:
        output_dir: Run folder.
        checkpoint: Last ``pretrained_model`` folder.
        step: Steps done.
        first_loss: Mean training loss of the first logging window.
        final_loss: Mean training loss of the last logging window.
        val: Last validation record (``val_loss``, ``val_mae``, ``val_mae_per_joint``) or {}.
        samples_per_s: Median training throughput over the logging windows after the first.
        train_episodes: Episodes trained on.
        val_episodes: Held-out episodes.
    """

    output_dir: Path
    checkpoint: Path
    step: int
    first_loss: float
    final_loss: float
    val: dict[str, Any]
    samples_per_s: float
    train_episodes: list[int]
    val_episodes: list[int]


def split_episodes(episodes: list[int], spec: tuple[int, ...] | float, seed: int,
                   dataset: Path) -> tuple[list[int], list[int]]:
    """Split episode indices into (train, val).

    Raises:
        DatasetError: If a requested validation episode does not exist or nothing is left to
            train on.
    """
    episodes = sorted(episodes)
    if isinstance(spec, float):
        k = 0 if spec == 0 or len(episodes) < 2 else max(1, round(spec * len(episodes)))
        rng = np.random.default_rng(seed)
        val = sorted(int(e) for e in rng.permutation(episodes)[:k])
    else:
        missing = sorted(set(spec) - set(episodes))
        if missing:
            msg = (f'{dataset}: validation episode(s) {missing} do not exist; episodes are '
                   f'{episodes[0]}..{episodes[-1]}')
            raise DatasetError(msg)
        val = sorted(set(spec))
    train = [e for e in episodes if e not in set(val)]
    if not train:
        msg = f'{dataset}: no training episodes left after holding out {val}'
        raise DatasetError(msg)
    return train, val


def compute_stats(cache: FrameCache, rows: np.ndarray, *, max_images: int = 2000,
                  ) -> dict[str, dict[str, np.ndarray]]:
    """Normalization statistics of the given rows (state, action, per-channel image stats).

    lerobot's writer can store wrong image std values (uint8 squares overflow in 0.4.4), so the
    stats are recomputed here from the decoded frames of the training episodes.
    """
    stats: dict[str, dict[str, np.ndarray]] = {}
    for key, arr in ((OBS_STATE, cache.state), (ACTION, cache.action)):
        x = arr[rows].astype(np.float64)
        lo, hi = x.min(0), x.max(0)
        widen = np.maximum(0.0, 0.02 - (hi - lo)) / 2           # keep max - min >= 0.02
        stats[key] = {
            'mean': x.mean(0), 'std': np.maximum(x.std(0), 1e-2),
            'min': lo - widen, 'max': hi + widen,
            'q01': np.quantile(x, 0.01, axis=0), 'q99': np.quantile(x, 0.99, axis=0),
        }
    pick = np.unique(rows[np.linspace(0, len(rows) - 1, min(len(rows), max_images)).astype(
        np.int64)])
    for key, arr in cache.images.items():
        total, total_sq, count = np.zeros(3), np.zeros(3), 0
        lo, hi = np.full(3, 255.0), np.zeros(3)
        for i in range(0, len(pick), 64):              # chunked: large frames stay cheap
            flat = arr[pick[i:i + 64]].reshape(-1, 3).astype(np.float64)
            total += flat.sum(0)
            total_sq += (flat ** 2).sum(0)
            count += flat.shape[0]
            lo, hi = np.minimum(lo, flat.min(0)), np.maximum(hi, flat.max(0))
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0))
        stats[key] = {
            'mean': (mean / 255).reshape(3, 1, 1),
            'std': np.maximum(std / 255, 1e-3).reshape(3, 1, 1),
            'min': (lo / 255).reshape(3, 1, 1), 'max': (hi / 255).reshape(3, 1, 1),
        }
    return {k: {s: np.asarray(v, dtype=np.float32) for s, v in d.items()}
            for k, d in stats.items()}


def _load_backbone(policy: Any, path: Path) -> None:
    if policy.config.type != 'act':
        msg = f'--backbone-weights is supported for ACT only (policy is {policy.config.type!r})'
        raise TrainError(msg)
    try:
        sd = torch.load(path, map_location='cpu', weights_only=True)
    except (OSError, RuntimeError) as err:
        msg = f'{path}: cannot load backbone weights: {err}'
        raise TrainError(msg) from err
    sd = {k: v for k, v in sd.items() if not k.startswith('fc.')}
    missing, unexpected = policy.model.backbone.load_state_dict(sd, strict=False)
    if missing or unexpected:
        msg = (f'{path}: not a {policy.config.vision_backbone} state dict '
               f'(missing {missing[:5]}, unexpected {unexpected[:5]})')
        raise TrainError(msg)
    logger.info('ACT backbone initialized from %s', path)


class _Validator:
    """Held-out action error (per joint, dataset units) and loss."""

    def __init__(self, index: ChunkIndex, source: BatchSource, cfg: TrainConfig) -> None:
        self.index = index
        self.source = source
        n = len(index)
        k = min(n, cfg.val_max_frames)
        self.positions = np.linspace(0, n - 1, k).astype(np.int64) if n else np.zeros(0, int)
        self.batch_size = cfg.effective_batch_size
        self.seed = cfg.seed

    def __call__(self, policy: Any, pre: Any, post: Any, device: torch.device) -> dict[str, Any]:
        if not len(self.positions):
            return {}
        runner = PolicyRunner(policy, pre, post, device=device, seed=self.seed)
        errs, losses = [], []
        devices = [device.index or 0] if device.type == 'cuda' else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)
            for i in range(0, len(self.positions), self.batch_size):
                pos = self.positions[i:i + self.batch_size]
                batch = self.source.batch(pos)
                pred = runner.predict_batch(batch)[:, 0].numpy()
                true = self.index.cache.action[self.index.anchors[pos]]
                errs.append(np.abs(pred - true))
                # Training-mode loss (ACT's VAE needs it), without gradients or RNG side effects.
                policy.train()
                with torch.no_grad():
                    loss, _ = policy.forward(pre(dict(batch)))
                policy.eval()
                losses.append(float(loss) * len(pos))
        policy.train()
        mae = np.concatenate(errs).mean(0)
        names = self.index.cache.features[ACTION].get('names') or [
            f'a{i}' for i in range(mae.shape[0])]
        return {'val_loss': sum(losses) / len(self.positions), 'val_mae': float(mae.mean()),
                'val_mae_per_joint': {str(n): float(v) for n, v in zip(names, mae)}}


def _lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]['lr'])


def _world() -> tuple[int, int]:
    return int(os.environ.get('RANK', '0')), int(os.environ.get('WORLD_SIZE', '1'))


def train(cfg: TrainConfig) -> TrainResult:
    """Run one training (or resume one); see the module docstring for what is written.

    Args:
        cfg: The run settings.

    Returns:
        The run's outcome.

    Raises:
        DatasetError: If the dataset is missing, unreadable or lacks what the policy needs.
        TrainError: If the policy cannot be built or the output folder is in the way.
    """
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors
    from lerobot.utils.random_utils import set_seed
    from lerobot.utils.train_utils import (
        get_step_checkpoint_dir,
        load_training_state,
        save_training_state,
        update_last_checkpoint,
    )
    from safetensors.torch import load_model
    from tqdm.auto import tqdm

    ensure_registered()
    dataset = Path(cfg.dataset).expanduser().resolve()
    out = Path(cfg.output_dir).expanduser()
    features = load_features(dataset)
    if cfg.inputs == 'state':      # train on joint state alone, whatever cameras the data has
        features = {k: v for k, v in features.items() if k not in image_keys(features)}
    check_features(cfg.policy, features, dataset)
    rank, world = _world()
    last = out / 'checkpoints' / 'last'
    if cfg.resume and not (last / 'pretrained_model' / 'config.json').is_file():
        msg = f'{out}: nothing to resume (no checkpoints/last/pretrained_model/config.json)'
        raise TrainError(msg)
    if not cfg.resume and (out / 'checkpoints').exists():
        msg = f'{out}: holds checkpoints already; pass --resume or choose another --output'
        raise TrainError(msg)
    out.mkdir(parents=True, exist_ok=True)

    accelerator = None
    if world > 1:
        from accelerate import Accelerator

        accelerator = Accelerator(step_scheduler_with_optimizer=False)
        device = accelerator.device
    else:
        device = resolve_device(cfg.device)
    set_seed(cfg.seed)

    cache = open_cache(dataset, cache_dir=cfg.cache_dir, progress=cfg.progress and rank == 0)
    run_info_prev: dict[str, Any] = {}
    if cfg.resume:
        run_info_prev = json.loads((last / 'pretrained_model' / RUN_FILE).read_text())
        train_eps = run_info_prev['train_episodes']
        val_eps = run_info_prev['val_episodes']
    else:
        train_eps, val_eps = split_episodes(list(cache.episodes), cfg.val_episodes, cfg.seed,
                                            dataset)

    if cfg.resume:
        pcfg = PreTrainedConfig.from_pretrained(last / 'pretrained_model')
        pcfg.device = device.type
    else:
        pcfg = make_policy_config(cfg.policy, features, device=device.type,
                                  overrides=cfg.policy_overrides)
    if pcfg.type != cfg.policy:
        msg = f'{out}: checkpoint holds a {pcfg.type!r} policy, not {cfg.policy!r}'
        raise TrainError(msg)
    if cfg.lr is not None:
        pcfg.optimizer_lr = cfg.lr
    policy = get_policy_class(pcfg.type)(pcfg)
    if cfg.backbone_weights and not cfg.resume:
        _load_backbone(policy, Path(cfg.backbone_weights))
    if cfg.resume:
        load_model(policy, str(last / 'pretrained_model' / 'model.safetensors'))
        pre, post = make_pre_post_processors(
            pcfg, pretrained_path=str(last / 'pretrained_model'),
            preprocessor_overrides={'device_processor': {'device': str(device)}})
    else:
        stats = compute_stats(cache, cache.rows_of(train_eps))
        pre, post = make_pre_post_processors(pcfg, dataset_stats=stats)
    policy.to(device)
    policy.train()

    opt_cfg = pcfg.get_optimizer_preset()
    optimizer = opt_cfg.build(policy.get_optim_params())
    sched_cfg = pcfg.get_scheduler_preset()
    scheduler = sched_cfg.build(optimizer, cfg.steps) if sched_cfg is not None else None
    start = 0
    if cfg.resume:
        ckpt = last.resolve()
        start, optimizer, scheduler = load_training_state(ckpt, optimizer, scheduler)
        logger.info('resumed %s at step %d', ckpt, start)
    grad_clip = float(getattr(opt_cfg, 'grad_clip_norm', 10.0) or 0.0)
    model = policy
    if accelerator is not None:
        model, optimizer = accelerator.prepare(policy, optimizer)

    spec = ChunkSpec.from_config(pcfg)
    train_index = ChunkIndex(cache, train_eps, spec)
    val_index = ChunkIndex(cache, val_eps, ChunkSpec(spec.obs_offsets, spec.action_offsets, 0))
    time_dim = pcfg.type == 'diffusion'
    cams = image_keys(features)
    weights = None
    if cfg.frame_weights is not None:
        weights = load_frame_weights(Path(cfg.frame_weights), cache.n_frames,
                                     cache.rows_of(train_eps))
        source: BatchSource = _WeightedSource(
            train_index, device, device_cache_fraction=cfg.device_cache_fraction,
            time_dim=time_dim, cameras=cams, weights=weights)
        logger.info('per-frame loss weights %s: %s', cfg.frame_weights,
                    {float(v): int(c) for v, c in zip(*np.unique(weights, return_counts=True),
                                                      strict=True)})
    else:
        source = BatchSource(train_index, device,
                             device_cache_fraction=cfg.device_cache_fraction,
                             time_dim=time_dim, cameras=cams)
    val_source = BatchSource(val_index, device, time_dim=time_dim, share=source, cameras=cams)
    validator = _Validator(val_index, val_source, cfg)
    bsz = cfg.effective_batch_size
    names = features[ACTION].get('names') or []
    run_info = {
        'policy': pcfg.type, 'dataset': str(dataset), 'fps': cache.fps,
        'joint_names': list(names), 'state_key': OBS_STATE, 'action_key': ACTION,
        'image_keys': image_keys(features), 'train_episodes': train_eps,
        'val_episodes': val_eps, 'train': cfg.to_dict(), 'policy_config': config_summary(pcfg),
        'n_train_frames': int(len(train_index)),
    }
    metrics_path = out / 'metrics.jsonl'
    history = [m for m in read_metrics(metrics_path) if m.get('step', 0) <= start]
    if rank == 0:
        metrics_path.write_text(''.join(json.dumps(m) + '\n' for m in history))
        logger.info('%s on %s: %d train episodes (%d frames), %d held out %s, batch %d, %s',
                    pcfg.type, dataset.name, len(train_eps), len(train_index), len(val_eps),
                    val_eps, bsz, device)

    def save(step: int) -> Path:
        ckpt = get_step_checkpoint_dir(out, cfg.steps, step)
        model_dir = ckpt / 'pretrained_model'
        policy.save_pretrained(model_dir)
        pre.save_pretrained(model_dir)
        post.save_pretrained(model_dir)
        (model_dir / RUN_FILE).write_text(json.dumps({**run_info, 'step': step}, indent=1))
        save_training_state(ckpt, step, optimizer, scheduler)
        update_last_checkpoint(ckpt)
        plot_losses(read_metrics(metrics_path), out / 'loss.png',
                    title=f'{pcfg.type} on {dataset.name}')
        return model_dir

    def log(record: dict[str, Any]) -> None:
        history.append(record)
        if rank == 0:
            with metrics_path.open('a') as f:
                f.write(json.dumps(record) + '\n')

    gen = torch.Generator(device=device)
    loader = Prefetcher(source, batch_size=bsz, seed=cfg.seed, start=start, stop=cfg.steps,
                        rank=rank)
    bar = tqdm(total=cfg.steps, initial=start, desc=f'train {pcfg.type}', unit='step',
               disable=not cfg.progress or rank != 0, dynamic_ncols=True)
    loss_sum = torch.zeros((), device=device)
    window_n = 0
    t_window = time.perf_counter()
    rates: list[float] = []
    last_dir: Path | None = None
    step = start
    val: dict[str, Any] = {}
    try:
        for batch in loader:
            gen.manual_seed(cfg.seed * 1_000_003 + step * (world + 1) + rank)
            w = batch.pop(WEIGHT_KEY, None)
            if cfg.augment is not None:
                batch = augment_batch(batch, cfg.augment, gen)
            batch = pre(batch)
            if w is None:
                loss, _ = model.forward(batch)
            else:
                loss = weighted_loss(model, batch, w)
            optimizer.zero_grad(set_to_none=True)
            if accelerator is not None:
                accelerator.backward(loss)
                if grad_clip > 0:
                    accelerator.clip_grad_norm_(model.parameters(), grad_clip)
            else:
                loss.backward()
                if grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(policy.parameters(), grad_clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            step += 1
            loss_sum += loss.detach()
            window_n += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                mean_loss = float(loss_sum) / window_n      # the only host sync per window
                if not math.isfinite(mean_loss):
                    msg = (f'training loss is {mean_loss} by step {step}; lower --lr or check '
                           'the dataset')
                    raise TrainError(msg)
                dt = time.perf_counter() - t_window
                rate = window_n * bsz * world / max(dt, 1e-9)
                rates.append(rate)
                log({'step': step, 'loss': mean_loss, 'lr': _lr(optimizer),
                     'samples_per_s': rate})
                bar.set_postfix(loss=f'{mean_loss:.4f}', lr=f'{_lr(optimizer):.1e}',
                                smp_s=f'{rate:.0f}')
                loss_sum.zero_()
                window_n = 0
                t_window = time.perf_counter()
            bar.update(1)
            if rank == 0 and (step % cfg.val_every == 0 or step == cfg.steps):
                t0 = time.perf_counter()
                val = validator(policy, pre, post, device)
                if val:
                    log({'step': step, **val})
                    logger.info('step %d: val loss %.4f, val action MAE %.4f', step,
                                val['val_loss'], val['val_mae'])
                t_window += time.perf_counter() - t0
            if rank == 0 and (step % cfg.save_every == 0 or step == cfg.steps):
                t0 = time.perf_counter()
                last_dir = save(step)
                t_window += time.perf_counter() - t0
            if accelerator is not None and (step % cfg.save_every == 0
                                            or step % cfg.val_every == 0):
                accelerator.wait_for_everyone()
    finally:
        loader.close()
        bar.close()
    if last_dir is None:
        last_dir = out / 'checkpoints' / 'last' / 'pretrained_model'
    losses = [m['loss'] for m in history if 'loss' in m]
    steady = rates[1:] or rates
    if not val:
        val = next((m for m in reversed(history) if 'val_loss' in m), {})
    return TrainResult(
        output_dir=out, checkpoint=last_dir, step=step,
        first_loss=losses[0] if losses else math.nan,
        final_loss=losses[-1] if losses else math.nan,
        val=val, samples_per_s=float(np.median(steady)) if steady else math.nan,
        train_episodes=list(train_eps), val_episodes=list(val_eps),
    )
