"""expert_node: a scripted teleoperator streaming what a leader arm would, episode by episode.

For each of ``episodes``: call ``<sim>/reset``; call ``<recorder>/start_episode`` (Trigger) if
the recorder is there; stream the :class:`~imitation_ros.sim.expert.ScriptedExpert` command
at ``rate_hz`` as the leader's JointState (profile action topic) and/or the follower command
(profile forward or trajectory topic, by ``output``) until the task has succeeded for
``success_hold_s`` (sim time, from ``<sim>/task_state``) or ``episode_timeout_s``; then call
``<recorder>/stop_episode`` (SetBool, data = ``<sim>/success``). Exits 0 after the last
episode. A timer-driven state machine; no callback ever waits on a service.
"""
from __future__ import annotations

import re
import time
from typing import Any

from imitation_ros.graph import Node, declare_config, msg_type, qos_profile, run, srv_type
from imitation_ros.messages.codecs import fill_joint_state, joint_vector
from imitation_ros.profile import load_profile
from imitation_ros.resources import resolve_config
from imitation_ros.sim.arm import TASK_STATE_NAMES
from imitation_ros.sim.config import ExpertNodeConfig
from imitation_ros.sim.expert import ExpertConfig, ScriptedExpert
from imitation_ros.sim.model import ArmGeometry

JointState = msg_type('sensor_msgs/msg/JointState')
Float64MultiArray = msg_type('std_msgs/msg/Float64MultiArray')
JointTrajectory = msg_type('trajectory_msgs/msg/JointTrajectory')
JointTrajectoryPoint = msg_type('trajectory_msgs/msg/JointTrajectoryPoint')
Bool = msg_type('std_msgs/msg/Bool')
Trigger = srv_type('std_srvs/srv/Trigger')
SetBool = srv_type('std_srvs/srv/SetBool')
LEAD_IN_S = 0.25     # leader streams the follower's pose this long before START (> max age)


