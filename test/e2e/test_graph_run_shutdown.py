"""``graph.run`` shutdown on both backends (conftest ``nodes_backends``): a node is destroyed
exactly once, and signals that arrive while it is being destroyed do not interrupt it.

The node below writes ``closing`` when ``destroy_node`` starts, takes 1.5 s (a recorder closing
its bag), then writes ``closed N`` (N = how many times destroy_node ran). The test sends SIGINT,
waits for ``closing``, then sends SIGINT and SIGTERM again (``ros2 launch``'s escalation, an
impatient Ctrl-C): the file must say ``closed 1``, the process exit 0, and print no traceback
nor the rclpy "context is invalid" complaint of a node destroyed after rclpy's own handler shut
the context down. A node still starting up when the signal comes is not built at all.
"""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

NODE = r'''
import sys, time
from imitation_ros.graph import Node, run

MARK = sys.argv[1]


class Slow(Node):
    destroyed = 0

    def __init__(self):
        super().__init__('slow_closer')
        self.create_timer(0.05, lambda: None)
        self.get_logger().info('slow_closer ready')

    def destroy_node(self):
        Slow.destroyed += 1
        with open(MARK, 'a') as fh:
            fh.write('closing\n')
        time.sleep(1.5)
        self.get_logger().info('slow_closer closed')
        with open(MARK, 'a') as fh:
            fh.write(f'closed {Slow.destroyed}\n')
        super().destroy_node()


run(Slow, [sys.argv[0]])
'''


def _wait(pred, timeout: float, what: str, proc: subprocess.Popen, log: Path) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f'{what} (rc={proc.poll()}):\n{log.read_text()[-3000:]}')


def test_second_signal_does_not_interrupt_destroy(nodes_backends, python: str,  # noqa: ANN001
                                                   tmp_path: Path) -> None:
    script, mark, log = tmp_path / 'slow.py', tmp_path / 'mark.txt', tmp_path / 'node.log'
    script.write_text(NODE)
    proc = subprocess.Popen([python, str(script), str(mark)], env=nodes_backends.node_env,
                            stdout=log.open('w'), stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _wait(lambda: 'slow_closer ready' in log.read_text(), 60, 'node never got ready',
              proc, log)
        proc.send_signal(signal.SIGINT)
        _wait(lambda: mark.exists() and 'closing' in mark.read_text(), 20,
              'destroy_node never started', proc, log)
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    nodes_backends.expect_log(text)
    assert rc == 0, text
    assert mark.read_text().splitlines() == ['closing', 'closed 1'], mark.read_text()
    assert 'slow_closer closed' in text, text            # logging still works in destroy
    for bad in ('Traceback', 'KeyboardInterrupt', 'context is invalid', 'Failed to publish'):
        assert bad not in text, text
