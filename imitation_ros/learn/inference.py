"""The one inference path for BC, ACT and Diffusion checkpoints.

``load_policy(path)`` returns a :class:`PolicyRunner`: call it with an observation dict (numpy
arrays keyed by feature keys: ``observation.state`` (n,) float, ``observation.images.<cam>``
(H, W, 3) uint8) and it returns the action chunk, shape (T, n) in dataset units (rad), where
row 0 is the action for the current step. T is ``chunk_size`` for ACT and BC and, for
Diffusion, the rest of the predicted horizon from the current observation on
(``horizon - n_obs_steps + 1`` rows, not only the ``n_action_steps`` that lerobot's
``select_action`` keeps): a controller whose inference latency exceeds ``n_action_steps``
periods still has rows to execute. ``runner.n_action_steps`` says how many rows the policy
was trained to execute before asking again. Pre/post-processing (normalization) is lerobot's saved
pipeline; the model runs in eval mode, and Diffusion's noise comes from a fixed seed, so the
same observation history always gives the same actions.

This module imports torch; the policy node imports it lazily.
"""
from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from imitation_ros.errors import TrainError
from imitation_ros.profile.keys import ACTION, OBS_IMAGES, OBS_STATE

logger = logging.getLogger(__name__)

RUN_FILE = 'imitation_ros_train.json'


def resolve_device(device: str) -> torch.device:
    """Map ``auto|cpu|cuda|cuda:N`` to a torch device.

    Raises:
        TrainError: If CUDA is asked for and absent.
    """
    if device == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if device.startswith('cuda') and not torch.cuda.is_available():
        msg = f'device {device!r} requested but CUDA is not available'
        raise TrainError(msg)
    try:
        return torch.device(device)
    except RuntimeError as err:
        msg = f'invalid device {device!r}: {err}'
        raise TrainError(msg) from err


def resolve_checkpoint(path: str | Path) -> Path:
    """Return the ``pretrained_model`` folder of a run, checkpoint or model folder.

    Accepts a training output dir (uses ``checkpoints/last``), a checkpoint dir
    (``checkpoints/<step>``) or the ``pretrained_model`` dir itself.

    Raises:
        TrainError: If no ``config.json`` + ``model.safetensors`` is found.
    """
    p = Path(path).expanduser()
    for cand in (p, p / 'pretrained_model', p / 'checkpoints' / 'last' / 'pretrained_model'):
        if (cand / 'config.json').is_file() and (cand / 'model.safetensors').is_file():
            return cand
    msg = (f'{path}: no policy checkpoint (config.json + model.safetensors) here, in '
           'pretrained_model/ or in checkpoints/last/pretrained_model/')
    raise TrainError(msg)


