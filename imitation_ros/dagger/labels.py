"""Intervention labelling: per-frame flags, intervention segments, and which frames train.

The recorder writes ``InterventionEvent`` records (time, ``human_in_control``) into the bag;
the converter turns them into a per-frame ``intervention`` flag (the state in force at the
frame's tick, :func:`flags_from_events` -- the same rule as ``data.align``). The dataset's
``action`` is the expert's stream; where the policy was in control that stream is only a
label if the expert labelled every state (the scripted expert does; a person on a leader arm
does not), so :func:`frame_weights` keeps, down-weights or drops those frames by option.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from imitation_ros.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

PolicyFrames = Literal['keep', 'weight', 'drop']
POLICY_FRAMES = ('keep', 'weight', 'drop')


def flags_from_events(events: Sequence[tuple[int, bool]],
                      ticks_ns: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Per-tick flag: the ``human_in_control`` of the newest event at or before the tick.

    Args:
        events: ``(time ns, human_in_control)`` records, any order.
        ticks_ns: Frame ticks, ns.

    Returns:
        ``(n,)`` bool; false before the first event.
    """
    ticks = np.asarray(ticks_ns, dtype=np.int64)
    if not len(events):
        return np.zeros(len(ticks), dtype=bool)
    t = np.array([e[0] for e in events], dtype=np.int64)
    v = np.array([e[1] for e in events], dtype=bool)
    order = np.argsort(t, kind='stable')
    t, v = t[order], v[order]
    pos = np.searchsorted(t, ticks, side='right') - 1
    return np.where(pos >= 0, v[np.maximum(pos, 0)], False).astype(bool)


def segments(flags: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``[start, stop)`` frame ranges where ``flags`` is true."""
    f = np.asarray(flags, dtype=bool).astype(np.int8)
    d = np.diff(np.concatenate([[0], f, [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(),
                    strict=True))


def events_from_flags(flags: NDArray[np.bool_], ticks_ns: NDArray[np.int64]
                      ) -> list[tuple[int, bool]]:
    """The start/stop records that reproduce ``flags`` at ``ticks_ns`` (inverse of above)."""
    out: list[tuple[int, bool]] = []
    for a, b in segments(flags):
        out.append((int(ticks_ns[a]), True))
        if b < len(ticks_ns):
            out.append((int(ticks_ns[b]), False))
    return out


def intervention_rate(flags: NDArray[np.bool_]) -> float:
    """Fraction of frames under expert control (0 for no frames)."""
    f = np.asarray(flags, dtype=bool)
    return float(f.mean()) if f.size else 0.0


def frame_weights(flags: NDArray[np.bool_], policy_frames: PolicyFrames = 'weight',
                  weight: float = 0.25) -> NDArray[np.float32]:
    """Training weight per frame: 1 under expert control; policy frames by option.

    Args:
        flags: Per-frame intervention flags.
        policy_frames: ``keep`` (weight 1), ``weight`` (``weight``) or ``drop`` (0).
        weight: Weight of policy-controlled frames for ``weight``.

    Raises:
        ConfigError: Unknown option or a weight outside [0, 1].
    """
    if policy_frames not in POLICY_FRAMES:
        msg = f'policy_frames must be one of {POLICY_FRAMES}, got {policy_frames!r}'
        raise ConfigError(msg)
    if not 0.0 <= weight <= 1.0:
        msg = f'policy frame weight must be in [0, 1], got {weight}'
        raise ConfigError(msg)
    f = np.asarray(flags, dtype=bool)
    w = {'keep': 1.0, 'weight': weight, 'drop': 0.0}[policy_frames]
    return np.where(f, 1.0, w).astype(np.float32)


def subsample_by_weight(weights: NDArray[np.floating], rng: np.random.Generator
                        ) -> NDArray[np.bool_]:
    """Keep each frame with probability equal to its weight (down-weighting by sampling,
    for trainers without per-sample weights)."""
    w = np.asarray(weights, dtype=np.float64)
    return rng.random(w.shape) < w
