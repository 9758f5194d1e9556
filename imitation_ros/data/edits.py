"""Curation edits of a LeRobotDataset: an edit file beside the dataset, applied into a new one.

The edit file (``<dataset>.edits.json``, next to the dataset folder, never inside it) holds
one entry per episode a person marked, and the history of every change (so a change can be
reviewed and undone)::

    {"version": 1, "dataset": "<dataset folder name>",
     "episodes": {"3": {"discard": true}, "5": {"trim": [0.4, 2.1], "task": "lift it",
                                               "success": false}},
     "history": [{"time": "...", "episode": 3, "field": "discard", "old": null, "new": true}]}

Fields of an episode entry (all optional): ``discard`` (bool), ``success`` (bool: the
corrected outcome), ``trim`` ([in_s, out_s], seconds from the episode's start; the frames
with ``in_s <= t < out_s`` are kept) and ``task`` (the corrected task text).

:func:`apply_edits` writes a new dataset and leaves the original untouched: discarded episodes
go through lerobot's ``delete_episodes``, task text through lerobot's ``modify_tasks`` (on the
new copy); trimming, which lerobot's tools do not do, rebuilds the trimmed dataset frame by
frame (videos are decoded and re-encoded with the source's codec). Success marks go to the new
dataset's ``quality/report.json`` (``status``), beside the converter's other per-episode
records, and the applied edit file is copied to ``<out>/meta/applied_edits.json``. Applying the
same edit file to the same dataset into a fresh folder gives the same dataset again.
"""
from __future__ import annotations

import datetime as _dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imitation_ros.errors import DatasetError

EDITS_SUFFIX = '.edits.json'
FIELDS = ('discard', 'success', 'trim', 'task')


def edits_path(dataset: str | Path) -> Path:
    """Return the edit file of ``dataset``: ``<parent>/<name>.edits.json``."""
    root = Path(dataset).absolute()
    return root.parent / f'{root.name}{EDITS_SUFFIX}'


@dataclass
class Edits:
    """The marks a person made on a dataset's episodes (see the module docstring)."""

    dataset: str
    episodes: dict[int, dict[str, Any]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    # -- reading and writing ----------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, *, dataset: str = '') -> Edits:
        """Read an edit file (a missing file: no edits).

        Raises:
            DatasetError: The file is not a valid edit file (names the file and the problem).
        """
        path = Path(path)
        if not path.exists():
            return cls(dataset=dataset)
        try:
            doc = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, json.JSONDecodeError) as err:
            msg = f'{path}: not a readable edit file ({err})'
            raise DatasetError(msg) from err
        if not isinstance(doc, dict) or not isinstance(doc.get('episodes', {}), dict):
            msg = f'{path}: an edit file is a JSON object with an "episodes" object'
            raise DatasetError(msg)
        edits = cls(dataset=str(doc.get('dataset', dataset)), history=list(doc.get('history', [])))
        for key, entry in doc.get('episodes', {}).items():
            try:
                ep = int(key)
            except ValueError:
                msg = f'{path}: episode key {key!r} is not an episode index'
                raise DatasetError(msg) from None
            for name, value in (entry or {}).items():
                try:
                    edits.episodes.setdefault(ep, {})[name] = _check(name, value)
                except DatasetError as err:
                    msg = f'{path}: episode {ep}: {err}'
                    raise DatasetError(msg) from None
        return edits

    def save(self, path: str | Path) -> None:
        """Write the edit file (atomically: a temporary file renamed into place)."""
        path = Path(path)
        doc = {'version': 1, 'dataset': self.dataset,
               'episodes': {str(k): v for k, v in sorted(self.episodes.items()) if v},
               'history': self.history}
        tmp = path.with_name(path.name + '.tmp')
        tmp.write_text(json.dumps(doc, indent=1) + '\n', encoding='utf-8')
        tmp.replace(path)

    def to_json(self) -> dict[str, Any]:
        """Return the marks as a JSON-ready dict (episode keys as strings)."""
        return {'dataset': self.dataset,
                'episodes': {str(k): v for k, v in sorted(self.episodes.items()) if v},
                'history': self.history}

    # -- changing ---------------------------------------------------------------------------
    def set(self, episode: int, name: str, value: Any) -> None:
        """Set (``value`` not None) or clear (None) one field of one episode, with history."""
        value = None if value is None else _check(name, value)
        entry = self.episodes.setdefault(int(episode), {})
        old = entry.get(name)
        if value is None:
            entry.pop(name, None)
        else:
            entry[name] = value
        if not entry:
            del self.episodes[int(episode)]
        self.history.append({'time': _dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec='seconds'), 'episode': int(episode), 'field': name, 'old': old,
            'new': value})

    def undo(self) -> dict[str, Any] | None:
        """Revert the last change; return it (None when there is nothing to undo)."""
        if not self.history:
            return None
        last = self.history.pop()
        entry = self.episodes.setdefault(int(last['episode']), {})
        if last['old'] is None:
            entry.pop(last['field'], None)
        else:
            entry[last['field']] = last['old']
        if not entry:
            del self.episodes[int(last['episode'])]
        return last

    def discarded(self) -> list[int]:
        """Episode indices marked discard."""
        return sorted(k for k, v in self.episodes.items() if v.get('discard'))