class PolicyRunner:
    """A loaded policy with its processors; maps observations to action chunks.

    Attributes:
        policy: The lerobot policy (eval mode).
        config: Its lerobot config.
        device: Where the model runs.
        run_info: Contents of ``imitation_ros_train.json`` (joint names, fps, ...) or ``{}``.
    """

    def __init__(self, policy: Any, preprocessor: Any, postprocessor: Any, *,
                 device: torch.device, run_info: dict[str, Any] | None = None,
                 seed: int = 0) -> None:
        self.policy = policy.eval()
        self.config = policy.config
        self.preprocessor = preprocessor
        self.postprocessor = postprocessor
        self.device = device
        self.run_info = run_info or {}
        self.seed = seed
        self.image_keys = list(self.config.image_features)
        self.has_state = self.config.robot_state_feature is not None
        self.action_dim = int(self.config.action_feature.shape[0])
        self._history: deque[dict[str, torch.Tensor]] = deque(maxlen=self.n_obs_steps)

    @property
    def policy_type(self) -> str:
        """``bc``, ``act`` or ``diffusion``."""
        return str(self.config.type)

    @property
    def time_dim(self) -> bool:
        """Whether batches carry an observation time axis (Diffusion) or not (ACT, BC)."""
        return self.policy_type == 'diffusion'

    @property
    def n_obs_steps(self) -> int:
        """Observation steps the policy looks at (Diffusion: 2)."""
        return int(self.config.n_obs_steps)

    @property
    def n_action_steps(self) -> int:
        """Actions of a chunk meant to be executed before the next call."""
        return int(self.config.n_action_steps)

    @property
    def joint_names(self) -> list[str]:
        """Joint names of the action vector (from the run file), or ``[]``."""
        return list(self.run_info.get('joint_names', []))

    @property
    def fps(self) -> float | None:
        """Control rate the policy was trained at, Hz (from the run file)."""
        fps = self.run_info.get('fps')
        return float(fps) if fps else None

    def reset(self) -> None:
        """Forget the observation history (call at the start of an episode)."""
        self._history.clear()

    def _obs_tensors(self, obs: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        if self.has_state:
            if OBS_STATE not in obs:
                msg = f'observation lacks {OBS_STATE!r}; keys given: {sorted(obs)}'
                raise TrainError(msg)
            state = np.asarray(obs[OBS_STATE], dtype=np.float32).reshape(-1)
            want = self.config.robot_state_feature.shape[0]
            if state.shape[0] != want or not np.all(np.isfinite(state)):
                msg = f'{OBS_STATE}: expected {want} finite values, got {state.tolist()}'
                raise TrainError(msg)
            out[OBS_STATE] = torch.from_numpy(state)
        for key in self.image_keys:
            if key not in obs:
                msg = f'observation lacks camera {key!r}; keys given: {sorted(obs)}'
                raise TrainError(msg)
            img = np.asarray(obs[key])
            c, h, w = self.config.image_features[key].shape
            if img.shape != (h, w, c) or img.dtype != np.uint8:
                msg = f'{key}: expected ({h}, {w}, {c}) uint8, got {img.shape} {img.dtype}'
                raise TrainError(msg)
            out[key] = torch.tensor(img).permute(2, 0, 1).float() / 255
        return out

    def observe(self, obs: Mapping[str, Any]) -> None:
        """Add an observation to the history without running the model.

        Policies with ``n_obs_steps > 1`` (Diffusion) see the last ``n_obs_steps`` control
        periods, as lerobot's ``select_action`` does: a control loop that only calls the
        runner every ``n_action_steps`` periods must call ``observe`` on the other periods.
        (A no-op cost for ACT and BC, which look at the current frame only.)

        Raises:
            TrainError: If a key is missing or has the wrong shape, dtype or non-finite values.
        """
        cur = self._obs_tensors(obs)
        if not self._history:
            for _ in range(self.n_obs_steps - 1):
                self._history.append(cur)
        self._history.append(cur)

    def __call__(self, obs: Mapping[str, Any]) -> np.ndarray:
        """Add ``obs`` to the history and return the action chunk (T, n) for it.

        Args:
            obs: ``observation.state`` (n,) and every camera's (H, W, 3) uint8 image.

        Raises:
            TrainError: If a key is missing or has the wrong shape, dtype or non-finite values.
        """
        self.observe(obs)
        cur = self._history[-1]
        batch: dict[str, torch.Tensor] = {}
        for key in cur:
            stacked = torch.stack([h[key] for h in self._history])      # (T, ...)
            batch[key] = (stacked if self.time_dim else stacked[-1]).unsqueeze(0)
        return self.predict_batch(batch)[0].numpy()

    @torch.inference_mode()
    def predict_batch(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Predict action chunks for a batch of raw observations.

        Args:
            batch: ``observation.state`` (B, n) or (B, T, n); images float in [0, 1],
                (B, 3, H, W) or (B, T, 3, H, W) with T = ``n_obs_steps``.

        Returns:
            (B, chunk, n) float32 actions in dataset units, on the CPU.
        """
        obs = {k: v for k, v in batch.items() if k.startswith('observation.')}
        b = self.preprocessor(obs)
        b.pop(ACTION, None)
        if self.policy_type == 'diffusion':
            model_in = {OBS_STATE: b[OBS_STATE]}
            if self.image_keys:
                model_in[OBS_IMAGES] = torch.stack([b[k] for k in self.image_keys], dim=2)
            bsz = b[OBS_STATE].shape[0]
            dev = b[OBS_STATE].device
            gen = torch.Generator(device=dev).manual_seed(self.seed)
            # One fixed noise draw shared by every sample: outputs do not depend on batching.
            noise = torch.randn((1, self.config.horizon, self.action_dim), generator=gen,
                                device=dev, dtype=b[OBS_STATE].dtype)
            noise = noise.expand(bsz, -1, -1).contiguous()
            actions = self._diffusion_horizon(model_in, noise)
        else:
            actions = self.policy.predict_action_chunk(b)
        return self.postprocessor(actions).float().cpu()

    def _diffusion_horizon(self, model_in: dict[str, torch.Tensor],
                           noise: torch.Tensor) -> torch.Tensor:
        """Diffusion's sampled horizon from the current observation on.

        Same steps as lerobot's ``DiffusionModel.generate_actions`` (conditioning, then
        ``conditional_sample``), without its cut to ``n_action_steps``: rows past it are the
        model's own prediction, used when the next chunk arrives late.
        """
        model = self.policy.diffusion
        global_cond = model._prepare_global_conditioning(model_in)  # noqa: SLF001
        actions = model.conditional_sample(noise.shape[0], global_cond=global_cond, noise=noise)
        return actions[:, self.n_obs_steps - 1:]


def _upgrade_old_config(cfg: Any, model_dir: Path) -> None:
    """Fill fields that older checkpoints' ``config.json`` lack with what those runs used.

    BC checkpoints written before the spatial-softmax encoder have no ``image_encoder``
    field; their camera encoder is the global-average-pool one (``avgpool``). Without this,
    the new default would build a different network and the weights would not load.
    """
    if getattr(cfg, 'type', None) != 'bc' or not hasattr(cfg, 'image_encoder'):
        return
    raw = json.loads((model_dir / 'config.json').read_text())
    if 'image_encoder' not in raw:
        cfg.image_encoder = 'avgpool'
        logger.info('%s: checkpoint predates image_encoder; using avgpool', model_dir)


def load_policy(path: str | Path, *, device: str = 'auto', seed: int = 0) -> PolicyRunner:
    """Load a BC, ACT or Diffusion checkpoint written by :func:`imitation_ros.learn.train`.

    A GAIL checkpoint (``config.json`` type ``gail``, :mod:`imitation_ros.learn.gail`) loads
    as a ``GailRunner`` with the same interface (CPU, chunks of one).

    Args:
        path: Training output dir, checkpoint dir or ``pretrained_model`` dir.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        seed: Seed of Diffusion's sampling noise (fixed per call, so outputs are repeatable).

    Returns:
        The runner (eval mode).

    Raises:
        TrainError: If the checkpoint is missing or cannot be loaded.
    """
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    from imitation_ros.learn.policies import ensure_registered

    model_dir = resolve_checkpoint(path)
    from imitation_ros.learn.gail.runner import is_gail_checkpoint, load_gail_policy

    if is_gail_checkpoint(model_dir):
        return load_gail_policy(model_dir)  # type: ignore[return-value]
    ensure_registered()
    dev = resolve_device(device)
    try:
        cfg = PreTrainedConfig.from_pretrained(model_dir)
        cfg.device = dev.type if dev.index is None else str(dev)
        _upgrade_old_config(cfg, model_dir)
        policy = get_policy_class(cfg.type).from_pretrained(model_dir, config=cfg)
        pre, post = make_pre_post_processors(
            cfg, pretrained_path=str(model_dir),
            preprocessor_overrides={'device_processor': {'device': str(dev)}},
        )
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        msg = f'{model_dir}: cannot load policy: {err}'
        raise TrainError(msg) from err
    run_file = model_dir / RUN_FILE
    info = json.loads(run_file.read_text()) if run_file.is_file() else {}
    logger.info('loaded %s policy from %s on %s', cfg.type, model_dir, dev)
    return PolicyRunner(policy, pre, post, device=dev, run_info=info, seed=seed)
