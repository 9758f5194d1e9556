"""Test helper process: drives the recorder's services like an operator would.

    python test/e2e/record_call.py start sleep:2 stop:true start sleep:1 discard status

Steps: ``start``, ``stop:true|false``, ``discard``, ``sleep:S``, ``status`` (waits for one
``/recorder/status`` message), ``diagnostics`` (waits for one ``/diagnostics`` array). Prints one JSON line per step: the service response, or the
status document, with the wall-clock time (ns) at which the response arrived.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any

from imitation_ros import graph
from imitation_ros.graph import Node, msg_type, qos_profile, spin_once, srv_type

Trigger = srv_type('std_srvs/srv/Trigger')
SetBool = srv_type('std_srvs/srv/SetBool')


def _level(value: Any) -> int:
    return value[0] if isinstance(value, (bytes, bytearray)) else int(value)


def main() -> int:
    graph.init([sys.argv[0]])
    node = Node('record_test_caller')
    status: list[str] = []
    node.create_subscription(msg_type('std_msgs/msg/String'), '/recorder/status',
                             lambda m: status.append(m.data), qos_profile('reliable'))
    diags: list[Any] = []
    node.create_subscription(msg_type('diagnostic_msgs/msg/DiagnosticArray'), '/diagnostics',
                             diags.append, qos_profile('reliable'))
    clients = {
        'start': (node.create_client(Trigger, '/recorder/start_episode'), Trigger),
        'stop': (node.create_client(SetBool, '/recorder/stop_episode'), SetBool),
        'discard': (node.create_client(Trigger, '/recorder/discard_episode'), Trigger),
    }
    try:
        for step in sys.argv[1:]:
            name, _, arg = step.partition(':')
            if name == 'sleep':
                end = time.monotonic() + float(arg)
                while time.monotonic() < end:
                    spin_once(node, timeout_sec=0.02)
                continue
            if name == 'status':
                status.clear()
                end = time.monotonic() + 5.0
                while not status and time.monotonic() < end:
                    spin_once(node, timeout_sec=0.05)
                print(json.dumps({'step': step, 'status': json.loads(status[-1])
                                  if status else None, 't_ns': time.time_ns()}), flush=True)
                continue
            if name == 'diagnostics':
                diags.clear()
                end = time.monotonic() + 5.0
                while not diags and time.monotonic() < end:
                    spin_once(node, timeout_sec=0.05)
                entries = [{'name': st.name, 'level': _level(st.level), 'message': st.message,
                            'values': {kv.key: kv.value for kv in st.values}}
                           for st in (diags[-1].status if diags else [])]
                print(json.dumps({'step': step, 'diagnostics': entries}), flush=True)
                continue
            client, srv = clients[name]
            if not client.wait_for_service(timeout_sec=30.0):
                print(json.dumps({'step': step, 'error': 'service not available'}), flush=True)
                return 2
            req = srv.Request()
            if name == 'stop':
                req.data = arg.lower() == 'true'
            t_sent = time.time_ns()
            fut = client.call_async(req)
            end = time.monotonic() + 10.0
            while not fut.done() and time.monotonic() < end:
                spin_once(node, timeout_sec=0.02)
            res = fut.result() if fut.done() else None
            print(json.dumps({'step': step, 'success': getattr(res, 'success', None),
                              'message': getattr(res, 'message', 'timeout'),
                              't_sent_ns': t_sent, 't_ns': time.time_ns()}), flush=True)
    finally:
        node.destroy_node()
        graph.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
