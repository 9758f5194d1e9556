"""The package's own messages on the graph, live: recorder_node and dagger_node on the DDS backend.

A probe process (DDS backend) subscribes to ``/episode_events`` and ``/intervention_events``
(the recorder's records) and ``/dagger/intervention_events`` (the gate's changes of control),
drives an episode through the recorder's services and a takeover through ``/dagger/take_over``,
and reads what the graph says of the publishers. Pinned:
- the recorder publishes each ``EpisodeEvent`` it writes live (START, STOP with success, task,
  episode index), and the bag holds the same records;
- the recorder publishes its ``InterventionEvent`` records (state at START, then each change
  of ``/dagger/human_in_control``) and the gate publishes its own on ``~/intervention_events``
  with the trigger as ``source``;
- the publishers advertise the DDS type name rmw_cyclonedds_cpp uses
  (``imitation_ros::msg::dds_::EpisodeEvent_``, seen as ``imitation_ros/msg/EpisodeEvent``)
  and the RIHS01 type hash rosidl would generate, computed here by rosbags straight from
  ``msg/*.msg`` (not through ``imitation_ros.messages``).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from nodeproc import start_node, stop_node, wait_ready
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TASK = 'put the cube in the bowl'

PROBE = r'''
import json, sys, time
from imitation_ros import graph
from imitation_ros.graph import Node, msg_type, qos_profile, spin_once, srv_type
graph.init([sys.argv[0]])
node = Node('msgs_probe')
Trigger, SetBool = srv_type('std_srvs/srv/Trigger'), srv_type('std_srvs/srv/SetBool')
seen = {'episode': [], 'recorded': [], 'gate': [], 'endpoints': {}}
def stamp(m):
    return m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
def on_episode(m):
    seen['episode'].append({'event': int(m.event), 'episode_index': int(m.episode_index),
                            'success': bool(m.success), 'task': m.task, 'reason': m.reason,
                            'stamp': stamp(m), 'START': int(type(m).START)})
def on_intervention(key):
    return lambda m: seen[key].append({'human': bool(m.human_in_control), 'source': m.source,
                                       'episode_index': int(m.episode_index), 'stamp': stamp(m)})
EE = msg_type('imitation_ros/msg/EpisodeEvent')
IE = msg_type('imitation_ros/msg/InterventionEvent')
node.create_subscription(EE, '/episode_events', on_episode, qos_profile('reliable', 100))
node.create_subscription(IE, '/intervention_events', on_intervention('recorded'),
                         qos_profile('reliable', 100))
node.create_subscription(IE, '/dagger/intervention_events', on_intervention('gate'),
                         qos_profile('reliable', 100))
def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        spin_once(node, timeout_sec=0.02)
def call(srv, name, data=None):
    cli = node.create_client(srv, name)
    assert cli.wait_for_service(timeout_sec=30.0), name
    req = srv.Request()
    if data is not None:
        req.data = data
    fut = cli.call_async(req)
    end = time.monotonic() + 10.0
    while not fut.done() and time.monotonic() < end:
        spin_once(node, timeout_sec=0.02)
    assert fut.done() and fut.result().success, (name, fut.done() and fut.result().message)
# wait until both publishers of the recorder and the gate's are matched
end = time.monotonic() + 30.0
topics = ('/episode_events', '/intervention_events', '/dagger/intervention_events')
while time.monotonic() < end and not all(node.count_publishers(t) for t in topics):
    spin(0.1)
spin(1.0)
def until(pred, seconds=20.0):     # each step waits for what it causes (loaded machines)
    end = time.monotonic() + seconds
    while time.monotonic() < end and not pred():
        spin_once(node, timeout_sec=0.02)
call(Trigger, '/recorder/start_episode')
until(lambda: len(seen['episode']) >= 1 and len(seen['recorded']) >= 1)
call(SetBool, '/dagger/take_over', True)
until(lambda: len(seen['recorded']) >= 2 and len(seen['gate']) >= 1)
call(SetBool, '/dagger/take_over', False)
until(lambda: len(seen['recorded']) >= 3 and len(seen['gate']) >= 2)
call(SetBool, '/recorder/stop_episode', True)
until(lambda: len(seen['episode']) >= 2)
spin(1.0)                               # nothing more may arrive
for t in topics:
    seen['endpoints'][t] = [(e.topic_type, e.topic_type_hash)
                            for e in node.get_publishers_info_by_topic(t)]
json.dump(seen, open(sys.argv[1], 'w'))
node.destroy_node()
graph.try_shutdown()
'''


def _rihs01(name: str) -> str:
    """RIHS01 of ``imitation_ros/msg/<name>`` by rosbags, from the .msg file in the repo."""
    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(get_types_from_msg((ROOT / 'msg' / f'{name}.msg').read_text(),
                                      f'imitation_ros/msg/{name}'))
    return store.hash_rihs01(f'imitation_ros/msg/{name}')


def test_recorder_and_gate_publish_their_events_live(node_env: dict[str, str], python: str,
                                                     tmp_path: Path) -> None:
    out = tmp_path / 'bags'
    logs = {n: tmp_path / f'{n}.log' for n in ('recorder', 'dagger')}
    rec = start_node(python, node_env, 'imitation_ros.nodes.recorder_node',
                     '-p', f'output_dir:={out}', '-p', 'min_free_disk_mb:=10.0',
                     '-p', 'min_episode_frames:=0', '-p', f'task:={TASK}', log=logs['recorder'])
    gate = start_node(python, node_env, 'imitation_ros.nodes.dagger_node',
                      '-p', 'triggers:=[service]', '-p', 'enabled:=true', log=logs['dagger'])
    try:
        wait_ready({'recorder': (rec, logs['recorder'], 'recorder_node'),
                    'dagger': (gate, logs['dagger'], 'dagger_node')})
        res = tmp_path / 'probe.json'
        probe = subprocess.run([python, '-c', PROBE, str(res)], env=node_env, timeout=120,
                               capture_output=True, text=True, check=False)
        text = {n: p.read_text(errors='replace') for n, p in logs.items()}
        assert probe.returncode == 0, probe.stdout + probe.stderr + str(text)
        seen = json.loads(res.read_text())
    finally:
        stop_node(gate)
        stop_node(rec)

    eps = seen['episode']
    assert [(e['event'], e['episode_index'], e['success'], e['task']) for e in eps] == [
        (0, 0, False, TASK), (1, 0, True, TASK)], eps
    assert eps[0]['START'] == 0 and eps[0]['stamp'] < eps[1]['stamp']

    recorded = [(e['human'], e['episode_index'], e['source']) for e in seen['recorded']]
    assert recorded == [(False, 0, '/dagger/human_in_control'),
                        (True, 0, '/dagger/human_in_control'),
                        (False, 0, '/dagger/human_in_control')], seen['recorded']
    gate_events = [(e['human'], e['episode_index'], e['source']) for e in seen['gate']]
    assert gate_events == [(True, 0, 'service'), (False, 0, 'service')], seen['gate']

    want = {'/episode_events': 'EpisodeEvent', '/intervention_events': 'InterventionEvent',
            '/dagger/intervention_events': 'InterventionEvent'}
    for topic, name in want.items():
        assert seen['endpoints'][topic] == [[f'imitation_ros/msg/{name}', _rihs01(name)]], (
            topic, seen['endpoints'][topic])
    assert _rihs01('EpisodeEvent').startswith('RIHS01_') and \
        _rihs01('EpisodeEvent') != _rihs01('InterventionEvent')

    # the bag holds the records the probe received live (same stamps and fields)
    bags = [p for p in out.iterdir() if p.is_dir()]
    assert len(bags) == 1, bags
    in_bag: dict[str, list[tuple]] = {'/episode_events': [], '/intervention_events': []}
    with AnyReader(bags) as reader:
        for conn, _t, raw in reader.messages():
            if conn.topic in in_bag:
                m = reader.deserialize(raw, conn.msgtype)
                in_bag[conn.topic].append(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec)
    assert in_bag['/episode_events'] == [e['stamp'] for e in eps]
    assert in_bag['/intervention_events'] == [e['stamp'] for e in seen['recorded']]
