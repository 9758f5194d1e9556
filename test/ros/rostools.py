"""Helpers of the ``ros`` tests: processes in their own group, ``ros2`` commands."""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEUTRAL_CWD = tempfile.gettempdir()   # not the repo root: `python -c` would import ./imitation_ros

def _restore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Proc:
    """A process in its own group, output to a log file."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path,
                 cwd: Path | None = None) -> None:
        self.cmd, self.log = cmd, log
        self._fh = log.open('w')
        self.p = subprocess.Popen(cmd, env=env, cwd=cwd or NEUTRAL_CWD, stdout=self._fh,
                                  stderr=subprocess.STDOUT, start_new_session=True,
                                  preexec_fn=_restore_sigint)

    def text(self) -> str:
        return self.log.read_text(errors='replace')

    def wait_for(self, needle: str, timeout: float = 60.0) -> str:
        """Wait until ``needle`` is in the output; fail naming the command otherwise."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = self.text()
            if needle in text:
                return text
            if self.p.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f'{" ".join(self.cmd)}: no {needle!r} in its output within {timeout} s '
                    f'(rc={self.p.poll()}):\n{self.text()[-4000:]}')

    def sigint_group(self) -> None:
        """Ctrl-C in a terminal: SIGINT to every process of the group."""
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGINT)

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f'{" ".join(self.cmd)} did not exit within {timeout} s:\n'
                        f'{self.text()[-4000:]}')

    def stop(self, timeout: float = 30.0) -> int:
        self.sigint_group()
        return self.wait(timeout)

    def kill(self) -> None:
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()
        self._fh.close()


def ros2(env: dict[str, str], *args: str, timeout: float = 60.0,
         check: bool = True) -> subprocess.CompletedProcess:
    """Run ``ros2 ARGS`` to completion; fail with its output when it exits non-zero."""
    res = subprocess.run(['ros2', *args], env=env, capture_output=True, text=True,
                         timeout=timeout, check=False, preexec_fn=_restore_sigint,
                         cwd=NEUTRAL_CWD)
    if check:
        assert res.returncode == 0, f'ros2 {" ".join(args)} -> {res.returncode}:\n' \
                                    f'{res.stdout[-3000:]}\n{res.stderr[-3000:]}'
    return res
