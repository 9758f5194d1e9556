"""Per-episode quality report: JSON for tools, PNG for people.

For every episode (kept or not): duration, ticks, kept frames, dropped frames per stream,
largest gap per stream (time without a message, episode edges included), message rate, and
the lag between header stamp and receive time per stream (for cameras: the estimated camera
lag).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imitation_ros.frames.resample import NS_PER_S

if TYPE_CHECKING:
    from collections.abc import Sequence

    from imitation_ros.data.bags import BagScan
    from imitation_ros.data.episodes import Episode
    from imitation_ros.frames import FrameAssembler

REPORT_JSON = 'report.json'
REPORT_PNG = 'report.png'


@dataclass(slots=True)
class EpisodeQuality:
    """Quality record of one episode (all times in seconds)."""

    bag: str
    episode_index: int
    status: str
    task: str
    reason: str
    start_s: float
    duration_s: float
    ticks: int
    frames: int
    dropped_frames: int
    dropped_per_stream: dict[str, int]
    largest_gap_s: dict[str, float]
    messages: dict[str, int]
    rate_hz: dict[str, float]
    lag_median_s: dict[str, float | None]
    lag_max_s: dict[str, float | None]
    camera_lag_s: dict[str, float | None]
    kept: bool = False
    dataset_episode: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _largest_gap_ns(stamps: np.ndarray, start_ns: int, end_ns: int) -> int:
    before = stamps[stamps <= start_ns]
    inside = stamps[(stamps > start_ns) & (stamps <= end_ns)]
    first = int(before.max()) if len(before) else start_ns
    points = np.concatenate([[first], inside, [end_ns]]).astype(np.int64)
    return int(np.diff(points).max()) if len(points) > 1 else 0


def episode_quality(
    scan: BagScan,
    asm: FrameAssembler,
    ep: Episode,
    *,
    n_ticks: int,
    kept: int,
    dropped: dict[str, int],
) -> EpisodeQuality:
    """Compute the quality record of one episode of a scanned bag."""
    span_ns = max(ep.end_ns - ep.start_ns, 0)
    gaps, counts, rates, lag_med, lag_max, cam_lag = {}, {}, {}, {}, {}, {}
    cams = {c.key: c.name for c in asm.profile.cameras}
    for key, track in scan.tracks.items():
        s = track.stamps_ns
        gaps[key] = _largest_gap_ns(s, ep.start_ns, ep.end_ns) / NS_PER_S
        inside = (s >= ep.start_ns) & (s <= ep.end_ns)
        counts[key] = int(inside.sum())
        rates[key] = counts[key] / (span_ns / NS_PER_S) if span_ns else 0.0
        has_header = inside & (track.header_ns > 0)
        if has_header.any():
            lag = (track.receive_ns[has_header] - track.header_ns[has_header]) / NS_PER_S
            lag_med[key], lag_max[key] = float(np.median(lag)), float(lag.max())
        else:
            lag_med[key] = lag_max[key] = None
        if key in cams:
            cam_lag[cams[key]] = lag_med[key]
    return EpisodeQuality(
        bag=str(scan.path), episode_index=ep.index, status=ep.status, task=ep.task,
        reason=ep.reason, start_s=ep.start_ns / NS_PER_S, duration_s=span_ns / NS_PER_S,
        ticks=n_ticks, frames=kept, dropped_frames=n_ticks - kept,
        dropped_per_stream=dict(dropped), largest_gap_s=gaps, messages=counts,
        rate_hz=rates, lag_median_s=lag_med, lag_max_s=lag_max, camera_lag_s=cam_lag,
    )


def write_report(
    records: Sequence[dict[str, Any]], folder: Path, *, meta: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.png`` into ``folder``.

    Args:
        records: Episode quality dicts (``EpisodeQuality.to_dict()``), in dataset order.
        folder: Output folder (created).
        meta: Extra top-level fields for the JSON (settings, failed bags, ...).

    Returns:
        The JSON and PNG paths.
    """
    folder.mkdir(parents=True, exist_ok=True)
    kept = [r for r in records if r['kept']]
    summary = {
        'episodes': len(records),
        'episodes_kept': len(kept),
        'frames': int(sum(r['frames'] for r in kept)),
        'dropped_frames': int(sum(r['dropped_frames'] for r in kept)),
    }
    doc = {'summary': summary, **(meta or {}), 'episodes': list(records)}
    json_path = folder / REPORT_JSON
    json_path.write_text(json.dumps(doc, indent=2, sort_keys=False) + '\n', encoding='utf-8')
    png_path = folder / REPORT_PNG
    _plot(records, png_path)
    return json_path, png_path


def _label(r: dict[str, Any]) -> str:
    name = Path(r['bag']).name
    mark = '' if r['kept'] else ' (left out)'
    return f'{name}#{r["episode_index"]} {r["status"]}{mark}'


def _plot(records: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    n = max(len(records), 1)
    keys = sorted({k for r in records for k in r['dropped_per_stream']})
    fig, axes = plt.subplots(1, 3, figsize=(16, 1.2 + 0.35 * n + 1.5), squeeze=False)
    ax_f, ax_g, ax_l = axes[0]
    y = np.arange(len(records))
    labels = [_label(r) for r in records]
    kept = np.array([r['frames'] for r in records], dtype=float)
    drop = np.array([r['dropped_frames'] for r in records], dtype=float)
    ax_f.barh(y, kept, color='tab:green', label='frames kept')
    ax_f.barh(y, drop, left=kept, color='tab:red', label='frames dropped')
    for i, r in enumerate(records):
        why = ', '.join(f'{k.rsplit(".", 1)[-1]}:{v}' for k, v in
                        r['dropped_per_stream'].items() if v)
        if why:
            ax_f.text(kept[i] + drop[i], i, ' ' + why, va='center', fontsize=7)
    ax_f.set_yticks(y, labels, fontsize=8)
    ax_f.invert_yaxis()
    ax_f.set_xlabel('frames')
    ax_f.set_title('frames per episode')
    ax_f.legend(fontsize=7, loc='lower right')
    width = 0.8 / max(len(keys), 1)
    for j, key in enumerate(keys):
        vals = [1000 * r['largest_gap_s'].get(key, 0.0) for r in records]
        ax_g.barh(y + j * width - 0.4 + width / 2, vals, height=width,
                  label=key.rsplit('.', 1)[-1])
    ax_g.set_yticks(y, [''] * len(records))
    ax_g.invert_yaxis()
    ax_g.set_xlabel('largest gap, ms')
    ax_g.set_title('largest gap per stream')
    ax_g.legend(fontsize=7, loc='lower right')
    cams = sorted({c for r in records for c in r['camera_lag_s']})
    width = 0.8 / max(len(cams), 1)
    for j, cam in enumerate(cams):
        vals = [1000 * (r['camera_lag_s'].get(cam) or 0.0) for r in records]
        ax_l.barh(y + j * width - 0.4 + width / 2, vals, height=width, label=cam)
    ax_l.set_yticks(y, [''] * len(records))
    ax_l.invert_yaxis()
    ax_l.set_xlabel('median receive - header stamp, ms')
    ax_l.set_title('estimated camera lag')
    if cams:
        ax_l.legend(fontsize=7, loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