class ExpertNode(Node):
    """Runs the expert's episodes against the sim (and the recorder, when present)."""

    def __init__(self) -> None:
        super().__init__('expert')
        cfg = self.cfg = declare_config(self, ExpertNodeConfig)
        p = self.profile = load_profile(resolve_config(cfg.profile))
        self.expert = ScriptedExpert(ArmGeometry(), p.joint_names, ExpertConfig(
            noise_std_rad=cfg.noise_std_rad, perturb_prob=cfg.perturb_prob), seed=cfg.seed)
        self._leader = self.create_publisher(JointState, p.action.topic, qos_profile('reliable'))
        trajectory = p.command.mode == 'trajectory'
        self._cmd = self.create_publisher(
            JointTrajectory if trajectory else Float64MultiArray,
            p.command.trajectory_topic if trajectory else p.command.forward_topic,
            qos_profile('reliable'))
        self.create_subscription(JointState, p.state.topic, self._on_js, qos_profile('reliable'))
        self.create_subscription(Float64MultiArray, f'{cfg.sim_node}/task_state', self._on_task,
                                 qos_profile('reliable'))
        self.create_subscription(Bool, f'{cfg.sim_node}/success', self._on_ok,
                                 qos_profile('latched'))
        self._reset = self.create_client(Trigger, f'{cfg.sim_node}/reset')
        self._start = self.create_client(Trigger, f'{cfg.recorder_node}/start_episode')
        self._stop = self.create_client(SetBool, f'{cfg.recorder_node}/stop_episode')
        self._q: Any = None
        self._task: Any = None
        self._success = False
        self._state, self._since = 'wait_sim', time.monotonic()
        self._episode, self._want, self._done, self._wins = 0, -1, 0, 0
        self._recorder = cfg.use_recorder
        self._ok_since: float | None = None
        self._ok_index = TASK_STATE_NAMES.index('success')
        self.create_timer(1.0 / cfg.rate_hz, self._tick)

    def _on_js(self, msg: Any) -> None:
        self._q = joint_vector(msg, self.profile.joint_names, topic=self.profile.state.topic)

    def _on_task(self, msg: Any) -> None:
        self._task = list(msg.data)

    def _on_ok(self, msg: Any) -> None:
        self._success = bool(msg.data)

    def _go(self, state: str) -> None:
        self._state, self._since = state, time.monotonic()

    def _call(self, client: Any, request: Any, then: Any) -> None:
        self._go('waiting')
        client.call_async(request).add_done_callback(lambda fut: then(fut.result()))

    def _tick(self) -> None:
        cfg, waited = self.cfg, time.monotonic() - self._since
        log = self.get_logger()
        if self._state == 'wait_sim':
            if self._reset.service_is_ready():
                self._go('wait_recorder')
            elif waited > cfg.sim_wait_s:
                log.error(f'no sim: {cfg.sim_node}/reset not available after {cfg.sim_wait_s} s')
                raise SystemExit(1)
        elif self._state == 'wait_recorder':
            if not self._recorder or (self._start.service_is_ready()
                                      and self._stop.service_is_ready()):
                self._go('reset')
            elif waited > cfg.recorder_wait_s:
                log.warning(f'no recorder ({cfg.recorder_node}/start_episode, stop_episode) '
                            f'after {cfg.recorder_wait_s} s: running without recording')
                self._recorder = False
                self._go('reset')
        elif self._state == 'reset':
            if self._done >= cfg.episodes:
                log.info(f'done: {self._wins}/{self._done} episodes succeeded')
                raise SystemExit(0)
            self._call(self._reset, Trigger.Request(), self._on_reset_done)
        elif self._state == 'sync':            # wait for the sim's state of the new episode
            if self._task is not None and int(self._task[0]) == self._want and (
                    self._q is not None):
                self.expert.reset()
                self._ok_since = None
                self._go('lead_in')
            elif waited > 5.0:
                log.error(f'sim published no state of episode {self._want} within 5 s')
                raise SystemExit(1)
        elif self._state == 'lead_in':   # the leader rests where the follower is before START,
            if cfg.output in ('leader', 'both'):   # so no command of the last episode is
                self._leader.publish(fill_joint_state(   # the newest at the first frame
                    JointState(), self.profile.joint_names, self._q,
                    self.get_clock().now().nanoseconds))
            if waited >= LEAD_IN_S:
                if self._recorder:
                    self._call(self._start, Trigger.Request(), self._on_started)
                else:
                    self._go('run')
        elif self._state == 'run':
            self._drive()

    def _on_reset_done(self, resp: Any) -> None:
        found = re.search(r'episode=(\d+)', resp.message or '')
        if not resp.success or not found:
            self.get_logger().error(f'sim reset failed: {resp.message!r}')
            raise SystemExit(1)
        self._want = int(found.group(1))
        self._go('sync')

    def _on_started(self, resp: Any) -> None:
        if not resp.success:
            self.get_logger().error(f'recorder refused to start an episode: {resp.message!r}')
            raise SystemExit(1)
        self._go('run')

    def _drive(self) -> None:
        cfg, task = self.cfg, self._task
        t_s = float(task[1])
        if not task[2 + self._ok_index]:
            self._ok_since = None
        elif self._ok_since is None:
            self._ok_since = t_s
        held = self._ok_since is not None and t_s - self._ok_since >= cfg.success_hold_s
        if held or t_s >= cfg.episode_timeout_s:
            ok = self._success
            self._done += 1
            self._wins += int(ok)
            self.get_logger().info(f'episode {self._want}: success={ok} '
                                   f'({self._wins}/{self._done})')
            if self._recorder:
                self._call(self._stop, SetBool.Request(data=ok), self._on_stopped)
            else:
                self._go('reset')
            return
        q = self.expert.act(task[2:], self._q, t_s)
        stamp = self.get_clock().now().nanoseconds
        if cfg.output in ('leader', 'both'):
            self._leader.publish(fill_joint_state(JointState(), self.profile.joint_names, q,
                                                  stamp))
        if cfg.output in ('command', 'both'):
            self._cmd.publish(_command(self.profile, q, 2.0 / cfg.rate_hz))

    def _on_stopped(self, resp: Any) -> None:
        if not resp.success:
            self.get_logger().error(f'recorder could not stop the episode: {resp.message!r}')
        self._go('reset')


def _command(profile: Any, q: Any, horizon_s: float) -> Any:
    """The follower command: a one-point trajectory or a forward position command."""
    if profile.command.mode == 'trajectory':
        point = JointTrajectoryPoint(positions=[float(v) for v in q])
        point.time_from_start.sec, point.time_from_start.nanosec = divmod(int(horizon_s * 1e9),
                                                                          1_000_000_000)
        return JointTrajectory(joint_names=list(profile.joint_names), points=[point])
    return Float64MultiArray(data=[float(v) for v in q])


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``expert_node`` executable."""
    run(ExpertNode, args)


if __name__ == '__main__':
    main()
