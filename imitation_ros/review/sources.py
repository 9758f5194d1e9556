"""What ``imitation-ros review PATH`` looks at, from what PATH is.

* a converted dataset (``PATH/meta/info.json``): itself;
* a ``dagger-round`` output (``PATH/dataset/meta/info.json``): its aggregated dataset, with the
  round's ``report.json`` line as a note;
* a recorder bag (``PATH/metadata.yaml``) or a folder of bags: converted first (every episode,
  failed and discarded ones included, so they can be looked at) into ``<PATH>.review`` beside
  it; a later run reuses that conversion when the bags did not change.

An ``eval-sim`` output is a JSON file of success counts: it holds no frames, so it is refused
with a message saying so.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imitation_ros.errors import DatasetError

if TYPE_CHECKING:
    from imitation_ros.profile.model import RobotProfile


@dataclass
class Source:
    """The dataset to serve, and notes about where it came from."""

    root: Path
    title: str
    notes: list[str] = field(default_factory=list)


def _is_dataset(path: Path) -> bool:
    return (path / 'meta' / 'info.json').is_file()


def _bags_in(path: Path) -> list[Path]:
    if (path / 'metadata.yaml').is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.iterdir() if (p / 'metadata.yaml').is_file())
    return []


def resolve_source(path: str | Path, *, profile: str | RobotProfile | None = None,
                   dataset_out: str | Path | None = None) -> Source:
    """Return the dataset to review for ``path`` (converting bags when it holds bags).

    Raises:
        DatasetError: ``path`` is none of the above (the message says what was looked for).
    """
    path = Path(path).absolute()
    if not path.exists():
        msg = f'{path}: does not exist'
        raise DatasetError(msg)
    if _is_dataset(path):
        return Source(path, path.name)
    if _is_dataset(path / 'dataset'):
        notes = [f'DAgger round {path.name}: the aggregated dataset {path / "dataset"}']
        report = path / 'report.json'
        if report.is_file():
            try:
                last = json.loads(report.read_text(encoding='utf-8'))['rounds'][-1]
                notes.append('round report: ' + ', '.join(f'{k} {v}' for k, v in last.items()
                                                           if not isinstance(v, (dict, list))))
            except (OSError, ValueError, KeyError, IndexError, TypeError) as err:
                notes.append(f'{report}: unreadable ({err})')
        return Source(path / 'dataset', f'{path.name}/dataset', notes)
    if path.is_file() and path.suffix == '.json':
        msg = (f'{path}: a JSON file (eval-sim --json writes success counts, no frames); '
               f'review needs a dataset, a dagger-round folder or recorder bags')
        raise DatasetError(msg)
    bags = _bags_in(path)
    if bags:
        return _convert(path, bags, profile, dataset_out)
    msg = (f'{path}: neither a LeRobot dataset (meta/info.json), a dagger-round output '
           f'(dataset/meta/info.json), a recorder bag (metadata.yaml) nor a folder of bags')
    raise DatasetError(msg)


def _convert(path: Path, bags: list[Path], profile: str | RobotProfile | None,
             dataset_out: str | Path | None) -> Source:
    from imitation_ros.data.convert import ConvertOptions, convert_bags
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import resolve_config

    if not profile:
        msg = f'{path}: holds bags; give the robot profile they were recorded with (--profile)'
        raise DatasetError(msg)
    out = Path(dataset_out).absolute() if dataset_out else path.with_name(path.name + '.review')
    prof = load_profile(resolve_config(profile)) if isinstance(profile, str) else profile
    summary: Any = convert_bags(bags, prof, out,
                                ConvertOptions(keep_failed=True))
    notes = [f'converted from {len(bags)} bag(s) under {path} into {out} '
             f'(every episode kept, failed and discarded ones too)']
    notes += [f'bag failed: {o.error}' for o in summary.failed]
    return Source(out, f'{path.name} (bags)', notes)
