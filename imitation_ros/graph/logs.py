"""rcutils-style logger of the DDS backend.

Lines go to stderr as ``[INFO] [1700000000.123456789] [ns.node]: text``. ``throttle_duration_sec``,
``once`` and ``skip_first`` behave like rclpy's (keyed by call site). Levels come from
``--ros-args --log-level [name:=]level``.

Sinks: a node registers a sink for its logger name (``add_sink``) and gets every record that
passed the threshold, of that logger and of its children (``node.child``), as
:class:`LogRecord` (the DDS backend publishes them on ``/rosout``). A sink that fails, or that
logs itself, never recurses: records emitted while a sink runs on the same thread are not sent to
sinks again, and sink exceptions are swallowed.
"""
from __future__ import annotations

import enum
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class LoggingSeverity(enum.IntEnum):
    """rcutils severities."""

    UNSET = 0
    DEBUG = 10
    INFO = 20
    WARN = 30
    ERROR = 40
    FATAL = 50


_LEVELS: dict[str, LoggingSeverity] = {}
_DEFAULT = [LoggingSeverity.INFO]
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log line as rcl_interfaces/msg/Log carries it."""

    stamp_ns: int
    level: int
    name: str
    msg: str
    file: str
    function: str
    line: int


Sink = Callable[[LogRecord], None]
_SINKS: dict[str, Sink] = {}
_in_sink = threading.local()


def add_sink(logger_name: str, sink: Sink) -> None:
    """Send the records of ``logger_name`` and its children to ``sink`` (replaces any other)."""
    with _lock:
        _SINKS[logger_name] = sink


def remove_sink(logger_name: str, sink: Sink) -> None:
    """Stop sending records to ``sink`` (only if it is still the one of ``logger_name``)."""
    with _lock:
        if _SINKS.get(logger_name) is sink:
            del _SINKS[logger_name]


def _sink_for(name: str) -> Sink | None:
    parts = name.split('.')
    for i in range(len(parts), 0, -1):
        sink = _SINKS.get('.'.join(parts[:i]))
        if sink is not None:
            return sink
    return None


def _call_site() -> tuple[str, str, int]:
    frame = sys._getframe(1)  # noqa: SLF001
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    if frame is None:
        return '', '', 0
    return frame.f_code.co_filename, frame.f_code.co_name, frame.f_lineno


def _emit_to_sink(name: str, severity: int, message: str, stamp_ns: int) -> None:
    if not _SINKS or getattr(_in_sink, 'active', False):
        return
    sink = _sink_for(name)
    if sink is None:
        return
    file, function, line = _call_site()
    _in_sink.active = True
    try:
        sink(LogRecord(stamp_ns, int(severity), name, message, file, function, line))
    except Exception:  # noqa: BLE001, S110 - a broken sink must never break (or loop) logging
        pass
    finally:
        _in_sink.active = False


def set_levels(levels: dict[str, str]) -> None:
    """Apply ``{logger name or '': level}`` (from ``--log-level``)."""
    for name, level in levels.items():
        sev = LoggingSeverity[level.upper().replace('WARNING', 'WARN')]
        if name:
            _LEVELS[name] = sev
        else:
            _DEFAULT[0] = sev


class RcutilsLogger:
    """Logger with rclpy's call signatures (``info(msg, throttle_duration_sec=, once=)``)."""

    def __init__(self, name: str = '') -> None:
        self.name = name
        self._level = LoggingSeverity.UNSET
        self._sites: dict[tuple[Any, ...], list[Any]] = {}
        self._severity_at: dict[tuple[Any, ...], LoggingSeverity] = {}

    def get_child(self, name: str) -> RcutilsLogger:
        """Return the logger ``<this>.<name>``."""
        return RcutilsLogger(f'{self.name}.{name}' if self.name else name)

    def set_level(self, level: LoggingSeverity | int) -> None:
        """Set this logger's threshold."""
        self._level = LoggingSeverity(level)

    def get_effective_level(self) -> LoggingSeverity:
        """Return the threshold in force for this logger."""
        if self._level != LoggingSeverity.UNSET:
            return self._level
        parts = self.name.split('.')
        for i in range(len(parts), 0, -1):
            lvl = _LEVELS.get('.'.join(parts[:i]))
            if lvl is not None:
                return lvl
        return _DEFAULT[0]

    def is_enabled_for(self, severity: LoggingSeverity | int) -> bool:
        """Return whether a message of ``severity`` would be printed."""
        return severity >= self.get_effective_level()

    def log(self, message: Any, severity: LoggingSeverity | int, *,
            throttle_duration_sec: float | None = None, once: bool = False,
            skip_first: bool = False, throttle_time_source_type: Any = None,
            **_kw: Any) -> bool:
        """Print ``message`` if enabled and not filtered; returns whether it was printed."""
        severity = LoggingSeverity(severity)
        if not self.is_enabled_for(severity):
            return False
        frame = sys._getframe(1)  # noqa: SLF001 - the call site of info()/warning()/log()
        while frame.f_back is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        caller = (frame.f_code.co_filename, frame.f_code.co_name, frame.f_lineno, frame.f_lasti)
        with _lock:
            first = self._severity_at.setdefault(caller, severity)
        if first != severity:
            # rclpy's rule (rcutils_logger.py): one call site logs at one severity. Enforced
            # here too, so a node that would die under real rclpy dies in the tests without it.
            msg = 'Logger severity cannot be changed between calls.'
            raise ValueError(msg)
        if once or throttle_duration_sec or skip_first:
            key = (frame.f_code.co_filename, frame.f_lineno, severity)
            now = time.monotonic()
            with _lock:
                site = self._sites.setdefault(key, [0, None])  # [calls, last printed]
                site[0] += 1
                if once and site[1] is not None:
                    return False
                if skip_first and site[0] == 1:
                    return False
                if throttle_duration_sec and site[1] is not None and (
                        now - site[1] < throttle_duration_sec):
                    return False
                site[1] = now
        stamp_ns = time.time_ns()
        line = (f'[{severity.name}] [{stamp_ns // 1_000_000_000}.{stamp_ns % 1_000_000_000:09d}]'
                f' [{self.name}]: {message}\n')
        try:
            sys.stderr.write(line)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        _emit_to_sink(self.name, severity, str(message), stamp_ns)
        return True

    def debug(self, message: Any, **kwargs: Any) -> bool:
        """Log at DEBUG."""
        return self.log(message, LoggingSeverity.DEBUG, **kwargs)

    def info(self, message: Any, **kwargs: Any) -> bool:
        """Log at INFO."""
        return self.log(message, LoggingSeverity.INFO, **kwargs)

    def warning(self, message: Any, **kwargs: Any) -> bool:
        """Log at WARN."""
        return self.log(message, LoggingSeverity.WARN, **kwargs)

    warn = warning

    def error(self, message: Any, **kwargs: Any) -> bool:
        """Log at ERROR."""
        return self.log(message, LoggingSeverity.ERROR, **kwargs)

    def fatal(self, message: Any, **kwargs: Any) -> bool:
        """Log at FATAL."""
        return self.log(message, LoggingSeverity.FATAL, **kwargs)


def get_logger(name: str) -> RcutilsLogger:
    """Return a logger named ``name`` (like ``rclpy.logging.get_logger``)."""
    return RcutilsLogger(name)
