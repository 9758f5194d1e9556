"""Writing aligned episodes with lerobot's own writer (LeRobotDataset v3), and merging.

lerobot is imported inside the functions (it pulls torch in).
"""
from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.data.bags import read_images
from imitation_ros.errors import DatasetError
from imitation_ros.profile.keys import ACTION, OBS_STATE, TASK

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from numpy.typing import NDArray

    from imitation_ros.data.align import AlignedEpisode
    from imitation_ros.frames import FrameAssembler
    from imitation_ros.profile import RobotProfile

logger = logging.getLogger(__name__)

#: Per-frame bool feature: a person (the DAgger expert) had control at the frame's tick.
INTERVENTION = 'intervention'


def dataset_features(profile: RobotProfile, *, intervention: bool = False
                     ) -> dict[str, dict[str, Any]]:
    """The profile's lerobot features, plus ``intervention`` (bool) when asked."""
    feats = profile.features()
    if intervention:
        feats[INTERVENTION] = {'dtype': 'bool', 'shape': (1,), 'names': None}
    return feats


def dataset_fps(fps: float) -> int:
    """Return ``fps`` as the integer lerobot stores.

    Raises:
        DatasetError: ``fps`` is not a whole number.
    """
    if abs(fps - round(fps)) > 1e-9 or fps < 1:
        msg = f'fps must be a whole number >= 1 for a LeRobotDataset, got {fps}'
        raise DatasetError(msg)
    return int(round(fps))


def create_dataset(
    root: Path,
    repo_id: str,
    fps: float,
    features: dict[str, dict[str, Any]],
    *,
    robot_type: str | None = None,
    vcodec: str = 'libsvtav1',
    image_writer_threads: int = 0,
    streaming_encoding: bool = False,
) -> Any:
    """Create an empty LeRobotDataset at ``root`` (which must not exist).

    Args:
        root: Dataset folder.
        repo_id: Dataset repo id.
        fps: Frame rate (a whole number).
        features: lerobot features dict.
        robot_type: Stored in the dataset info.
        vcodec: Video codec.
        image_writer_threads: Threads writing the PNG frames videos are encoded from.
        streaming_encoding: Feed frames straight to lerobot's video encoder threads (no PNG
            round trip, about 2x faster); ``write_episodes`` then waits for the encoder
            instead of letting lerobot drop frames, and checks that none was dropped.
    """
    LeRobotDataset = _lerobot_dataset_class()  # noqa: N806 - a class
    use_videos = any(f['dtype'] == 'video' for f in features.values())
    return LeRobotDataset.create(
        repo_id=repo_id, fps=dataset_fps(fps), features=features, root=root,
        robot_type=robot_type, use_videos=use_videos, vcodec=vcodec,
        image_writer_threads=image_writer_threads,
        streaming_encoding=streaming_encoding and use_videos,
        encoder_queue_maxsize=ENCODER_QUEUE,
    )


def _lerobot_dataset_class() -> Any:
    try:
        from lerobot.datasets.lerobot_dataset import LeRobotDataset
    except ImportError as err:
        msg = (f'writing a LeRobotDataset needs lerobot 0.4.4 ({err}); install it with '
               f'`pip install imitation_ros[learn]`')
        raise DatasetError(msg) from err
    return LeRobotDataset


#: Frames queued per camera for lerobot's streaming encoder.
ENCODER_QUEUE = 30


def _wait_for_encoder(dataset: Any) -> None:
    """Block while a streaming-encoder queue is nearly full (lerobot would drop the frame)."""
    enc = getattr(dataset, '_streaming_encoder', None)
    if enc is None:
        return
    queues = getattr(enc, '_frame_queues', {})
    while any(q.qsize() >= ENCODER_QUEUE - 1 for q in queues.values()):
        time.sleep(0.002)


def _check_no_drops(dataset: Any, where: Path) -> None:
    enc = getattr(dataset, '_streaming_encoder', None)
    dropped = dict(getattr(enc, '_dropped_frames', {}) or {}) if enc is not None else {}
    if any(dropped.values()):
        msg = f'{where}: lerobot\'s streaming encoder dropped frames {dropped}'
        raise DatasetError(msg)


def iter_frames(
    bag: Path, asm: FrameAssembler, episodes: Sequence[AlignedEpisode],
) -> Iterator[tuple[int, int, dict[str, NDArray[np.uint8]]]]:
    """Yield ``(episode position, frame position, images by camera key)`` in order.

    Images are decoded in one pass over the bag's camera topics; each decoded image is kept
    only until the last frame that uses it has been yielded.
    """
    order = [(e, f) for e, ep in enumerate(episodes) for f in range(len(ep))]
    cam_keys = [k for k in asm.keys if k not in (OBS_STATE, ACTION)]
    if not cam_keys:
        for e, f in order:
            yield e, f, {}
        return
    refs: dict[tuple[str, int], int] = {}
    for e, f in order:
        for key in cam_keys:
            idx = (key, int(episodes[e].cam_index[key][f]))
            refs[idx] = refs.get(idx, 0) + 1
    needed: dict[str, set[int]] = {k: set() for k in cam_keys}
    for key, i in refs:
        needed[key].add(i)
    ready: dict[tuple[str, int], NDArray[np.uint8]] = {}
    pos = 0
    for key, i, rgb in read_images(bag, asm, needed):
        ready[(key, i)] = rgb
        while pos < len(order):
            e, f = order[pos]
            want = [(k, int(episodes[e].cam_index[k][f])) for k in cam_keys]
            if not all(w in ready for w in want):
                break
            yield e, f, {k: ready[w] for k, w in zip(cam_keys, want, strict=True)}
            for w in want:
                refs[w] -= 1
                if refs[w] == 0:
                    del ready[w]
            pos += 1
    if pos < len(order):
        msg = f'{bag}: {len(order) - pos} frame(s) reference camera messages that were not read'
        raise DatasetError(msg)


