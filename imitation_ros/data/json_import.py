"""Import the seed's JSON demonstrations into a LeRobotDataset (same format as converted bags).

The seed's ``DemoCollector.save`` writes a list of episodes::

    [{"observations": [[...], ...], "actions": [[...], ...], "timestamps": [t0, t1, ...]}, ...]

Observations become ``observation.state`` and actions ``action`` (no cameras). By default
every row becomes one frame (lossless) and the fps is the given one, the profile's, or the
median rate of the timestamps. With ``resample=True`` rows are aligned to ticks at ``fps``
through the same ``StreamBuffer`` as bags (newest row at or before each tick, at most
``max_age_s`` old; older ticks are dropped and counted).
"""
from __future__ import annotations

import contextlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.data.quality import EpisodeQuality, write_report
from imitation_ros.data.writer import create_dataset, dataset_fps
from imitation_ros.errors import DatasetError
from imitation_ros.frames import StreamBuffer, frame_times_ns
from imitation_ros.frames.resample import NS_PER_S
from imitation_ros.profile.keys import ACTION, OBS_STATE, TASK

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from imitation_ros.profile.model import RobotProfile

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JsonEpisode:
    """One validated episode of the JSON file."""

    observations: NDArray[np.float32]
    actions: NDArray[np.float32]
    timestamps_s: NDArray[np.float64]


