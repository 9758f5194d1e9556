"""Recorder configuration: one frozen dataclass, one ROS parameter per field.

``config/record.yaml`` holds the same keys under ``recorder:`` / ``ros__parameters:``; the node
declares them with ``graph.declare_config(node, RecorderConfig)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Literal

from imitation_ros.errors import ConfigError

Storage = Literal['mcap', 'sqlite3']
Compression = Literal['none', 'zstd']

STORAGES = ('mcap', 'sqlite3')
COMPRESSIONS = ('none', 'zstd')


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderConfig:
    """Everything the recorder needs besides the robot profile.

    Args:
        profile: Robot profile, a path or a file name under ``config/``.
        output_dir: Folder that receives one bag directory per recorder session.
        prefix: Bag directory name prefix (``<prefix>_<YYYYmmdd_HHMMSS>``).
        storage: ``mcap`` (default, what ``ros2 bag record`` writes) or ``sqlite3``.
        compression: ``zstd`` compresses mcap chunks (storage mode) or sqlite messages.
        min_episode_frames: An episode whose action stream fills fewer profile-fps frames is
            dropped (a DISCARD event with the reason is written).
        task: Task text of new episodes; empty uses the profile's ``task``.
        flush_period_s: Data reaches the disk (chunk written, fsync / commit) this often.
        min_free_disk_mb: Below this free space the episode is stopped and new ones refused.
        disk_check_period_s: How often free disk space is checked.
        preroll_s: Messages of this many seconds before START are written with the episode.
        joy_topic: sensor_msgs/Joy topic mapped to episode commands; empty disables it.
        joy_start_button: Button index that starts an episode (-1: off).
        joy_stop_success_button: Button index that stops with success (-1: off).
        joy_stop_fail_button: Button index that stops with failure (-1: off).
        joy_discard_button: Button index that discards the episode (-1: off).
        health_window_s: Window of the live per-topic rate.
        rate_tolerance: Warn when a topic runs below this fraction of its ``expected_hz``.
        silent_after_s: A topic with no message for this long is reported silent.
        late_threshold_s: A message received this much later than its header stamp is late.
        status_period_s: Period of ``~/status`` and ``/diagnostics``.
        keyboard: Read operator keys from the node's stdin (s start, f stop success,
            x stop failure, d discard); for ``ros2 run`` in a terminal.
        intervention_topic: A DAgger gate's control state (``std_msgs/Bool``, latched, true
            while a person commands; ``dagger_node``'s ``~/human_in_control``): every change
            during an episode, and the state at START, becomes an ``InterventionEvent`` record
            on ``/intervention_events`` in the bag. Empty: off.
    """

    profile: str = 'sim_arm.yaml'
    output_dir: str = 'bags'
    prefix: str = 'demo'
    storage: Storage = 'mcap'
    compression: Compression = 'none'
    min_episode_frames: int = 10
    task: str = ''
    flush_period_s: float = 1.0
    min_free_disk_mb: float = 1024.0
    disk_check_period_s: float = 1.0
    preroll_s: float = 0.5
    joy_topic: str = ''
    joy_start_button: int = -1
    joy_stop_success_button: int = -1
    joy_stop_fail_button: int = -1
    joy_discard_button: int = -1
    health_window_s: float = 2.0
    rate_tolerance: float = 0.8
    silent_after_s: float = 1.0
    late_threshold_s: float = 0.2
    status_period_s: float = 1.0
    keyboard: bool = False
    intervention_topic: str = '/dagger/human_in_control'

    def __post_init__(self) -> None:
        if self.storage not in STORAGES:
            msg = f'storage must be one of {STORAGES}, got {self.storage!r}'
            raise ConfigError(msg)
        if self.compression not in COMPRESSIONS:
            msg = f'compression must be one of {COMPRESSIONS}, got {self.compression!r}'
            raise ConfigError(msg)
        if not self.prefix or '/' in self.prefix:
            msg = f'prefix must be a non-empty file name part, got {self.prefix!r}'
            raise ConfigError(msg)
        if not self.output_dir:
            msg = 'output_dir must not be empty'
            raise ConfigError(msg)
        if self.min_episode_frames < 0:
            msg = f'min_episode_frames must be >= 0, got {self.min_episode_frames}'
            raise ConfigError(msg)
        positive = ('flush_period_s', 'disk_check_period_s', 'health_window_s',
                    'silent_after_s', 'late_threshold_s', 'status_period_s')
        for name in positive:
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                msg = f'{name} must be a finite number > 0, got {value!r}'
                raise ConfigError(msg)
        if self.flush_period_s > 1.0:
            msg = (f'flush_period_s must be <= 1.0 (a kill -9 may lose at most one second), '
                   f'got {self.flush_period_s}')
            raise ConfigError(msg)
        if not 0 <= self.preroll_s <= 5.0:
            msg = f'preroll_s must be in [0, 5], got {self.preroll_s}'
            raise ConfigError(msg)
        if not 0 < self.rate_tolerance <= 1.0:
            msg = f'rate_tolerance must be in (0, 1], got {self.rate_tolerance}'
            raise ConfigError(msg)
        if not math.isfinite(self.min_free_disk_mb) or self.min_free_disk_mb < 0:
            msg = f'min_free_disk_mb must be >= 0, got {self.min_free_disk_mb}'
            raise ConfigError(msg)
        for name in ('joy_start_button', 'joy_stop_success_button', 'joy_stop_fail_button',
                     'joy_discard_button'):
            if getattr(self, name) < -1:
                msg = f'{name} must be a button index >= 0 or -1 (off), got {getattr(self, name)}'
                raise ConfigError(msg)

    @classmethod
    def from_dict(cls, data: dict[str, Any], ctx: str = 'recorder') -> RecorderConfig:
        """Build from a mapping, rejecting unknown keys.

        Raises:
            ConfigError: Unknown key or invalid value; the message names ``ctx``.
        """
        names = {f.name for f in fields(cls)}
        bad = sorted(set(data) - names)
        if bad:
            msg = f'{ctx}: unknown key(s) {bad}; allowed: {sorted(names)}'
            raise ConfigError(msg)
        try:
            return cls(**data)
        except ConfigError as err:
            msg = f'{ctx}: {err}'
            raise ConfigError(msg) from None

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (written into the bag's metadata)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
