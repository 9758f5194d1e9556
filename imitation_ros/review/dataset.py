"""What the review page shows of a LeRobotDataset: per-episode metrics, flags, series, frames.

Read straight from the dataset's files (``meta/info.json``, ``meta/episodes``, ``data``
parquet, the converter's ``quality/report.json`` when there is one), without lerobot, so a
dataset lerobot cannot load still gets a page that names its problem.

Per-episode metrics (beside the converter's camera lag, dropped frames and rates):

* ``jerk``: mean over joints of the RMS third derivative of the joint state, rad/s^3;
* ``static_frac``: fraction of frames whose commanded joints (action) move slower than
  ``STATIC_RAD_S`` on every joint (the operator hesitated or waited);
* ``duration_z``: robust z-score of the duration among the dataset's episodes
  ((d - median) / (1.4826 MAD));
* ``lag_s``: delay of the state behind the action, s: the shift in 0..0.5 s that best
  correlates the action's frame-to-frame change with the state's;
* ``human_frac``: fraction of frames a person drove (the ``intervention`` feature, DAgger);
* ``stale``: frames whose state repeats the previous frame's exactly (a stream that stalled).

The episode view also marks ``jumps``: frames whose state step is a spike against its
neighbours', which is how ticks the converter dropped (a stale stream) show in the data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imitation_ros.errors import DatasetError

STATIC_RAD_S = 0.02
MAX_LAG_S = 0.5
#: Flag thresholds (name -> why), see :func:`flags_of`.
DURATION_Z = 2.5
JERK_Z = 3.5
STATIC_FRAC = 0.4
DROPPED_FRAC = 0.05
CAMERA_LAG_S = 0.1
STALE_FRAC = 0.05


@dataclass
class ReviewDataset:
    """A dataset opened for review: metadata, frames table and per-episode metrics."""

    root: Path
    info: dict[str, Any]
    episodes: list[dict[str, Any]]
    frames: Any                       # pandas DataFrame of every data parquet, in index order
    quality: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Frame rate of the dataset."""
        return float(self.info['fps'])

    @property
    def video_keys(self) -> list[str]:
        """Camera features stored as video."""
        return [k for k, v in self.info['features'].items() if v.get('dtype') == 'video']

    def joint_names(self, key: str) -> list[str]:
        """Names of the entries of a vector feature (``j0..`` when unnamed)."""
        ft = self.info['features'].get(key, {})
        names = ft.get('names')
        if isinstance(names, dict):
            names = next(iter(names.values()), None)
        n = int(np.prod(ft.get('shape', [0])))
        return list(names) if isinstance(names, list) and len(names) == n else \
            [f'j{i}' for i in range(n)]

    def episode_frames(self, ep: int) -> Any:
        """The frames table rows of episode ``ep``."""
        meta = self.episode_meta(ep)
        lo, hi = int(meta['dataset_from_index']), int(meta['dataset_to_index'])
        return self.frames.iloc[lo:hi]

    def episode_meta(self, ep: int) -> dict[str, Any]:
        """Row of ``meta/episodes`` of episode ``ep``.

        Raises:
            DatasetError: No such episode.
        """
        if not 0 <= ep < len(self.episodes):
            msg = f'{self.root}: no episode {ep} ({len(self.episodes)} episodes)'
            raise DatasetError(msg)
        return self.episodes[ep]

    def series(self, ep: int, key: str) -> np.ndarray:
        """(T, n) float array of a vector feature of one episode."""
        rows = self.episode_frames(ep)
        if key not in rows.columns:
            return np.zeros((len(rows), 0))
        return np.stack([np.asarray(v, dtype=np.float64).reshape(-1) for v in rows[key]])

    def videos(self, ep: int) -> list[dict[str, Any]]:
        """Per camera: the mp4 path relative to the root and the episode's span in it, s."""
        meta = self.episode_meta(ep)
        out = []
        for key in self.video_keys:
            rel = self.info['video_path'].format(
                video_key=key, chunk_index=int(meta[f'videos/{key}/chunk_index']),
                file_index=int(meta[f'videos/{key}/file_index']))
            out.append({'key': key, 'path': rel,
                        'from_s': float(meta[f'videos/{key}/from_timestamp']),
                        'to_s': float(meta[f'videos/{key}/to_timestamp'])})
        return out