def load_json_demos(path: str | Path) -> list[JsonEpisode]:
    """Read and validate a seed JSON file.

    Raises:
        DatasetError: Not JSON, not a list of episodes, missing or ragged lists, non-finite
            values, decreasing timestamps; the message names the file, episode and field.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except OSError as err:
        msg = f'{path}: cannot read: {err.strerror or err}'
        raise DatasetError(msg) from None
    except ValueError as err:
        msg = f'{path}: not valid JSON: {err}'
        raise DatasetError(msg) from None
    if not isinstance(data, list) or not data:
        msg = f'{path}: expected a non-empty list of episodes, got {type(data).__name__}'
        raise DatasetError(msg)
    out = []
    dims: tuple[int, int] | None = None
    for i, ep in enumerate(data):
        ctx = f'{path}: episode {i}'
        if not isinstance(ep, dict):
            msg = f'{ctx}: expected an object with observations, actions, timestamps'
            raise DatasetError(msg)
        missing = [k for k in ('observations', 'actions', 'timestamps') if k not in ep]
        if missing:
            msg = f'{ctx}: missing field(s) {missing}'
            raise DatasetError(msg)
        arrays = {}
        for name in ('observations', 'actions', 'timestamps'):
            try:
                arr = np.asarray(ep[name], dtype=np.float64)
            except (TypeError, ValueError):
                msg = f'{ctx}: {name} must be numbers of one length per row'
                raise DatasetError(msg) from None
            want = 1 if name == 'timestamps' else 2
            if arr.ndim != want or len(arr) == 0:
                msg = f'{ctx}: {name} must be a non-empty {want}-D list, got shape {arr.shape}'
                raise DatasetError(msg)
            if not np.isfinite(arr).all():
                msg = f'{ctx}: {name} has non-finite values'
                raise DatasetError(msg)
            arrays[name] = arr
        n = {k: len(v) for k, v in arrays.items()}
        if len(set(n.values())) != 1:
            msg = f'{ctx}: lists differ in length {n}'
            raise DatasetError(msg)
        if np.any(np.diff(arrays['timestamps']) < 0):
            msg = f'{ctx}: timestamps decrease'
            raise DatasetError(msg)
        d = (arrays['observations'].shape[1], arrays['actions'].shape[1])
        if dims is not None and d != dims:
            msg = f'{ctx}: observation/action sizes {d} differ from episode 0 {dims}'
            raise DatasetError(msg)
        dims = d
        out.append(JsonEpisode(arrays['observations'].astype(np.float32),
                               arrays['actions'].astype(np.float32), arrays['timestamps']))
    return out


def infer_fps(episodes: list[JsonEpisode]) -> float:
    """Return the median rate of the timestamps, rounded to a whole number of Hz."""
    diffs = np.concatenate([np.diff(e.timestamps_s) for e in episodes])
    diffs = diffs[diffs > 0]
    if not len(diffs):
        msg = 'cannot infer fps: no two rows with different timestamps; pass fps'
        raise DatasetError(msg)
    return float(max(1, round(1.0 / float(np.median(diffs)))))


def _resample(ep: JsonEpisode, fps: float, max_age_s: float) -> tuple[np.ndarray, np.ndarray,
                                                                       int]:
    ts = np.round(ep.timestamps_s * NS_PER_S).astype(np.int64)
    buf = StreamBuffer('json', int(max_age_s * NS_PER_S))
    for j, t in enumerate(ts.tolist()):
        buf.push(t, j)
    rows, dropped = [], 0
    for t in frame_times_ns(int(ts[0]), int(ts[-1]), fps).tolist():
        look = buf.at(t)
        if look.ok:
            rows.append(look.value)
        else:
            dropped += 1
    idx = np.array(rows, dtype=np.int64)
    return ep.observations[idx], ep.actions[idx], dropped


def import_json(
    path: str | Path,
    out: str | Path,
    *,
    fps: float | None = None,
    task: str | None = None,
    profile: RobotProfile | None = None,
    resample: bool = False,
    max_age_s: float | None = None,
    repo_id: str | None = None,
) -> dict[str, Any]:
    """Write the episodes of a seed JSON file as a LeRobotDataset at ``out``.

    Args:
        path: The JSON file.
        out: Dataset folder (must not exist); written next to it first, renamed when done.
        fps: Dataset fps (default: profile's, else inferred from the timestamps).
        task: Task text (default: profile's task, else 'demonstration').
        profile: Optional profile: joint names for state/action when the sizes match.
        resample: Align rows to ticks at ``fps`` instead of one frame per row.
        max_age_s: With ``resample``: oldest row a tick may use (default 1.5 / fps).
        repo_id: Dataset repo id (default ``local/<out name>``).

    Returns:
        Summary: episodes, frames, dropped ticks, fps, report path.

    Raises:
        DatasetError: Bad JSON (see ``load_json_demos``) or ``out`` exists.
    """
    path, out = Path(path), Path(out).absolute()
    if out.exists():
        msg = f'{out} exists; import-json writes a new dataset'
        raise DatasetError(msg)
    episodes = load_json_demos(path)
    rate = float(fps or (profile.fps if profile else 0) or infer_fps(episodes))
    dataset_fps(rate)
    max_age = max_age_s if max_age_s is not None else 1.5 / rate
    task = task or (profile.task if profile else '') or 'demonstration'
    obs_dim, act_dim = episodes[0].observations.shape[1], episodes[0].actions.shape[1]

    def names(n: int, prefix: str) -> list[str]:
        if profile is not None and profile.n_joints == n:
            return list(profile.joint_names)
        return [f'{prefix}_{k}' for k in range(n)]

    features = {
        OBS_STATE: {'dtype': 'float32', 'shape': (obs_dim,), 'names': names(obs_dim, 'obs')},
        ACTION: {'dtype': 'float32', 'shape': (act_dim,), 'names': names(act_dim, 'act')},
    }
    tmp = out.with_name(f'.{out.name}.importing')
    shutil.rmtree(tmp, ignore_errors=True)
    records = []
    total = dropped_total = 0
    try:
        ds = create_dataset(tmp, repo_id or f'local/{out.name}', rate, features,
                            robot_type=profile.name if profile else None)
        try:
            for i, ep in enumerate(episodes):
                if resample:
                    obs, act, dropped = _resample(ep, rate, max_age)
                else:
                    obs, act, dropped = ep.observations, ep.actions, 0
                ts = ep.timestamps_s
                gap = float(np.diff(ts).max()) if len(ts) > 1 else 0.0
                dur = float(ts[-1] - ts[0])
                kept = len(obs) > 0
                for k in range(len(obs)):
                    ds.add_frame({OBS_STATE: obs[k], ACTION: act[k], TASK: task})
                if kept:
                    # lerobot's parallel encoding forks a process pool from a threaded process (DDS,
                    # torch, tqdm): children can deadlock on a lock held at fork. Encode in-process.
                    ds.save_episode(parallel_encoding=False)
                records.append(EpisodeQuality(
                    bag=str(path), episode_index=i, status='unlabelled', task=task, reason='',
                    start_s=float(ts[0]), duration_s=dur, ticks=len(obs) + dropped,
                    frames=len(obs), dropped_frames=dropped,
                    dropped_per_stream={'json': dropped}, largest_gap_s={'json': gap},
                    messages={'json': len(ts)},
                    rate_hz={'json': (len(ts) - 1) / dur if dur > 0 else 0.0},
                    lag_median_s={}, lag_max_s={}, camera_lag_s={}, kept=kept,
                    dataset_episode=None,
                ))
                total += len(obs)
                dropped_total += dropped
        except BaseException:
            with contextlib.suppress(Exception):   # keep the first error, not this one
                ds.finalize()
            raise
        ds.finalize()
        n_ep = 0
        for rec in records:
            if rec.kept:
                rec.dataset_episode = n_ep
                n_ep += 1
        if not n_ep:
            msg = f'{path}: no frames to import'
            raise DatasetError(msg)
        meta = {'settings': {'source': str(path), 'fps': rate, 'resample': resample,
                             'max_age_s': max_age if resample else None}}
        report, _ = write_report([r.to_dict() for r in records], tmp / 'quality', meta=meta)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {'out': out, 'episodes': n_ep, 'frames': total, 'dropped': dropped_total,
            'fps': rate, 'report': out / 'quality' / 'report.json'}
