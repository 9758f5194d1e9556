"""Frame cache: every frame of a dataset decoded once into memory-mappable arrays.

lerobot's loader decodes video for every sample of every step, which starves an accelerator
(Diffusion is data-bound even on an H100). Here each video frame (or PNG) is decoded exactly
once per dataset into ``<camera>.u8`` (``numpy.memmap``, N x H x W x 3 uint8), next to
``state.npy``, ``action.npy`` and ``episode_index.npy``; a training step then slices arrays.

Layout: ``<cache root>/<key>/`` where ``key`` hashes ``meta/info.json`` and the names, sizes and
mtimes of the data, video and episode files, so a changed dataset gets a new cache. The cache
root is ``<dataset>/.imitation_ros_cache`` when writable, else
``$XDG_CACHE_HOME/imitation_ros/frames`` (or ``cache_dir`` when given). A cache is written to a
temporary folder and renamed when complete, so an interrupted build is never used.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imitation_ros.errors import DatasetError
from imitation_ros.profile.keys import ACTION, OBS_STATE

logger = logging.getLogger(__name__)

CACHE_VERSION = 1
CACHE_DIRNAME = '.imitation_ros_cache'


@dataclass(frozen=True)
class FrameCache:
    """Decoded frames and vectors of a dataset, ordered by the dataset's global frame index.

    Attributes:
        root: Dataset root.
        path: Cache folder.
        fps: Frames per second of the dataset.
        state: (N, n) float32 states.
        action: (N, n) float32 actions.
        episode_index: (N,) int64 episode of each frame.
        images: Camera key -> (N, H, W, 3) uint8 memmap.
        episodes: Episode index -> (start, stop) rows (stop exclusive).
        features: The dataset's lerobot features dict.
    """

    root: Path
    path: Path
    fps: float
    state: np.ndarray
    action: np.ndarray
    episode_index: np.ndarray
    images: dict[str, np.ndarray]
    episodes: dict[int, tuple[int, int]]
    features: dict[str, dict[str, Any]]

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.state.shape[0])

    def rows_of(self, episodes: list[int]) -> np.ndarray:
        """Return the rows of the given episodes, in order."""
        parts = [np.arange(*self.episodes[e]) for e in episodes]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def dataset_key(root: Path) -> str:
    """Return a hash of the dataset's metadata and file list (name, size, mtime)."""
    h = hashlib.sha1(f'v{CACHE_VERSION}'.encode())
    info = root / 'meta' / 'info.json'
    h.update(info.read_bytes())
    for sub in ('data', 'videos', 'images', 'meta/episodes'):
        base = root / sub
        if not base.is_dir():
            continue
        for p in sorted(base.rglob('*')):
            if p.is_file():
                st = p.stat()
                h.update(f'{p.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}'.encode())
    return h.hexdigest()[:16]


def _default_cache_root(root: Path) -> Path:
    local = root / CACHE_DIRNAME
    try:
        local.mkdir(exist_ok=True)
        probe = local / f'.probe-{os.getpid()}'
        probe.touch()
        probe.unlink()
        return local
    except OSError:
        base = Path(os.environ.get('XDG_CACHE_HOME', Path.home() / '.cache'))
        return base / 'imitation_ros' / 'frames'


def _load_info(root: Path) -> dict[str, Any]:
    info_path = root / 'meta' / 'info.json'
    if not info_path.is_file():
        msg = f'{root}: not a LeRobot dataset (no meta/info.json)'
        raise DatasetError(msg)
    try:
        return json.loads(info_path.read_text())
    except (OSError, ValueError) as err:
        msg = f'{info_path}: cannot read dataset info: {err}'
        raise DatasetError(msg) from err


def load_features(root: str | Path) -> dict[str, dict[str, Any]]:
    """Return the lerobot features dict of the dataset at ``root``.

    Raises:
        DatasetError: If ``root`` is not a readable LeRobot dataset.
    """
    info = _load_info(Path(root))
    feats = info.get('features')
    if not isinstance(feats, dict):
        msg = f'{root}/meta/info.json: no `features` mapping'
        raise DatasetError(msg)
    return feats


