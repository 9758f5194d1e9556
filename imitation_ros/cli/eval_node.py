"""``eval-sim --through-node``: success rate with sim_node and policy_node as real processes.

The two nodes talk over the graph exactly as on a robot (DDS on this machine's loopback);
this process only drives episodes: ``/policy/enable false``, ``/sim/reset`` (the sim starts
at ``first_seed - 1``, so episode k of the run uses seed ``first_seed + k``, the seeds of the
in-process evaluation), ``/policy/enable true`` (the policy ramps in from the arm's pose),
then waits ``duration_s`` of *sim* time (``/sim/task_state``) and reads ``/sim/success``.
graph is imported lazily (inside the function), as every CLI module does.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

NODE_START_S = 180.0      # the policy node loads torch and the checkpoint


def _spawn(module: str, params: dict[str, Any], log: Path, env: dict[str, str]
           ) -> subprocess.Popen[bytes]:
    args = [sys.executable, '-m', module, '--ros-args']
    for k, v in params.items():
        args += ['-p', f'{k}:={v}']
    return subprocess.Popen(args, env=env, stdout=log.open('wb'), stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def evaluate_through_node(checkpoint: str, *, profile: str, seeds: range, duration_s: float,
                          device: str, policy_params: dict[str, Any], log_dir: Path,
                          cube_jitter_m: float | None = None, task: str = 'lift_cube'
                          ) -> list[tuple[int, bool]]:
    """Run one episode per seed through sim_node + policy_node; return (seed, success) pairs.

    Raises:
        RuntimeError: A node exited, or a service did not come up (the message names the
            node and its log file).
    """
    env = dict(os.environ)
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')    # never leave the host
    env['PYTHONUNBUFFERED'] = '1'
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    log_dir.mkdir(parents=True, exist_ok=True)
    sim_params: dict[str, Any] = {'profile': profile, 'seed': seeds.start - 1, 'task': task}
    if cube_jitter_m is not None:
        sim_params['cube_jitter_m'] = cube_jitter_m
    sim = _spawn('imitation_ros.nodes.sim_node', sim_params, log_dir / 'sim_node.log', env)
    pol = _spawn('imitation_ros.nodes.policy_node', {
        'profile': profile, 'checkpoint': checkpoint, 'device': device, 'enabled': 'false',
        **policy_params}, log_dir / 'policy_node.log', env)
    try:
        return _drive(sim, pol, seeds, duration_s, log_dir)
    finally:
        _stop(pol)
        _stop(sim)


def _drive(sim: subprocess.Popen[bytes], pol: subprocess.Popen[bytes], seeds: range,
           duration_s: float, log_dir: Path) -> list[tuple[int, bool]]:
    from imitation_ros import graph
    from imitation_ros.graph import Node, msg_type, qos_profile, spin_once, srv_type

    graph.init([sys.argv[0]])
    node = Node('eval_driver')
    trigger, set_bool = srv_type('std_srvs/srv/Trigger'), srv_type('std_srvs/srv/SetBool')
    reset = node.create_client(trigger, '/sim/reset')
    enable = node.create_client(set_bool, '/policy/enable')
    state: dict[str, Any] = {'episode': -1.0, 't': 0.0, 'success': False}

    def on_task(msg: Any) -> None:
        state['episode'], state['t'] = float(msg.data[0]), float(msg.data[1])

    def on_success(msg: Any) -> None:
        state['success'] = bool(msg.data)

    node.create_subscription(msg_type('std_msgs/msg/Float64MultiArray'), '/sim/task_state',
                             on_task, qos_profile('reliable', 10))
    node.create_subscription(msg_type('std_msgs/msg/Bool'), '/sim/success', on_success,
                             qos_profile('latched'))

    def check_alive() -> None:
        for name, proc in (('sim_node', sim), ('policy_node', pol)):
            if proc.poll() is not None:
                msg = f'{name} exited with {proc.returncode}; see {log_dir / (name + ".log")}'
                raise RuntimeError(msg)

    def call(client: Any, request: Any) -> Any:
        fut = client.call_async(request)
        end = time.monotonic() + 30.0
        while not fut.done():
            check_alive()
            if time.monotonic() > end:
                msg = f'no answer from {client.srv_name}'
                raise RuntimeError(msg)
            spin_once(node, timeout_sec=0.05)
        return fut.result()

    try:
        end = time.monotonic() + NODE_START_S
        while not (reset.service_is_ready() and enable.service_is_ready()):
            check_alive()
            if time.monotonic() > end:
                msg = f'/sim/reset or /policy/enable not up after {NODE_START_S} s; see {log_dir}'
                raise RuntimeError(msg)
            spin_once(node, timeout_sec=0.1)
        results = []
        for k, seed in enumerate(seeds):
            call(enable, set_bool.Request(data=False))
            reply = call(reset, trigger.Request())
            call(enable, set_bool.Request(data=True))
            while not (state['episode'] >= k + 1 and state['t'] >= duration_s):
                check_alive()
                spin_once(node, timeout_sec=0.02)
            for _ in range(10):         # the success topic is latched at success_hz
                spin_once(node, timeout_sec=0.02)
            results.append((seed, bool(state['success'])))
            print(f'through-node episode {k} ({reply.message}): success={state["success"]}',
                  flush=True)
        call(enable, set_bool.Request(data=False))
        return results
    finally:
        node.destroy_node()
        graph.try_shutdown()