def write_episodes(
    dataset: Any, bag: Path, asm: FrameAssembler, episodes: Sequence[AlignedEpisode],
) -> int:
    """Add every frame of ``episodes`` to ``dataset`` and save one dataset episode each.

    Episodes without frames are skipped. Returns the number of episodes saved.
    """
    episodes = [ep for ep in episodes if len(ep)]
    with_iv = INTERVENTION in (getattr(getattr(dataset, 'meta', None), 'features', None) or {})
    saved = 0
    for e, f, images in iter_frames(bag, asm, episodes):
        ep = episodes[e]
        frame: dict[str, Any] = {
            OBS_STATE: ep.state[f],
            ACTION: ep.action[f],
            TASK: ep.episode.task,
        }
        if with_iv:
            frame[INTERVENTION] = np.array([bool(ep.intervention[f])])
        frame.update(images)
        _wait_for_encoder(dataset)
        dataset.add_frame(frame)
        if f == len(ep) - 1:
            _check_no_drops(dataset, bag)
            # lerobot's parallel encoding forks a process pool from a threaded process (DDS,
            # torch, tqdm): children can deadlock on a lock held at fork. Encode in-process.
            dataset.save_episode(parallel_encoding=False)
            saved += 1
    return saved


def merge_datasets(roots: Sequence[Path], repo_id: str, out: Path) -> None:
    """Concatenate LeRobotDatasets (same features and fps) into a new one at ``out``.

    Uses lerobot's ``aggregate_datasets`` (videos are concatenated without re-encoding;
    statistics are merged).
    """
    from lerobot.datasets.aggregate import aggregate_datasets

    if not roots:
        msg = f'{out}: nothing to merge'
        raise DatasetError(msg)
    aggregate_datasets(repo_ids=[repo_id] * len(roots), aggr_repo_id=repo_id,
                       roots=list(roots), aggr_root=out)


def fix_image_stats(root: Path, *, max_frames: int = 3000) -> dict[str, dict[str, list[float]]]:
    """Recompute the image statistics of ``meta/stats.json`` in floating point.

    lerobot 0.4.4 computes image std from squared uint8 pixels, which overflow: its
    ``stats.json`` holds image std values near 0.0005 instead of about 0.2, and a policy
    normalizing images with them (``lerobot-train``, mean/std) sees values in the hundreds.
    This decodes the dataset's videos (at most ``max_frames`` frames per camera, evenly
    spread), computes per-channel mean and std of pixels scaled to [0, 1] with float64
    accumulation, and rewrites those two entries (shape (3, 1, 1), lerobot's layout).

    Returns:
        Camera key -> {'mean': [...], 'std': [...]} as written.

    Raises:
        DatasetError: A video cannot be decoded.
    """
    import av

    stats_path = root / 'meta' / 'stats.json'
    info = json.loads((root / 'meta' / 'info.json').read_text(encoding='utf-8'))
    stats = json.loads(stats_path.read_text(encoding='utf-8'))
    out: dict[str, dict[str, list[float]]] = {}
    for key, feat in info['features'].items():
        if feat.get('dtype') != 'video':
            continue
        files = sorted((root / 'videos' / key).rglob('*.mp4'))
        total = int(info.get('total_frames', 0)) or max_frames
        stride = max(1, total // max_frames)
        acc = np.zeros(3, dtype=np.float64)
        acc2 = np.zeros(3, dtype=np.float64)
        n = 0
        k = 0
        for path in files:
            try:
                with av.open(str(path)) as container:
                    for frame in container.decode(video=0):
                        k += 1
                        if (k - 1) % stride:
                            continue
                        img = frame.to_ndarray(format='rgb24').astype(np.float64) / 255.0
                        acc += img.mean(axis=(0, 1))
                        acc2 += (img ** 2).mean(axis=(0, 1))
                        n += 1
            except av.error.FFmpegError as err:
                msg = f'{path}: cannot decode video to compute image statistics: {err}'
                raise DatasetError(msg) from err
        if n == 0:
            continue
        mean = acc / n
        std = np.sqrt(np.maximum(acc2 / n - mean ** 2, 0.0))
        entry = stats.setdefault(key, {})
        entry['mean'] = [[[float(v)]] for v in mean]
        entry['std'] = [[[float(v)]] for v in std]
        out[key] = {'mean': mean.tolist(), 'std': std.tolist()}
    stats_path.write_text(json.dumps(stats, indent=4), encoding='utf-8')
    return out