def _read_table(root: Path, subdir: str, columns: list[str] | None = None) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((root / subdir).rglob('*.parquet'))
    if not files:
        msg = f'{root}: no parquet files under {subdir}/'
        raise DatasetError(msg)
    try:
        tables = [pq.read_table(f, columns=columns) for f in files]
    except (OSError, pa.ArrowException) as err:
        msg = f'{root}/{subdir}: cannot read parquet: {err}'
        raise DatasetError(msg) from err
    return pa.concat_tables(tables, promote_options='default')


def _vectors(table: Any, key: str, root: Path) -> np.ndarray:
    col = table.column(key).combine_chunks()
    try:
        flat = np.asarray(col.flatten(), dtype=np.float32)
    except Exception as err:  # noqa: BLE001 - any arrow layout problem is a dataset problem
        msg = f'{root}: feature {key!r} is not a list of floats: {err}'
        raise DatasetError(msg) from err
    n = len(col)
    if n == 0 or flat.size % n:
        msg = f'{root}: feature {key!r} has rows of varying length'
        raise DatasetError(msg)
    return flat.reshape(n, flat.size // n)


def _decode_png_column(table: Any, key: str, out: np.ndarray, root: Path, progress: Any) -> None:
    import cv2

    col = table.column(key)
    for i, item in enumerate(col.to_pylist()):
        data = item.get('bytes') if isinstance(item, dict) else None
        if data is None and isinstance(item, dict) and item.get('path'):
            data = (root / item['path']).read_bytes()
        if data is None:
            msg = f'{root}: feature {key!r} row {i} has no image bytes'
            raise DatasetError(msg)
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None or bgr.shape != out.shape[1:]:
            shape = None if bgr is None else bgr.shape
            msg = (f'{root}: feature {key!r} row {i}: cannot decode to {out.shape[1:]} '
                   f'(got {shape})')
            raise DatasetError(msg)
        out[i] = bgr[:, :, ::-1]
        progress.update(1)


def _decode_videos(root: Path, info: dict[str, Any], key: str, episodes: Any,
                   ep_rows: dict[int, tuple[int, int]], timestamps: np.ndarray,
                   out: np.ndarray, progress: Any) -> None:
    """Decode every video file of camera ``key`` once, writing frames to their rows."""
    import av

    fps = float(info['fps'])
    half = 0.5 / fps
    pattern = info.get('video_path')
    by_file: dict[tuple[int, int], list[tuple[float, int]]] = {}
    for ep in episodes:
        e = int(ep['episode_index'])
        chunk = int(ep[f'videos/{key}/chunk_index'])
        fidx = int(ep[f'videos/{key}/file_index'])
        start, stop = ep_rows[e]
        t0 = float(ep[f'videos/{key}/from_timestamp'])
        targets = by_file.setdefault((chunk, fidx), [])
        targets.extend((t0 + float(timestamps[r]), r) for r in range(start, stop))
    for (chunk, fidx), targets in sorted(by_file.items()):
        path = root / pattern.format(video_key=key, chunk_index=chunk, file_index=fidx)
        targets.sort()
        j = 0
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = 'AUTO'
                for frame in container.decode(stream):
                    if j >= len(targets):
                        break
                    t = float(frame.time)
                    if targets[j][0] < t - half:
                        msg = (f'{path}: no frame near t={targets[j][0]:.4f}s for row '
                               f'{targets[j][1]} of {key!r} (next frame at {t:.4f}s)')
                        raise DatasetError(msg)
                    rgb = None
                    while j < len(targets) and targets[j][0] < t + half:
                        if rgb is None:
                            rgb = frame.to_ndarray(format='rgb24')
                            if rgb.shape != out.shape[1:]:
                                msg = (f'{path}: frames are {rgb.shape}, features say '
                                       f'{out.shape[1:]}')
                                raise DatasetError(msg)
                        out[targets[j][1]] = rgb
                        progress.update(1)
                        j += 1
        except (OSError, av.FFmpegError) as err:
            msg = f'{path}: cannot decode video of {key!r}: {err}'
            raise DatasetError(msg) from err
        if j < len(targets):
            msg = (f'{path}: video of {key!r} ends before t={targets[j][0]:.4f}s '
                   f'({len(targets) - j} frames missing)')
            raise DatasetError(msg)


def _build(root: Path, info: dict[str, Any], dest: Path, progress_bar: bool) -> None:
    from tqdm.auto import tqdm

    features = info['features']
    cams = sorted(k for k, ft in features.items() if ft.get('dtype') in ('image', 'video'))
    vec_keys = [k for k in (OBS_STATE, ACTION) if k in features]
    png_cams = [k for k in cams if features[k]['dtype'] == 'image']
    columns = [*vec_keys, 'episode_index', 'index', 'timestamp', *png_cams]
    table = _read_table(root, 'data', columns)
    order = np.argsort(np.asarray(table.column('index')), kind='stable')
    table = table.take(order)
    ep_index = np.asarray(table.column('episode_index'), dtype=np.int64)
    timestamps = np.asarray(table.column('timestamp'), dtype=np.float64)
    n = len(ep_index)
    for key in vec_keys:
        np.save(dest / f'{key}.npy', _vectors(table, key, root))
    np.save(dest / 'episode_index.npy', ep_index)
    change = np.flatnonzero(np.diff(ep_index)) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [n]])
    ep_rows = {int(ep_index[s]): (int(s), int(e)) for s, e in zip(starts, stops)}
    if len(ep_rows) != len(starts):
        msg = f'{root}: episodes are not contiguous in the data files'
        raise DatasetError(msg)
    episodes = None
    if any(features[k]['dtype'] == 'video' for k in cams):
        episodes = _read_table(root, 'meta/episodes').to_pylist()
    with tqdm(total=n * len(cams), desc=f'decoding frames of {root.name}', unit='frame',
              disable=not progress_bar or not cams) as bar:
        for key in cams:
            h, w, c = features[key]['shape']
            mm = np.lib.format.open_memmap(dest / f'{key}.npy', mode='w+', dtype=np.uint8,
                                           shape=(n, h, w, c))
            if features[key]['dtype'] == 'image':
                _decode_png_column(table, key, mm, root, bar)
            else:
                _decode_videos(root, info, key, episodes, ep_rows, timestamps, mm, bar)
            mm.flush()
            del mm
    meta = {'version': CACHE_VERSION, 'n_frames': n, 'cameras': cams, 'fps': info['fps'],
            'episodes': {str(k): list(v) for k, v in ep_rows.items()}}
    (dest / 'cache.json').write_text(json.dumps(meta, indent=1))