def _check(name: str, value: Any) -> Any:
    if name not in FIELDS:
        msg = f'unknown field {name!r} (known: {", ".join(FIELDS)})'
        raise DatasetError(msg)
    if name in ('discard', 'success'):
        if not isinstance(value, bool):
            msg = f'{name} must be true or false, got {value!r}'
            raise DatasetError(msg)
        return value
    if name == 'task':
        if not isinstance(value, str) or not value.strip():
            msg = f'task must be a non-empty string, got {value!r}'
            raise DatasetError(msg)
        return value.strip()
    ok = (isinstance(value, (list, tuple)) and len(value) == 2
          and all(isinstance(v, (int, float)) for v in value) and 0 <= value[0] < value[1])
    if not ok:
        msg = f'trim must be [in_s, out_s] with 0 <= in_s < out_s, got {value!r}'
        raise DatasetError(msg)
    return [float(value[0]), float(value[1])]


# -- applying -----------------------------------------------------------------------------------
def _load(root: Path) -> Any:
    """Open ``root`` with lerobot; frames decode with PyAV (no decoder threads left at exit)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    info = root / 'meta' / 'info.json'
    if not info.is_file():
        msg = f'{root}: not a LeRobotDataset (no meta/info.json)'
        raise DatasetError(msg)
    return LeRobotDataset(f'local/{root.name}', root=root, video_backend='pyav')


def apply_edits(src: str | Path, out: str | Path, edits: Edits | None = None, *,
                repo_id: str | None = None) -> dict[str, Any]:
    """Write ``src`` with ``edits`` applied into the new dataset ``out``; ``src`` is untouched.

    Args:
        src: The dataset the edits were made on.
        out: New dataset folder; must not exist.
        edits: The marks (default: ``src``'s edit file).
        repo_id: Repo id of the new dataset (default ``local/<out name>``).

    Returns:
        A summary: ``episodes`` (new count), ``deleted``, ``trimmed``, ``retasked``,
        ``relabelled``, and ``mapping`` (old episode index -> new).

    Raises:
        DatasetError: ``out`` exists, ``src`` is not a dataset, an edit names an episode the
            dataset does not have, or every episode is discarded.
    """
    src, out = Path(src).absolute(), Path(out).absolute()
    edits = edits if edits is not None else Edits.load(edits_path(src), dataset=src.name)
    if out.exists():
        msg = f'{out} exists; apply edits into a new folder (the original is never changed)'
        raise DatasetError(msg)
    if out == src or src in out.parents:
        msg = f'{out}: the output must not be inside the source dataset {src}'
        raise DatasetError(msg)
    ds = _load(src)
    n = ds.meta.total_episodes
    bad = sorted(k for k in edits.episodes if not 0 <= k < n)
    if bad:
        msg = f'{edits_path(src)}: episodes {bad} not in {src} ({n} episodes)'
        raise DatasetError(msg)
    deleted = edits.discarded()
    if len(deleted) == n:
        msg = f'every episode of {src} is marked discard; nothing would remain'
        raise DatasetError(msg)
    keep = [i for i in range(n) if i not in deleted]
    mapping = {old: new for new, old in enumerate(keep)}
    repo_id = repo_id or f'local/{out.name}'
    stage = out.with_name(f'.{out.name}.applying')
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        step = stage / 'deleted'
        if deleted:
            from lerobot.datasets.dataset_tools import delete_episodes

            delete_episodes(ds, deleted, output_dir=step, repo_id=repo_id)
        else:
            shutil.copytree(src, step, ignore=shutil.ignore_patterns('.cache', 'images'))
        trims = {mapping[k]: v['trim'] for k, v in edits.episodes.items()
                 if 'trim' in v and k in mapping}
        if trims:
            _trim(step, stage / 'trimmed', trims, repo_id)
            step = stage / 'trimmed'
        tasks = {mapping[k]: v['task'] for k, v in edits.episodes.items()
                 if 'task' in v and k in mapping}
        if tasks:
            from lerobot.datasets.dataset_tools import modify_tasks

            modify_tasks(_load(step), episode_tasks=tasks)
        relabelled = _carry_report(src, step, edits, mapping)
        (step / 'meta' / 'applied_edits.json').write_text(
            json.dumps({'source': str(src), **edits.to_json()}, indent=1) + '\n',
            encoding='utf-8')
        step.rename(out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {'episodes': len(keep), 'deleted': deleted, 'trimmed': sorted(trims),
            'retasked': sorted(tasks), 'relabelled': relabelled, 'mapping': mapping}


def _trim(src: Path, out: Path, trims: dict[int, list[float]], repo_id: str) -> None:
    """Rebuild ``src`` into ``out`` keeping only ``in_s <= t < out_s`` of the trimmed episodes.

    lerobot 0.4.4's dataset tools cannot cut an episode, so the frames are re-added one by one
    (camera frames decoded and re-encoded with the source's codec).
    """
    import numpy as np

    from imitation_ros.data.writer import create_dataset, fix_image_stats

    ds = _load(src)
    info = json.loads((src / 'meta' / 'info.json').read_text(encoding='utf-8'))
    skip = {'timestamp', 'frame_index', 'episode_index', 'index', 'task_index'}
    feats = {k: v for k, v in ds.meta.features.items() if k not in skip}
    vcodec = next((v.get('info', {}).get('video.codec') for v in feats.values()
                   if v['dtype'] == 'video'), None)
    codec = {'av1': 'libsvtav1', 'h264': 'h264', 'hevc': 'hevc'}.get(vcodec or '', 'libsvtav1')
    new = create_dataset(out, repo_id, ds.meta.fps, feats, robot_type=info.get('robot_type'),
                         vcodec=codec)
    for ep in range(ds.meta.total_episodes):
        lo = int(ds.meta.episodes[ep]['dataset_from_index'])
        hi = int(ds.meta.episodes[ep]['dataset_to_index'])
        t_in, t_out = trims.get(ep, (0.0, float('inf')))
        kept = 0
        for idx in range(lo, hi):
            item = ds[idx]
            t = float(item['timestamp'])
            if not t_in - 1e-6 <= t < t_out - 1e-6:
                continue
            frame: dict[str, Any] = {'task': item['task']}
            for key, ft in feats.items():
                value = item[key].numpy()
                if ft['dtype'] in ('video', 'image'):
                    value = (np.clip(value, 0, 1) * 255).round().astype(np.uint8)
                    value = value.transpose(1, 2, 0)
                elif ft['dtype'] == 'bool':
                    value = value.astype(bool).reshape(ft['shape'])
                else:
                    value = value.astype(ft['dtype']).reshape(ft['shape'])
                frame[key] = value
            new.add_frame(frame)
            kept += 1
        if kept == 0:
            msg = f'episode trimmed to [{t_in}, {t_out}) s keeps no frame'
            raise DatasetError(msg)
        new.save_episode(parallel_encoding=False)
    new.finalize()
    if any(f['dtype'] == 'video' for f in feats.values()):
        fix_image_stats(out)


def _carry_report(src: Path, out: Path, edits: Edits, mapping: dict[int, int]) -> list[int]:
    """Copy ``quality/report.json`` re-indexed to the new dataset, with corrected statuses.

    Returns the old indices of the episodes whose success mark was applied.
    """
    report = src / 'quality' / 'report.json'
    records: list[dict[str, Any]] = []
    doc: dict[str, Any] = {}
    if report.is_file():
        doc = json.loads(report.read_text(encoding='utf-8'))
        records = [r for r in doc.get('episodes', []) if r.get('dataset_episode') is not None]
    by_ep = {int(r['dataset_episode']): r for r in records}
    new_records, relabelled = [], []
    for old, new in sorted(mapping.items(), key=lambda kv: kv[1]):
        rec = dict(by_ep.get(old, {'episode_index': old, 'status': 'unlabelled', 'notes': []}))
        rec['dataset_episode'] = new
        rec['kept'] = True
        mark = edits.episodes.get(old, {})
        if 'success' in mark:
            rec['status'] = 'success' if mark['success'] else 'failed'
            rec.setdefault('notes', []).append('status set in review')
            relabelled.append(old)
        if 'trim' in mark:
            rec.setdefault('notes', []).append(f'trimmed to {mark["trim"]} s in review')
        new_records.append(rec)
    if records or relabelled:
        (out / 'quality').mkdir(exist_ok=True)
        doc = {**doc, 'episodes': new_records}
        (out / 'quality' / 'report.json').write_text(json.dumps(doc, indent=2) + '\n',
                                                     encoding='utf-8')
    return relabelled
