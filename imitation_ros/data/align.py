"""Aligning a scanned bag to frames at a fixed fps, episode by episode.

Every tick goes through ``FrameAssembler.assemble`` (the resampler the policy node uses):
newest message at or before the tick, per-stream maximum age, action at tick + shift.
Dropped ticks are counted per stream, never filled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from imitation_ros.data.quality import EpisodeQuality, episode_quality
from imitation_ros.frames import frame_times_ns
from imitation_ros.profile.keys import ACTION, OBS_STATE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from imitation_ros.data.bags import BagScan
    from imitation_ros.data.episodes import Episode
    from imitation_ros.frames import FrameAssembler


@dataclass(slots=True)
class AlignedEpisode:
    """The kept frames of one episode (images as message indices, decoded when written).

    Attributes:
        episode: The episode span.
        ticks_ns: Tick of each kept frame.
        state: ``(n, joints)`` float32.
        action: ``(n, joints)`` float32.
        cam_index: Camera feature key -> ``(n,)`` ordinal index of the camera message used.
        intervention: ``(n,)`` bool, true while a person had control (all false without
            intervention events).
        quality: The episode's quality record.
    """

    episode: Episode
    ticks_ns: NDArray[np.int64]
    state: NDArray[np.float32]
    action: NDArray[np.float32]
    cam_index: dict[str, NDArray[np.int64]]
    intervention: NDArray[np.bool_]
    quality: EpisodeQuality

    def __len__(self) -> int:
        return len(self.ticks_ns)


def load_tracks(scan: BagScan, asm: FrameAssembler) -> None:
    """Fill the assembler's buffers from a scan (camera values are message indices)."""
    asm.reset()
    for key, track in scan.tracks.items():
        values = track.values if track.values is not None else range(len(track.stamps_ns))
        buf = asm.buffers[key]
        for t_ns, value in zip(track.stamps_ns.tolist(), values, strict=True):
            buf.push(t_ns, value)


def stream_span(scan: BagScan) -> tuple[int, int]:
    """Return (first time every stream has a message, last message time)."""
    firsts = [int(t.stamps_ns.min()) for t in scan.tracks.values()]
    lasts = [int(t.stamps_ns.max()) for t in scan.tracks.values()]
    return max(firsts), max(lasts)


def align_bag(
    scan: BagScan,
    asm: FrameAssembler,
    episodes: Sequence[Episode],
    fps: float,
) -> list[AlignedEpisode]:
    """Align every episode of a bag.

    Args:
        scan: The scanned bag.
        asm: The frame assembler (profile, stamp source, action shift).
        episodes: Episode spans to align.
        fps: Frame rate (ticks at episode start + k / fps).

    Returns:
        One aligned episode per span (possibly with zero kept frames).
    """
    load_tracks(scan, asm)
    cam_keys = [k for k in asm.keys if k not in (OBS_STATE, ACTION)]
    iv_t = np.array([t for t, _ in scan.interventions], dtype=np.int64)
    iv_v = np.array([v for _, v in scan.interventions], dtype=bool)
    order = np.argsort(iv_t, kind='stable')
    iv_t, iv_v = iv_t[order], iv_v[order]
    out = []
    n_j = asm.profile.n_joints
    for ep in episodes:
        ticks = frame_times_ns(ep.start_ns, ep.end_ns, fps)
        kept: list[int] = []
        state: list[NDArray[np.float32]] = []
        action: list[NDArray[np.float32]] = []
        cams: dict[str, list[int]] = {k: [] for k in cam_keys}
        dropped = dict.fromkeys(asm.keys, 0)
        for t_ns in ticks.tolist():
            res = asm.assemble(t_ns)
            if res.values is None:
                for key in res.missing:
                    dropped[key] += 1
                continue
            kept.append(t_ns)
            state.append(res.values[OBS_STATE])
            action.append(res.values[ACTION])
            for key in cam_keys:
                cams[key].append(res.values[key])
        kept_arr = np.array(kept, dtype=np.int64)
        if len(iv_t):
            pos = np.searchsorted(iv_t, kept_arr, side='right') - 1
            intervention = np.where(pos >= 0, iv_v[np.maximum(pos, 0)], False)
        else:
            intervention = np.zeros(len(kept_arr), dtype=bool)
        quality = episode_quality(scan, asm, ep, n_ticks=len(ticks), kept=len(kept),
                                  dropped=dropped)
        out.append(AlignedEpisode(
            episode=ep,
            ticks_ns=kept_arr,
            state=np.array(state, dtype=np.float32).reshape(-1, n_j),
            action=np.array(action, dtype=np.float32).reshape(-1, n_j),
            cam_index={k: np.array(v, dtype=np.int64) for k, v in cams.items()},
            intervention=intervention.astype(bool),
            quality=quality,
        ))
    return out
