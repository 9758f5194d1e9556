"""The single resampler: messages stamped in time -> frames at a fixed rate.

``StreamBuffer`` keeps one stream's stamped values and answers "the newest value stamped at
or before t, and how old it is" (never a value from the future). ``FrameAssembler`` holds one
buffer per profile feature (state, action, cameras), applies the per-stream maximum age and
the action shift, and counts dropped frames per stream. The converter (``imitation_ros.data``)
and the policy node use this same code, so a frame built from a bag equals the frame the
node would have built live at the same tick.

Import rule: numpy and ``imitation_ros.profile`` / ``imitation_ros.messages`` only; never
rclpy, cyclonedds, ``imitation_ros.graph`` or lerobot.
"""
from __future__ import annotations

from imitation_ros.frames.resample import (
    FrameAssembler,
    FrameResult,
    Lookup,
    StreamBuffer,
    frame_times_ns,
)

__all__ = ['FrameAssembler', 'FrameResult', 'Lookup', 'StreamBuffer', 'frame_times_ns']
