"""``convert_bags``: many bags -> one LeRobotDataset, in parallel, skipping converted bags.

Layout while converting ``OUT``::

    .OUT.staging/            next to OUT; removed when the run ends (kept only after Ctrl-C,
                             so the next run reuses the bags that had finished)
      bags/<key>/            one finished per-bag result (renamed into place when complete)
        bag.json             quality records of every episode of the bag
        dataset/             a LeRobotDataset of the bag's kept episodes (absent if none)
      dataset/               the merged dataset being built
    OUT/                     the finished dataset (replaced in one rename)
      meta/ data/ videos/    lerobot's layout
      quality/report.json    per-episode quality report
      quality/report.png
      .cache/manifest.json   which bags (and settings) the dataset was built from
      .cache/bags/<key>/     per-bag results, reused by later runs

``<key>`` hashes the bag's content (``bag_fingerprint``) and every setting that changes the
output, so a re-run converts only new or changed bags and then merges (lerobot's
``aggregate_datasets``, no re-encoding). If the bag list and settings are those of the
existing dataset, nothing is rewritten. A bag that fails leaves nothing behind; the others
still convert. Per-bag results are kept in ``OUT/.cache`` (their videos take as much space
again as the dataset's; delete ``.cache`` to reclaim it, at the cost of a full re-run).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from imitation_ros.data.align import align_bag, stream_span
from imitation_ros.data.bags import INTERVENTION_TOPIC, bag_fingerprint, resolve_bag, scan_bag
from imitation_ros.data.episodes import cut_episodes
from imitation_ros.data.quality import write_report
from imitation_ros.data.writer import (
    create_dataset,
    dataset_features,
    dataset_fps,
    fix_image_stats,
    merge_datasets,
    write_episodes,
)
from imitation_ros.errors import ConfigError, DatasetError, ImitationRosError
from imitation_ros.frames import FrameAssembler

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from imitation_ros.profile.model import RobotProfile

logger = logging.getLogger(__name__)

#: Bump when the converter's output for the same input changes (invalidates caches).
FORMAT_VERSION = 1
CACHE_DIR = '.cache'
MANIFEST = 'manifest.json'
BAG_JSON = 'bag.json'


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvertOptions:
    """Settings of one conversion (None: take the profile's value)."""

    fps: float | None = None
    stamp_source: Literal['header', 'receive'] | None = None
    action_shift_s: float | None = None
    keep_failed: bool = False            # also write failed / discarded / unfinished episodes
    split_topic: str | None = None       # Joy topic cutting event-less bags (None: profile's)
    split_button: int | None = None
    jobs: int = 1                        # bags converted in parallel (processes)
    vcodec: str = 'libsvtav1'
    streaming_encoding: bool = False     # lerobot's streaming video encoder (no PNG frames)
    image_writer_threads: int = 0        # threads writing PNG frames (non-streaming path)
    repo_id: str | None = None           # default: local/<OUT name>
    force: bool = False                  # ignore cached per-bag results
    intervention: bool | None = None     # write the per-frame `intervention` feature; None:
    #                                      when a bag has /intervention_events (the recorder
    #                                      followed a DAgger gate) or the profile records it

    def __post_init__(self) -> None:
        if self.fps is not None and not 0 < self.fps <= 1000:
            msg = f'fps must be in (0, 1000], got {self.fps}'
            raise ConfigError(msg)
        if self.stamp_source not in (None, 'header', 'receive'):
            msg = f'stamp_source must be header or receive, got {self.stamp_source!r}'
            raise ConfigError(msg)
        if self.image_writer_threads < 0:
            msg = f'image_writer_threads must be >= 0, got {self.image_writer_threads}'
            raise ConfigError(msg)
        if self.jobs < 1:
            msg = f'jobs must be >= 1, got {self.jobs}'
            raise ConfigError(msg)
        if self.split_button is not None and self.split_button < 0:
            msg = f'split_button must be >= 0, got {self.split_button}'
            raise ConfigError(msg)


@dataclass(slots=True)
class BagOutcome:
    """What happened to one bag."""

    bag: str
    status: Literal['converted', 'cached', 'failed']
    error: str = ''
    episodes: int = 0
    frames: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class ConvertSummary:
    """Result of ``convert_bags``."""

    out: Path
    bags: list[BagOutcome] = field(default_factory=list)
    unchanged: bool = False
    episodes: int = 0
    frames: int = 0
    report_json: Path | None = None
    report_png: Path | None = None

    @property
    def failed(self) -> list[BagOutcome]:
        """Bags that could not be converted."""
        return [b for b in self.bags if b.status == 'failed']


def _settings(profile: RobotProfile, opts: ConvertOptions) -> dict[str, Any]:
    prof = asdict(profile)
    prof.pop('path', None)
    return {
        'format': FORMAT_VERSION,
        'profile': prof,
        'fps': opts.fps or profile.fps,
        'stamp_source': opts.stamp_source or profile.stamp_source,
        'action_shift_s': (profile.action.shift_s if opts.action_shift_s is None
                           else opts.action_shift_s),
        'keep_failed': opts.keep_failed,
        'split_topic': _split(profile, opts)[0],
        'split_button': _split(profile, opts)[1],
        'vcodec': opts.vcodec,
        'intervention': wants_intervention(profile, opts),
    }


def wants_intervention(profile: RobotProfile, opts: ConvertOptions) -> bool:
    """Whether the dataset gets the per-frame ``intervention`` feature (see ConvertOptions)."""
    if opts.intervention is not None:
        return opts.intervention
    return any(t.topic == INTERVENTION_TOPIC for t in profile.extra_topics)


def bags_have_interventions(bags: Sequence[str | Path]) -> bool:
    """Whether any bag's ``metadata.yaml`` lists ``/intervention_events`` (unreadable bags:
    no; they fail later with their own error)."""
    import yaml

    for bag in bags:
        try:
            meta = yaml.safe_load((resolve_bag(bag) / 'metadata.yaml').read_text('utf-8'))
            topics = meta['rosbag2_bagfile_information']['topics_with_message_count']
            if any(t['topic_metadata']['name'] == INTERVENTION_TOPIC for t in topics):
                return True
        except (ImitationRosError, OSError, yaml.YAMLError, KeyError, TypeError):
            continue
    return False


def _split(profile: RobotProfile, opts: ConvertOptions) -> tuple[str | None, int]:
    topic = opts.split_topic or profile.episodes.topic
    button = profile.episodes.button if opts.split_button is None else opts.split_button
    return topic, button


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def bag_key(bag: Path, settings_hash: str) -> str:
    """Cache key of a bag under given settings: ``<bag name>-<hash of content + settings>``."""
    digest = _hash([bag_fingerprint(bag), settings_hash])[:20]
    return f'{bag.name}-{digest}'


def convert_one(
    bag: str | Path,
    profile: RobotProfile,
    opts: ConvertOptions,
    dest: str | Path,
    repo_id: str,
) -> BagOutcome:
    """Convert one bag into ``dest`` (a per-bag result folder, written atomically).

    Never raises for a bad bag: the outcome carries the error, and nothing is left at
    ``dest`` or in its temporary folder.
    """
    t0 = time.monotonic()
    dest = Path(dest)
    tmp = dest.with_name(f'{dest.name}.tmp-{os.getpid()}')
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        path = resolve_bag(bag)
        asm = FrameAssembler(profile, stamp_source=opts.stamp_source,
                             action_shift_s=opts.action_shift_s)
        split_topic, split_button = _split(profile, opts)
        scan = scan_bag(path, asm, split_topic=split_topic, split_button=split_button)
        start_ns, end_ns = stream_span(scan)
        episodes = cut_episodes(scan.events, scan.button if split_topic else None,
                                start_ns, end_ns, profile.task)
        aligned = align_bag(scan, asm, episodes, opts.fps or profile.fps)
        if aligned and not scan.events and not split_topic:
            firsts = {k: int(t.stamps_ns.min()) for k, t in scan.tracks.items()}
            lead_s = (start_ns - min(firsts.values())) / 1e9
            if lead_s * (opts.fps or profile.fps) >= 1:
                late = max(firsts, key=firsts.__getitem__)
                aligned[0].quality.notes.append(
                    f'first {lead_s:.3f} s of the bag skipped: no {late} message yet')
        kept = [a for a in aligned if opts.keep_failed or a.episode.kept_by_default]
        kept_ids = {id(a) for a in kept}
        for a in aligned:
            a.quality.kept = id(a) in kept_ids and len(a) > 0
            if id(a) in kept_ids and not len(a):
                a.quality.notes.append('no frame survived alignment; not written')
        tmp.mkdir(parents=True)
        n_saved = 0
        frames = 0
        if any(len(a) for a in kept):
            ds = create_dataset(tmp / 'dataset', repo_id, opts.fps or profile.fps,
                                dataset_features(profile, intervention=wants_intervention(
                                    profile, opts)),
                                robot_type=profile.name, vcodec=opts.vcodec,
                                image_writer_threads=opts.image_writer_threads,
                                streaming_encoding=opts.streaming_encoding)
            try:
                n_saved = write_episodes(ds, path, asm, kept)
            except BaseException:
                with contextlib.suppress(Exception):   # keep the first error, not this one
                    ds.finalize()
                raise
            ds.finalize()
            frames = sum(len(a) for a in kept)
        doc = {
            'bag': str(path), 'storage': scan.storage,
            'episodes_found': len(episodes), 'episodes_written': n_saved,
            'records': [a.quality.to_dict() for a in aligned],
        }
        (tmp / BAG_JSON).write_text(json.dumps(doc, indent=1) + '\n', encoding='utf-8')
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
        return BagOutcome(str(bag), 'converted', episodes=n_saved, frames=frames,
                          seconds=time.monotonic() - t0)
    except ImitationRosError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        text = str(err) if str(bag) in str(err) else f'{bag}: {err}'
        return BagOutcome(str(bag), 'failed', error=text, seconds=time.monotonic() - t0)
    except Exception as err:  # keep the other bags going; the message names the bag
        logger.debug('%s: conversion failed', bag, exc_info=True)
        shutil.rmtree(tmp, ignore_errors=True)
        return BagOutcome(str(bag), 'failed', error=f'{bag}: {type(err).__name__}: {err}',
                          seconds=time.monotonic() - t0)


def _init_worker() -> None:
    """Parallelism is across bags: one math thread per worker process."""
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    os.environ.setdefault('MKL_NUM_THREADS', '1')


def _staging(out: Path) -> Path:
    return out.with_name(f'.{out.name}.staging')


def _read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / CACHE_DIR / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return None


def convert_bags(
    bags: Sequence[str | Path],
    profile: RobotProfile,
    out: str | Path,
    opts: ConvertOptions | None = None,
    *,
    progress: Callable[[BagOutcome], None] | None = None,
) -> ConvertSummary:
    """Convert bags into one LeRobotDataset at ``out``, with a quality report.

    Args:
        bags: Bag directories (rosbag2: mcap or sqlite3), in dataset order.
        profile: The robot profile (topics, joints, cameras, fps).
        out: Dataset folder. Created, or replaced if it was written by an earlier run.
        opts: Conversion settings.
        progress: Called once per bag as it finishes (converted, cached or failed).

    Returns:
        The summary (per-bag outcomes, episode and frame counts, report paths).

    Raises:
        DatasetError: ``out`` exists and was not written by this converter, no bag yields a
            frame, or merging fails. Bad bags do not raise: they are listed as failed.
    """
    opts = opts or ConvertOptions()
    out = Path(out).absolute()
    dataset_fps(opts.fps or profile.fps)
    if not bags:
        msg = 'no bags given'
        raise DatasetError(msg)
    manifest = _read_manifest(out)
    if out.exists() and manifest is None and (not out.is_dir() or any(out.iterdir())):
        msg = (f'{out} exists and was not written by imitation-ros convert; '
               f'choose a new output folder')
        raise DatasetError(msg)
    if opts.intervention is None and not wants_intervention(profile, opts):
        # one decision for all bags (their datasets are merged): any gate session -> flag
        opts = dataclasses.replace(opts, intervention=bags_have_interventions(bags))
    repo_id = opts.repo_id or f'local/{out.name}'
    settings = _settings(profile, opts)
    settings_hash = _hash(settings)
    staging = _staging(out)
    (staging / 'bags').mkdir(parents=True, exist_ok=True)
    summary = ConvertSummary(out=out)
    interrupted = False
    try:
        return _convert(bags, profile, out, opts, progress, manifest, repo_id, settings,
                        settings_hash, staging, summary)
    except KeyboardInterrupt:
        interrupted = True      # finished per-bag results stay in staging for the next run
        raise
    finally:
        shutil.rmtree(staging / 'dataset', ignore_errors=True)
        shutil.rmtree(staging / 'old', ignore_errors=True)
        for tmp in (staging / 'bags').glob('*.tmp-*'):
            shutil.rmtree(tmp, ignore_errors=True)
        if not interrupted or not any((staging / 'bags').iterdir()):
            shutil.rmtree(staging, ignore_errors=True)


def _convert(
    bags: Sequence[str | Path], profile: RobotProfile, out: Path, opts: ConvertOptions,
    progress: Callable[[BagOutcome], None] | None, manifest: dict[str, Any] | None,
    repo_id: str, settings: dict[str, Any], settings_hash: str, staging: Path,
    summary: ConvertSummary,
) -> ConvertSummary:
    old_cache = out / CACHE_DIR / 'bags'
    keys: dict[int, str] = {}
    where: dict[str, Path] = {}
    todo: list[int] = []
    outcomes: dict[int, BagOutcome] = {}
    for i, bag in enumerate(bags):
        try:
            path = resolve_bag(bag)
            key = bag_key(path, settings_hash)
        except ImitationRosError as err:
            outcomes[i] = BagOutcome(str(bag), 'failed', error=str(err))
            if progress:
                progress(outcomes[i])
            continue
        keys[i] = key
        found = [d / key for d in (old_cache, staging / 'bags') if (d / key / BAG_JSON).is_file()]
        if found and not opts.force:
            where[key] = found[0]
            doc = json.loads((found[0] / BAG_JSON).read_text(encoding='utf-8'))
            outcomes[i] = BagOutcome(str(bag), 'cached', episodes=doc['episodes_written'],
                                     frames=sum(r['frames'] for r in doc['records']
                                                if r['kept']))
            if progress:
                progress(outcomes[i])
        else:
            todo.append(i)
    dest = {i: staging / 'bags' / keys[i] for i in todo}
    jobs = min(opts.jobs, len(todo))
    if jobs > 1:
        import multiprocessing

        ctx = multiprocessing.get_context('spawn')
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx,
                                 initializer=_init_worker) as pool:
            futs = {pool.submit(convert_one, bags[i], profile, opts, dest[i], repo_id): i
                    for i in todo}
            for fut in as_completed(futs):
                i = futs[fut]
                try:
                    outcomes[i] = fut.result()
                except Exception as err:  # a worker died (killed, out of memory, ...)
                    outcomes[i] = BagOutcome(str(bags[i]), 'failed',
                                             error=f'{bags[i]}: worker process failed: {err!r}')
                if progress:
                    progress(outcomes[i])
    else:
        for i in todo:
            outcomes[i] = convert_one(bags[i], profile, opts, dest[i], repo_id)
            if progress:
                progress(outcomes[i])
    for i in todo:
        if outcomes[i].status == 'converted':
            where[keys[i]] = dest[i]
    summary.bags = [outcomes[i] for i in range(len(bags))]
    good = [i for i in range(len(bags)) if outcomes[i].status != 'failed']
    good_keys = [keys[i] for i in good]
    failed = [{'bag': o.bag, 'error': o.error} for o in summary.failed]
    converted_now = any(outcomes[i].status == 'converted' for i in todo)
    if (manifest is not None and not converted_now and not opts.force
            and manifest.get('keys') == good_keys and manifest.get('settings_hash') ==
            settings_hash and (out / 'meta' / 'info.json').is_file()):
        summary.unchanged = True
        summary.episodes = sum(o.episodes for o in summary.bags)
        summary.frames = sum(o.frames for o in summary.bags)
        summary.report_json = out / 'quality' / 'report.json'
        summary.report_png = out / 'quality' / 'report.png'
        return summary
    if not good:
        msg = 'no bag could be converted:\n  ' + '\n  '.join(o['error'] for o in failed)
        raise DatasetError(msg)
    records: list[dict[str, Any]] = []
    roots = []
    n_ep = 0
    for i in good:
        entry = where[keys[i]]
        doc = json.loads((entry / BAG_JSON).read_text(encoding='utf-8'))
        for rec in doc['records']:
            rec = dict(rec)
            if rec['kept']:
                rec['dataset_episode'] = n_ep
                n_ep += 1
            records.append(rec)
        if (entry / 'dataset').is_dir():
            roots.append(entry / 'dataset')
    if not roots:
        msg = (f'no episode with frames in {len(good)} bag(s) '
               f'(failed/discarded episodes are left out unless keep_failed is set)')
        raise DatasetError(msg)
    new = staging / 'dataset'
    shutil.rmtree(new, ignore_errors=True)
    if len(roots) == 1:
        shutil.copytree(roots[0], new)     # one bag: its dataset is the dataset
    else:
        merge_datasets(roots, repo_id, new)
    fix_image_stats(new)        # lerobot 0.4.4's image std overflows (see fix_image_stats)
    meta = {'settings': settings, 'failed_bags': failed}
    summary.report_json, summary.report_png = write_report(records, new / 'quality', meta=meta)
    cache = new / CACHE_DIR / 'bags'
    cache.mkdir(parents=True)
    for key in good_keys:
        shutil.move(str(where[key]), str(cache / key))
    if old_cache.is_dir():
        for entry in old_cache.iterdir():
            if not (cache / entry.name).exists() and (entry / BAG_JSON).is_file():
                shutil.move(str(entry), str(cache / entry.name))
    (new / CACHE_DIR / MANIFEST).write_text(json.dumps({
        'keys': good_keys, 'settings_hash': settings_hash,
        'bags': [{'bag': str(bags[i]), 'key': keys[i]} for i in good],
    }, indent=1) + '\n', encoding='utf-8')
    if out.exists():
        out.rename(staging / 'old')
    new.rename(out)
    summary.report_json = out / 'quality' / 'report.json'
    summary.report_png = out / 'quality' / 'report.png'
    summary.episodes = n_ep
    summary.frames = sum(r['frames'] for r in records if r['kept'])
    return summary