def open_dataset(root: str | Path) -> ReviewDataset:
    """Read a LeRobot v3 dataset's metadata and frames.

    Raises:
        DatasetError: A file is missing or malformed (the message names it).
    """
    import pandas as pd

    root = Path(root).absolute()
    info_path = root / 'meta' / 'info.json'
    try:
        info = json.loads(info_path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        msg = f'{info_path}: missing; {root} is not a LeRobot dataset'
        raise DatasetError(msg) from None
    except (OSError, json.JSONDecodeError) as err:
        msg = f'{info_path}: not valid JSON ({err})'
        raise DatasetError(msg) from None
    for key in ('fps', 'features', 'data_path'):
        if key not in info:
            msg = f'{info_path}: no "{key}" entry (a LeRobot v3 info.json has one)'
            raise DatasetError(msg)
    if str(info.get('codebase_version', '')) != 'v3.0':
        msg = (f'{info_path}: codebase_version {info.get("codebase_version")!r}; the review '
               f'reads LeRobot v3.0 datasets')
        raise DatasetError(msg)

    def read(folder: str) -> Any:
        files = sorted((root / folder).rglob('*.parquet'))
        if not files:
            msg = f'{root / folder}: no parquet files'
            raise DatasetError(msg)
        try:
            return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        except Exception as err:  # noqa: BLE001 - pyarrow raises many kinds
            msg = f'{root / folder}: cannot read parquet ({type(err).__name__}: {err})'
            raise DatasetError(msg) from None

    eps = read('meta/episodes')
    if 'episode_index' not in eps.columns:
        msg = f'{root / "meta/episodes"}: no episode_index column'
        raise DatasetError(msg)
    eps = eps.sort_values('episode_index')
    episodes = [{k: v for k, v in row.items() if not k.startswith('stats/')}
                for row in eps.to_dict('records')]
    frames = read('data').sort_values('index').reset_index(drop=True)
    if len(frames) != int(info.get('total_frames', len(frames))):
        msg = (f'{root / "data"}: {len(frames)} frames, meta/info.json says '
               f'{info.get("total_frames")}')
        raise DatasetError(msg)
    ds = ReviewDataset(root=root, info=info, episodes=episodes, frames=frames)
    report = root / 'quality' / 'report.json'
    if report.is_file():
        try:
            doc = json.loads(report.read_text(encoding='utf-8'))
            ds.quality = {int(r['dataset_episode']): r for r in doc.get('episodes', [])
                          if r.get('dataset_episode') is not None}
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            msg = f'{report}: unreadable quality report ({err})'
            raise DatasetError(msg) from None
    return ds


# -- metrics ----------------------------------------------------------------------------------
def jerk(state: np.ndarray, fps: float) -> float:
    """Mean over joints of the RMS third derivative of ``state`` (T, n), units/s^3."""
    if len(state) < 4 or state.shape[1] == 0:
        return 0.0
    d3 = np.diff(state, 3, axis=0) * fps ** 3
    return float(np.sqrt((d3 ** 2).mean(axis=0)).mean())


def static_fraction(action: np.ndarray, fps: float, thresh: float = STATIC_RAD_S) -> float:
    """Fraction of frame steps in which every commanded joint moves slower than ``thresh``."""
    if len(action) < 2 or action.shape[1] == 0:
        return 0.0
    speed = np.abs(np.diff(action, axis=0)).max(axis=1) * fps
    return float((speed < thresh).mean())


def action_state_lag(action: np.ndarray, state: np.ndarray, fps: float,
                     max_lag_s: float = MAX_LAG_S) -> float | None:
    """Delay of ``state`` behind ``action``, s (None when either does not move)."""
    if len(action) < 4 or action.shape != state.shape or action.shape[1] == 0:
        return None
    da = np.diff(action, axis=0)
    ds = np.diff(state, axis=0)
    da -= da.mean(axis=0)
    ds -= ds.mean(axis=0)
    if not (np.abs(da).sum() > 0 and np.abs(ds).sum() > 0):
        return None
    best, best_k = -np.inf, 0
    for k in range(min(int(round(max_lag_s * fps)), len(da) - 2) + 1):
        a, s = da[:len(da) - k], ds[k:]
        num = float((a * s).sum())
        den = float(np.sqrt((a ** 2).sum() * (s ** 2).sum()))
        c = num / den if den > 0 else -np.inf
        if c > best:
            best, best_k = c, k
    return best_k / fps


def stale_frames(state: np.ndarray) -> list[int]:
    """Frame indices whose state repeats the previous frame's exactly."""
    if len(state) < 2 or state.shape[1] == 0:
        return []
    return [int(i) + 1 for i in np.flatnonzero((np.diff(state, axis=0) == 0).all(axis=1))]


def jumps(state: np.ndarray, factor: float = 3.0) -> list[int]:
    """Frames whose state step (norm over joints) is a spike: ``factor`` x both neighbouring
    steps and 2 x the episode's median step.

    The converter drops ticks with a stale stream and keeps the timestamps contiguous, so a
    dropout shows in the data as such a spike; smooth motion, however fast, does not.
    """
    if len(state) < 4 or state.shape[1] == 0:
        return []
    step = np.linalg.norm(np.diff(state, axis=0), axis=1)
    med = float(np.median(step))
    mid = step[1:-1]
    spike = ((mid > factor * np.maximum(step[:-2], step[2:])) & (mid > 2 * med)
             & (mid > 1e-3))
    return [int(i) + 2 for i in np.flatnonzero(spike)]


def robust_z(values: list[float]) -> list[float]:
    """(v - median) / (1.4826 MAD); with 1.2533 x mean absolute deviation when MAD is 0."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 3:
        return [0.0] * len(v)
    med = np.median(v)
    scale = 1.4826 * np.median(np.abs(v - med))
    if scale <= 1e-12:      # over half the values equal: the mean absolute deviation instead
        scale = 1.2533 * float(np.abs(v - med).mean())
    if scale <= 1e-12:
        return [0.0] * len(v)
    return [float(x) for x in (v - med) / scale]


def flags_of(m: dict[str, Any]) -> list[str]:
    """The outlier flags of one episode's metrics (thresholds: the module constants)."""
    out = []
    if abs(m['duration_z']) > DURATION_Z:
        out.append('duration')
    if m['jerk_z'] > JERK_Z:
        out.append('jerky')
    if m['static_frac'] > STATIC_FRAC:
        out.append('static')
    if m['dropped_frac'] is not None and m['dropped_frac'] > DROPPED_FRAC:
        out.append('dropouts')
    if m['camera_lag_s'] is not None and m['camera_lag_s'] > CAMERA_LAG_S:
        out.append('camera lag')
    if m['stale'] > STALE_FRAC * max(m['frames'], 1):
        out.append('stale')
    if m['human_frac']:
        out.append('human')
    return out


def episode_metrics(ds: ReviewDataset) -> list[dict[str, Any]]:
    """One dict per episode: identity, converter quality, the metrics above and flags."""
    rows = []
    for ep, meta in enumerate(ds.episodes):
        state, action = ds.series(ep, 'observation.state'), ds.series(ep, 'action')
        frames = ds.episode_frames(ep)
        human = None
        if 'intervention' in frames.columns:
            iv = np.array([bool(np.asarray(v).reshape(-1)[0]) for v in frames['intervention']])
            human = float(iv.mean()) if len(iv) else 0.0
        q = ds.quality.get(ep, {})
        lags = [v for v in (q.get('camera_lag_s') or {}).values() if v is not None]
        ticks = q.get('ticks')
        tasks = meta.get('tasks')
        rows.append({
            'episode': ep,
            'task': '; '.join(str(t) for t in tasks) if tasks is not None else '',
            'frames': int(meta['length']),
            'duration_s': float(q.get('duration_s') or int(meta['length']) / ds.fps),
            'status': q.get('status'),
            'success': {'success': True, 'failed': False}.get(q.get('status', '')),
            'camera_lag_s': max(lags) if lags else None,
            'dropped_frames': q.get('dropped_frames'),
            'dropped_frac': (q['dropped_frames'] / ticks) if ticks else None,
            'rate_hz': q.get('rate_hz') or {},
            'largest_gap_s': max((q.get('largest_gap_s') or {}).values(), default=None),
            'jerk': jerk(state, ds.fps),
            'static_frac': static_fraction(action, ds.fps),
            'lag_s': action_state_lag(action, state, ds.fps),
            'human_frac': human,
            'stale': len(stale_frames(state)),
        })
    for r, z in zip(rows, robust_z([r['duration_s'] for r in rows]), strict=True):
        r['duration_z'] = z
    for r, z in zip(rows, robust_z([r['jerk'] for r in rows]), strict=True):
        r['jerk_z'] = z
    for r in rows:
        r['flags'] = flags_of(r)
    return rows


def episode_detail(ds: ReviewDataset, ep: int) -> dict[str, Any]:
    """Everything the episode view draws: series, intervention, stale frames, videos."""
    frames = ds.episode_frames(ep)
    state, action = ds.series(ep, 'observation.state'), ds.series(ep, 'action')
    iv: list[bool] = []
    if 'intervention' in frames.columns:
        iv = [bool(np.asarray(v).reshape(-1)[0]) for v in frames['intervention']]
    return {
        'episode': ep,
        'fps': ds.fps,
        't': [float(t) for t in frames['timestamp']],
        'state_names': ds.joint_names('observation.state'),
        'action_names': ds.joint_names('action'),
        'state': np.round(state, 5).T.tolist(),
        'action': np.round(action, 5).T.tolist(),
        'intervention': iv,
        'stale': stale_frames(state),
        'jumps': jumps(state),
        'videos': ds.videos(ep),
        'quality': ds.quality.get(ep),
    }


def thumbnail_strip(ds: ReviewDataset, ep: int, *, n: int = 4, height: int = 48) -> bytes:
    """A JPEG of ``n`` frames of the episode's first camera side by side (empty: no camera)."""
    import io

    import av
    from PIL import Image

    vids = ds.videos(ep)
    if not vids:
        return b''
    v = vids[0]
    span = max(v['to_s'] - v['from_s'], 1e-3)
    wanted = [v['from_s'] + span * (i + 0.5) / n for i in range(n)]
    images: list[Any] = []
    with av.open(str(ds.root / v['path'])) as container:
        stream = container.streams.video[0]
        for t in wanted:
            container.seek(int(t / float(stream.time_base)), stream=stream, backward=True)
            pick = None
            for frame in container.decode(stream):
                pick = frame
                if frame.time is not None and frame.time >= t - 0.5 / ds.fps:
                    break
            if pick is not None:
                images.append(pick.to_image())
    if not images:
        return b''
    w = int(images[0].width * height / images[0].height)
    strip = Image.new('RGB', (w * len(images), height))
    for i, im in enumerate(images):
        strip.paste(im.resize((w, height)), (i * w, 0))
    buf = io.BytesIO()
    strip.save(buf, format='JPEG', quality=80)
    return buf.getvalue()
