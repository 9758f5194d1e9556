"""``imitation-ros launch`` stops its processes like ``ros2 launch``: SIGINT, then SIGTERM
after grace/2, then SIGKILL after grace, so a process that ignores signals cannot hang it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from imitation_ros.cli.launcher import PlannedProcess, run_processes

pytestmark = pytest.mark.e2e

STUBBORN = '''
import signal, sys, time
got = []
signal.signal(signal.SIGINT, lambda n, f: got.append('INT'))
signal.signal(signal.SIGTERM, lambda n, f: got.append('TERM'))
open(sys.argv[1], 'w').write('ready')
end = time.monotonic() + 60
while time.monotonic() < end:
    time.sleep(0.05)
    open(sys.argv[1], 'w').write(' '.join(got))
'''


def test_stubborn_process_gets_sigint_sigterm_then_kill(tmp_path: Path) -> None:
    seen = tmp_path / 'seen.txt'
    quitter = PlannedProcess('quitter', (sys.executable, '-c',
                                         'import time; time.sleep(1.0)'), True)
    stubborn = PlannedProcess('stubborn', (sys.executable, '-c', STUBBORN, str(seen)), False)
    rc = run_processes([stubborn, quitter], grace_s=3.0)
    assert rc == -9                                   # killed: the launch says so
    assert seen.read_text().split() == ['INT', 'TERM'], seen.read_text()
