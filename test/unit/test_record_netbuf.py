"""``socket_buffer_warning``: net.core.rmem_max against a recording load (ROS-free).

Regressions pinned:
- the need is ``window_s`` of traffic and at least two of the largest messages;
- a profile's load counts its cameras (raw rgb8, compressed at a tenth) and joint streams;
- the warning names the cap, the load and the sysctl fix; None when the cap is enough or
  cannot be read; the real /proc file is read when no cap is given.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from imitation_ros.data.synthetic import synthetic_profile
from imitation_ros.record import socket_buffer_warning
from imitation_ros.record.netbuf import (
    SUGGESTED_RMEM_MAX,
    needed_receive_buffer,
    profile_load,
    read_rmem_max,
)


def test_needed_buffer_rules() -> None:
    assert needed_receive_buffer(30e6) == 3_000_000            # 0.1 s of 30 MB/s
    assert needed_receive_buffer(1e6, largest_message=921_600) == 1_843_200
    assert needed_receive_buffer(30e6, window_s=0.5) == 15_000_000
    with pytest.raises(ValueError, match='load must be >= 0'):
        needed_receive_buffer(-1.0)


def test_profile_load_counts_cameras_and_joints() -> None:
    prof = synthetic_profile(fps=30.0, size=(480, 640), cameras={
        'front': ('/front/image_raw', 'sensor_msgs/msg/Image'),
        'wrist': ('/wrist/compressed', 'sensor_msgs/msg/CompressedImage')})
    rate, largest = profile_load(prof)
    frame = 480 * 640 * 3
    joints = 2 * 30.0 * (3 * 3 * 8 + 128)
    assert largest == frame
    assert rate == pytest.approx(frame * 30 + int(frame * 0.1) * 30 + joints)
    rate2, largest2 = profile_load(prof, frame_bytes={'front': 1920 * 1080 * 3})
    assert largest2 == 1920 * 1080 * 3 and rate2 > rate


def test_warning_for_small_cap_names_everything() -> None:
    prof = synthetic_profile(fps=30.0, size=(480, 640), cameras={
        'front': ('/front/image_raw', 'sensor_msgs/msg/Image')})
    text = socket_buffer_warning(prof, rmem_max=212_992)
    assert text is not None
    assert text.startswith('net.core.rmem_max is 212992 bytes (208.0 KiB)')
    assert f'profile {prof.name!r} (1 camera(s)) streams about' in text
    assert '1 camera(s)' in text and 'MB/s' in text
    assert f'sudo sysctl -w net.core.rmem_max={SUGGESTED_RMEM_MAX}' in text
    assert 'docs/dds_tuning.md' in text
    assert socket_buffer_warning(prof, rmem_max=SUGGESTED_RMEM_MAX) is None


def test_warning_for_a_rate_and_a_huge_load() -> None:
    assert socket_buffer_warning(1e6, rmem_max=212_992) is None          # 100 kB needed
    text = socket_buffer_warning(500e6, rmem_max=SUGGESTED_RMEM_MAX)     # 50 MB needed
    assert text is not None and 'this load streams about 500.0 MB/s' in text
    assert 'net.core.rmem_max=67108864' in text                          # next power of two


def test_cap_read_from_proc_or_unknown(tmp_path: Path) -> None:
    fake = tmp_path / 'rmem_max'
    fake.write_text('4194304\n')
    assert read_rmem_max(fake) == 4_194_304
    assert socket_buffer_warning(100e6, rmem_max_path=fake) is not None
    assert socket_buffer_warning(10e6, rmem_max_path=fake) is None
    assert read_rmem_max(tmp_path / 'missing') is None
    assert socket_buffer_warning(1e9, rmem_max_path=tmp_path / 'missing') is None
    real = read_rmem_max()
    assert real is None or real > 0
