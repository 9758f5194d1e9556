"""Start a node module as a process and stop it like a terminal's Ctrl-C (shared by e2e tests)."""
from __future__ import annotations

import signal
import subprocess
from pathlib import Path


def start_node(python: str, env: dict[str, str], module: str, *ros_args: str,
               log: Path) -> subprocess.Popen[bytes]:
    """``python -m module --ros-args ...`` with stdout and stderr into ``log``."""
    return subprocess.Popen([python, '-m', module, '--ros-args', *ros_args], env=env,
                            stdout=log.open('wb'), stderr=subprocess.STDOUT)


def stop_node(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGINT, then SIGKILL if the process has not ended within ``timeout`` s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
