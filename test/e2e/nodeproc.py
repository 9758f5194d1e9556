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


#: The line each node logs once its constructor is done (topics, services and timers exist).
READY = {'sim_node': 'sim task ', 'recorder_node': 'recording ', 'dagger_node': 'dagger gate (',
         'policy_node': 'inference in a ', 'expert_node': 'graph backend'}


def wait_ready(procs: dict[str, tuple[subprocess.Popen[bytes], Path, str]],
               timeout: float = 240.0) -> None:
    """Wait until every node has logged its ready line (``READY``), or fail naming the laggard.

    A fresh virtual environment compiles torch's and lerobot's bytecode on first import, so a
    cold start can take minutes; starting the next process only when the earlier ones are up
    keeps a test's timing from depending on that.

    Args:
        procs: name -> (process, log file, node module name, e.g. ``sim_node``).
        timeout: Seconds for all of them together.
    """
    import time

    end = time.monotonic() + timeout
    waiting = dict(procs)
    while waiting:
        for name, (proc, log, node) in list(waiting.items()):
            text = log.read_text(errors='replace') if log.exists() else ''
            if READY[node] in text:
                del waiting[name]
            elif proc.poll() is not None:
                msg = f'{name} exited with {proc.returncode} before it was up:\n{text[-3000:]}'
                raise AssertionError(msg)
        if waiting and time.monotonic() > end:
            msg = f'not up after {timeout:.0f} s: {sorted(waiting)}'
            raise AssertionError(msg)
        time.sleep(0.1)
