"""Training batches sliced from a :class:`FrameCache`, with lerobot's padding semantics.

A sample anchored at row ``t`` of an episode [s, e) holds
``observation.*`` at ``t + obs_offsets`` and ``action`` at ``t + action_offsets``; rows outside
the episode are filled with the nearest frame of the episode and flagged in ``action_is_pad``
(as ``LeRobotDataset`` does with ``delta_timestamps``). Indices are a pure function of
``(seed, step)``, so a resumed run draws exactly the batches the interrupted one would have.

Two gathering paths:

* device-resident (GPU, when the uint8 frames fit in ``device_cache_fraction`` of free memory):
  the whole cache lives on the accelerator and a batch is one ``index_select`` per camera;
* host: numpy fancy indexing on the memmap in a prefetch thread (pinned memory on CUDA),
  uint8 to the device, conversion to float there.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from imitation_ros.profile.keys import ACTION, OBS_STATE

if TYPE_CHECKING:
    from imitation_ros.learn.cache import FrameCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkSpec:
    """Which frames around an anchor a policy sees.

    Attributes:
        obs_offsets: Observation offsets (``[0]`` or e.g. ``[-1, 0]``).
        action_offsets: Action offsets (e.g. ``range(chunk_size)``).
        drop_last: Anchors dropped at the end of each episode (Diffusion's ``drop_n_last_frames``).
    """

    obs_offsets: tuple[int, ...]
    action_offsets: tuple[int, ...]
    drop_last: int = 0

    @classmethod
    def from_config(cls, cfg: object) -> ChunkSpec:
        """Derive the spec from a lerobot policy config's delta indices."""
        obs = getattr(cfg, 'observation_delta_indices', None) or [0]
        act = getattr(cfg, 'action_delta_indices', None) or [0]
        return cls(tuple(int(i) for i in obs), tuple(int(i) for i in act),
                   int(getattr(cfg, 'drop_n_last_frames', 0) or 0))


class ChunkIndex:
    """Anchor rows of a set of episodes and the row indices of their samples."""

    def __init__(self, cache: FrameCache, episodes: list[int], spec: ChunkSpec) -> None:
        self.cache = cache
        self.spec = spec
        starts, stops, anchors = [], [], []
        for e in episodes:
            s, t = cache.episodes[e]
            last = max(s + 1, t - spec.drop_last)
            anchors.append(np.arange(s, last))
            starts.append(np.full(last - s, s))
            stops.append(np.full(last - s, t))
        self.anchors = np.concatenate(anchors) if anchors else np.zeros(0, np.int64)
        self.ep_start = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        self.ep_stop = np.concatenate(stops) if stops else np.zeros(0, np.int64)
        self._obs = np.asarray(spec.obs_offsets, dtype=np.int64)
        self._act = np.asarray(spec.action_offsets, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.anchors.shape[0])

    def rows(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (obs rows (B, To), action rows (B, Ta), action_is_pad (B, Ta)) for anchors."""
        t = self.anchors[positions][:, None]
        s = self.ep_start[positions][:, None]
        e = self.ep_stop[positions][:, None] - 1
        obs = np.clip(t + self._obs[None], s, e)
        raw = t + self._act[None]
        pad = (raw < s) | (raw > e)
        return obs, np.clip(raw, s, e), pad


def step_positions(n: int, batch_size: int, seed: int, step: int, *, rank: int = 0) -> np.ndarray:
    """Return the anchor positions of one training step (uniform sampling with replacement)."""
    rng = np.random.default_rng([seed, step, rank])
    return rng.integers(0, n, size=batch_size)


class BatchSource:
    """Turns anchor positions into batches of tensors on ``device``.

    Images come out as float32 in [0, 1], shaped (B, 3, H, W) for one observation step and
    (B, T, 3, H, W) for several or when ``time_dim`` is set; state (B, n) or (B, T, n);
    action (B, Ta, n); ``action_is_pad`` (B, Ta).

    ``share``: another source over the same cache and device whose device-resident frames are
    reused (train and validation hold one copy).
    """

    def __init__(self, index: ChunkIndex, device: torch.device, *,
                 device_cache_fraction: float = 0.5, time_dim: bool | None = None,
                 share: BatchSource | None = None,
                 cameras: list[str] | None = None) -> None:
        self.index = index
        self.device = device
        cache = index.cache
        # cameras: the image keys the policy reads (None: all); others are never loaded.
        self.cams = [k for k in cache.images if cameras is None or k in cameras]
        self._on_device: dict[str, torch.Tensor] = {}
        if share is not None and share.index.cache is cache and share.device == device:
            self._on_device = share._on_device      # one device copy for train and validation
        elif device.type == 'cuda' and self.cams:
            need = sum(cache.images[k].nbytes for k in self.cams)
            free, _total = torch.cuda.mem_get_info(device)
            if need < device_cache_fraction * free:
                for k in self.cams:
                    arr = cache.images[k]
                    dst = torch.empty(arr.shape, dtype=torch.uint8, device=device)
                    for i in range(0, arr.shape[0], 1024):   # chunked: no full copy in RAM
                        dst[i:i + 1024] = torch.from_numpy(np.array(arr[i:i + 1024]))
                    self._on_device[k] = dst
                logger.info('frame cache on %s (%.2f GB)', device, need / 1e9)
            else:
                logger.info('frame cache %.2f GB > %.0f%% of free device memory; '
                            'gathering on host', need / 1e9, 100 * device_cache_fraction)
        # Vectors are small: always on the device.
        self._state = torch.from_numpy(np.ascontiguousarray(cache.state)).to(device)
        self._action = torch.from_numpy(np.ascontiguousarray(cache.action)).to(device)
        # Drop the observation time axis for single-step policies (ACT, BC); Diffusion keeps it.
        single = len(index.spec.obs_offsets) == 1
        self.single_obs = not time_dim if time_dim is not None else single

    def host_part(self, positions: np.ndarray) -> dict[str, torch.Tensor]:
        """Gather the uint8 images on the host (the part that may run in a worker thread)."""
        obs, act, pad = self.index.rows(positions)
        out = {'_obs': torch.from_numpy(obs), '_act': torch.from_numpy(act),
               'action_is_pad': torch.from_numpy(pad)}
        for k in self.cams:
            if k in self._on_device:
                continue
            t = torch.from_numpy(self.index.cache.images[k][obs.reshape(-1)])
            out[k] = t.pin_memory() if self.device.type == 'cuda' else t
        return out

    def device_part(self, host: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Finish a batch on the device: index vectors, move and convert images."""
        obs = host['_obs'].to(self.device, non_blocking=True)
        act = host['_act'].to(self.device, non_blocking=True)
        b, t_obs = obs.shape
        batch: dict[str, torch.Tensor] = {
            'action_is_pad': host['action_is_pad'].to(self.device, non_blocking=True)}
        state = self._state[obs.reshape(-1)].view(b, t_obs, -1)
        batch[OBS_STATE] = state[:, 0] if self.single_obs else state
        batch[ACTION] = self._action[act.reshape(-1)].view(b, act.shape[1], -1)
        for k in self.cams:
            if k in self._on_device:
                u8 = self._on_device[k].index_select(0, obs.reshape(-1))
            else:
                u8 = host[k].to(self.device, non_blocking=True)
            img = u8.permute(0, 3, 1, 2).float().div_(255.0)
            img = img.view(b, t_obs, *img.shape[1:])
            batch[k] = img[:, 0] if self.single_obs else img
        return batch

    def batch(self, positions: np.ndarray) -> dict[str, torch.Tensor]:
        """Return the batch of the given anchor positions (no prefetch)."""
        return self.device_part(self.host_part(positions))


class Prefetcher:
    """Iterates batches for steps ``start..stop-1``, gathering host data in a background thread."""

    def __init__(self, source: BatchSource, *, batch_size: int, seed: int, start: int, stop: int,
                 rank: int = 0, depth: int = 3) -> None:
        self.source = source
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.range = range(start, stop)
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        n = len(self.source.index)
        try:
            for step in self.range:
                if self._stop.is_set():
                    return
                pos = step_positions(n, self.batch_size, self.seed, step, rank=self.rank)
                self._q.put(self.source.host_part(pos))
        except BaseException as err:  # noqa: BLE001 - re-raised in the consumer
            self._q.put(err)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for _ in self.range:
            item = self._q.get()
            if isinstance(item, BaseException):
                raise item
            yield self.source.device_part(item)

    def close(self) -> None:
        """Stop the worker thread."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._q.get_nowait()
            except queue.Empty:
                self._thread.join(timeout=0.05)