def open_cache(root: str | Path, *, cache_dir: str | Path | None = None,
               progress: bool = True) -> FrameCache:
    """Open the frame cache of a dataset, building it first if needed.

    Args:
        root: LeRobot dataset root (v3 layout, videos or images).
        cache_dir: Where caches live; default ``<root>/.imitation_ros_cache`` (or the user cache
            when the dataset is read-only).
        progress: Show a progress bar while decoding.

    Returns:
        The cache, images memory-mapped read-only.

    Raises:
        DatasetError: If the dataset cannot be read or its frames cannot be decoded.
    """
    root = Path(root).expanduser().resolve()
    info = _load_info(root)
    key = dataset_key(root)
    base = Path(cache_dir) if cache_dir else _default_cache_root(root)
    path = base / key
    if not (path / 'cache.json').is_file():
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f'{key}.tmp-', dir=base))
        logger.info('building frame cache of %s in %s', root, path)
        try:
            _build(root, info, tmp, progress)
            try:
                tmp.rename(path)
            except OSError:  # another process finished first
                if not (path / 'cache.json').is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    meta = json.loads((path / 'cache.json').read_text())
    features = info['features']
    images = {k: np.load(path / f'{k}.npy', mmap_mode='r') for k in meta['cameras']}
    state = np.load(path / f'{OBS_STATE}.npy') if (path / f'{OBS_STATE}.npy').is_file() else None
    action = np.load(path / f'{ACTION}.npy') if (path / f'{ACTION}.npy').is_file() else None
    n = meta['n_frames']
    return FrameCache(
        root=root, path=path, fps=float(meta['fps']),
        state=state if state is not None else np.zeros((n, 0), np.float32),
        action=action if action is not None else np.zeros((n, 0), np.float32),
        episode_index=np.load(path / 'episode_index.npy'),
        images=images,
        episodes={int(k): (int(v[0]), int(v[1])) for k, v in meta['episodes'].items()},
        features=features,
    )
