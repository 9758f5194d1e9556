"""Is the kernel's socket receive buffer big enough for a recording load? (ROS-free)

DDS receives over UDP: while the receive thread is descheduled (a disk flush, a GC pause), the
datagrams of a camera burst wait in the socket's receive buffer; when it is full the kernel drops
them and reliable topics stall on repairs, best-effort ones lose frames. Linux caps what a program
may ask for at ``net.core.rmem_max`` (often 208 KiB), whatever the DDS configuration says.

:func:`socket_buffer_warning` compares that cap with what a load needs: ``window_s`` seconds of
its traffic, and at least two of its largest messages. The recorder node logs the text it
returns. See ``docs/dds_tuning.md`` for the tuning itself.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imitation_ros.profile.model import RobotProfile

RMEM_MAX_PATH = Path('/proc/sys/net/core/rmem_max')
#: What the DDS backend asks Cyclone for (``graph/dds/context.py`` SOCKET_RCVBUF_MAX).
SUGGESTED_RMEM_MAX = 16 * 1024 * 1024
#: Seconds of traffic the buffer should absorb while the receiver is not reading.
DEFAULT_WINDOW_S = 0.1
#: Rough size ratio of a CompressedImage (JPEG) to the raw rgb8 frame.
COMPRESSED_RATIO = 0.1
_BYTES_PER_PIXEL = 3          # rgb8 / bgr8
_JOINT_MSG_OVERHEAD = 128     # header, names, CDR padding of a JointState-like message


def read_rmem_max(path: Path = RMEM_MAX_PATH) -> int | None:
    """Return ``net.core.rmem_max`` in bytes, or None where it cannot be read (not Linux)."""
    try:
        return int(Path(path).read_text(encoding='ascii').strip())
    except (OSError, ValueError):
        return None


def profile_load(profile: RobotProfile, *,
                 frame_bytes: dict[str, int] | None = None) -> tuple[float, int]:
    """Return (bytes per second, largest message in bytes) a profile's topics carry.

    Cameras count ``height x width x 3`` bytes per frame (rgb8, a tenth of it for
    CompressedImage) at their ``expected_hz`` or the profile's ``fps``. The profile's sizes are
    those frames are resized to, so this is a lower bound: pass ``frame_bytes`` (camera name ->
    bytes of one raw message) when the real size is known. Joint streams are counted at their
    rate; extra topics are not counted (their size is unknown).
    """
    frame_bytes = frame_bytes or {}
    rate = 0.0
    largest = 0
    for cam in profile.cameras:
        size = frame_bytes.get(cam.name)
        if size is None:
            size = cam.height * cam.width * _BYTES_PER_PIXEL
            if cam.type.endswith('CompressedImage'):
                size = int(size * COMPRESSED_RATIO)
        rate += size * (cam.expected_hz or profile.fps)
        largest = max(largest, size)
    joint_msg = profile.n_joints * 3 * 8 + _JOINT_MSG_OVERHEAD
    for stream in (profile.state, profile.action):
        rate += joint_msg * (stream.expected_hz or profile.fps)
        largest = max(largest, joint_msg)
    return rate, largest


def needed_receive_buffer(bytes_per_s: float, largest_message: int = 0,
                          window_s: float = DEFAULT_WINDOW_S) -> int:
    """Return the receive buffer (bytes) that absorbs ``window_s`` of traffic and 2 messages.

    Raises:
        ValueError: A negative rate, size or window.
    """
    if bytes_per_s < 0 or largest_message < 0 or window_s < 0:
        msg = (f'load must be >= 0, got {bytes_per_s} B/s, largest message {largest_message} B,'
               f' window {window_s} s')
        raise ValueError(msg)
    return int(math.ceil(max(bytes_per_s * window_s, 2 * largest_message)))


def _human(n: float) -> str:
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if n < 1024 or unit == 'GiB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1024
    return f'{n:.1f} GiB'  # pragma: no cover


def socket_buffer_warning(load: RobotProfile | float, *, rmem_max: int | None = None,
                          rmem_max_path: Path = RMEM_MAX_PATH,
                          window_s: float = DEFAULT_WINDOW_S,
                          frame_bytes: dict[str, int] | None = None) -> str | None:
    """Return a warning when ``net.core.rmem_max`` is too small for ``load``, else None.

    Args:
        load: A robot profile (its cameras and joint streams, see :func:`profile_load`) or a
            rate in bytes per second.
        rmem_max: The kernel cap in bytes; read from ``rmem_max_path`` when None.
        rmem_max_path: Where to read it (``/proc/sys/net/core/rmem_max``).
        window_s: Seconds of traffic the buffer must absorb.
        frame_bytes: Camera name -> bytes of one raw frame (profiles only; see profile_load).

    Returns:
        None when the cap is large enough or cannot be read (not Linux); else one line that
        names the cap, the load and the ``sysctl`` command that fixes it.

    Raises:
        ValueError: A negative rate or window.
    """
    if isinstance(load, (int, float)) and not isinstance(load, bool):
        rate, largest, what = float(load), 0, 'this load'
    else:
        rate, largest = profile_load(load, frame_bytes=frame_bytes)
        what = f'profile {load.name!r} ({len(load.cameras)} camera(s))'
    need = needed_receive_buffer(rate, largest, window_s)
    cap = read_rmem_max(rmem_max_path) if rmem_max is None else rmem_max
    if cap is None or cap >= need:
        return None
    suggest = max(SUGGESTED_RMEM_MAX, 1 << (need - 1).bit_length())
    return (f'net.core.rmem_max is {cap} bytes ({_human(cap)}) but {what} streams about '
            f'{rate / 1e6:.1f} MB/s and needs a socket receive buffer of {_human(need)} '
            f'({window_s:g} s of traffic, 2 largest messages): DDS may drop samples in bursts. '
            f'Raise it: sudo sysctl -w net.core.rmem_max={suggest} (see docs/dds_tuning.md)')
