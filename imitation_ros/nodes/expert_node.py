"""expert_node: a scripted teleoperator streaming what a leader arm would, episode by episode.

For each of ``episodes``: call ``<sim>/reset``; call ``<recorder>/start_episode`` (Trigger) if
the recorder is there; stream the :class:`~imitation_ros.sim.expert.ScriptedExpert` command
at ``rate_hz`` as the leader's JointState (profile action topic) and/or the follower command
(profile forward or trajectory topic, by ``output``) until the task has succeeded for
``success_hold_s`` (sim time, from ``<sim>/task_state``) or ``episode_timeout_s``; then call
``<recorder>/stop_episode`` (SetBool, data = ``<sim>/success``). Exits 0 after the last
episode. A timer-driven state machine; no callback ever waits on a service.

Takeover mode (``takeover: service | joy``, DAgger): the expert plays the person at a teleop
device beside a policy that drives the arm through ``dagger_node``. It streams its command as
the leader all the time (the label of every state), watches the policy's proposals on
``policy_topic`` next to its own, and when
:class:`~imitation_ros.sim.expert.TakeoverMonitor` says the policy strays it takes over --
``<dagger>/take_over`` (SetBool) or the Joy deadman on ``joy_topic`` (published every tick)
-- drives until the proposals agree again, and hands back. Each episode starts with
``<dagger>/reset`` (the policy in control) and ``policy_reset_service`` after the sim reset.
"""
from __future__ import annotations

import re
import sys
import time
from typing import Any

import numpy as np

from imitation_ros.errors import ImitationRosError
from imitation_ros.graph import Node, declare_config, msg_type, qos_profile, run, srv_type
from imitation_ros.messages.codecs import fill_joint_state, joint_vector, set_stamp
from imitation_ros.profile import load_profile
from imitation_ros.resources import resolve_config
from imitation_ros.sim.arm import TASK_STATE_NAMES
from imitation_ros.sim.config import ExpertNodeConfig
from imitation_ros.sim.expert import ExpertConfig, ScriptedExpert, TakeoverMonitor
from imitation_ros.sim.model import ArmGeometry

JointState = msg_type('sensor_msgs/msg/JointState')
Float64MultiArray = msg_type('std_msgs/msg/Float64MultiArray')
JointTrajectory = msg_type('trajectory_msgs/msg/JointTrajectory')
JointTrajectoryPoint = msg_type('trajectory_msgs/msg/JointTrajectoryPoint')
Bool = msg_type('std_msgs/msg/Bool')
Joy = msg_type('sensor_msgs/msg/Joy')
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
        self._episode, self._want_ep, self._done, self._wins = 0, -1, 0, 0
        self._recorder = cfg.use_recorder
        self._ok_since: float | None = None
        self._ok_index = TASK_STATE_NAMES.index('success')
        self._takeover = cfg.takeover != 'none'
        if self._takeover:
            self._setup_takeover()
        self.create_timer(1.0 / cfg.rate_hz, self._tick)

    # ------------------------------------------------------------------ takeover mode
    def _setup_takeover(self) -> None:
        cfg, p = self.cfg, self.profile
        self.monitor = TakeoverMonitor.for_expert(self.expert, cfg.takeover_config())
        self._policy: Any = None                 # newest proposal
        self._policy_t = -1e9                    # its arrival (monotonic)
        ptype = 'trajectory_msgs/msg/JointTrajectory' if p.command.mode == 'trajectory' \
            else 'std_msgs/msg/Float64MultiArray'
        self._policy_type = ptype
        self.create_subscription(msg_type(ptype), cfg.policy_topic, self._on_policy,
                                 qos_profile('reliable', 10))
        self._take = self.create_client(SetBool, f'{cfg.dagger_node}/take_over')
        self._gate_reset = self.create_client(Trigger, f'{cfg.dagger_node}/reset')
        self._policy_reset = (self.create_client(Trigger, cfg.policy_reset_service)
                              if cfg.policy_reset_service else None)
        self._joy = (self.create_publisher(Joy, cfg.joy_topic, qos_profile('reliable'))
                     if cfg.takeover == 'joy' else None)
        self._want = False           # the person wants control (monitor's verdict)
        self._asked: bool | None = False   # what the gate was last asked (None: call in flight)
        self._run_t0 = 0.0           # monotonic start of the episode's run phase
        self._ep_stats = {'takeovers': 0, 'steps': 0, 'person_steps': 0}

    def _on_policy(self, msg: Any) -> None:
        try:
            if self._policy_type.endswith('JointTrajectory'):
                names = list(msg.joint_names)
                pos = list(msg.points[0].positions) if msg.points else []
                self._policy = [pos[names.index(n)] for n in self.profile.joint_names]
            else:
                self._policy = [float(v) for v in msg.data]
                if len(self._policy) != len(self.profile.joint_names):
                    raise ValueError(f'{len(self._policy)} values for '
                                     f'{len(self.profile.joint_names)} joints')
            if not np.all(np.isfinite(self._policy)):   # counts as silent: the person acts
                raise ValueError('non-finite values')
        except (ValueError, IndexError) as err:
            self.get_logger().warning(f'{self.cfg.policy_topic}: proposal skipped: {err}',
                                      throttle_duration_sec=1.0)
            return
        self._policy_t = time.monotonic()

    def _gate_ready(self) -> str:
        """'' when the gate, the policy reset and a proposal are there; else what is missing."""
        cfg = self.cfg
        missing = []
        if not self._gate_reset.service_is_ready():
            missing.append(f'{cfg.dagger_node}/reset')
        if cfg.takeover == 'service' and not self._take.service_is_ready():
            missing.append(f'{cfg.dagger_node}/take_over')
        if self._policy_reset is not None and not self._policy_reset.service_is_ready():
            missing.append(cfg.policy_reset_service)
        if self._policy is None:
            missing.append(f'a proposal on {cfg.policy_topic}')
        return ', '.join(missing)

    def _person(self, q_cmd: Any, t_s: float) -> None:
        """One period of the scripted person: decide, and tell the gate when it changed."""
        cfg = self.cfg
        fresh = time.monotonic() - self._policy_t <= cfg.policy_stale_s
        started = time.monotonic() - self._run_t0 > cfg.policy_stale_s
        if fresh or started:        # a silent policy counts once the episode has run a while
            want = self.monitor.update(np.asarray(self._policy) if fresh else None, q_cmd, t_s)
            if want != self._want:
                self._want = want
                self._ep_stats['takeovers'] += int(want)
                self.get_logger().info(
                    f'episode {self._want_ep}: {"taking over" if want else "handing back"} at '
                    f't={t_s:.2f} s{"" if fresh else " (policy silent)"}')
        self._ep_stats['steps'] += 1
        self._ep_stats['person_steps'] += int(self._want)
        self._tell_gate()

    def _tell_gate(self) -> None:
        if self._joy is not None:                   # deadman: held while the person drives
            msg = Joy()
            set_stamp(msg.header, self.get_clock().now().nanoseconds)
            msg.axes = []
            msg.buttons = [0] * self.cfg.joy_button + [int(self._want)]
            self._joy.publish(msg)
            self._asked = self._want
            return
        if self._asked is None or self._asked == self._want:
            return                                  # in flight, or nothing new
        want = self._want
        self._asked = None
        fut = self._take.call_async(SetBool.Request(data=want))

        def done(f: Any) -> None:
            resp = f.result()
            if resp is None or not resp.success:
                self.get_logger().error(f'{self.cfg.dagger_node}/take_over({want}) failed: '
                                        f'{getattr(resp, "message", "no response")!r}')
                self._asked = not want              # ask again next period
            else:
                self._asked = want
        fut.add_done_callback(done)

    def _release(self) -> None:
        """Episode over: the person lets go (the next episode starts with the gate's reset)."""
        self._want = False
        self.monitor.reset()
        self._tell_gate()

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
                self._go('wait_gate' if self._takeover else 'reset')
            elif waited > cfg.recorder_wait_s:
                log.warning(f'no recorder ({cfg.recorder_node}/start_episode, stop_episode) '
                            f'after {cfg.recorder_wait_s} s: running without recording')
                self._recorder = False
                self._go('wait_gate' if self._takeover else 'reset')
        elif self._state == 'wait_gate':
            missing = self._gate_ready()
            if not missing:
                log.info(f'takeover mode ({cfg.takeover}): gate {cfg.dagger_node}, policy '
                         f'proposals on {cfg.policy_topic}')
                self._go('reset')
            elif waited > cfg.gate_wait_s:
                log.error(f'takeover mode: missing after {cfg.gate_wait_s} s: {missing}')
                raise SystemExit(1)
        elif self._state == 'reset':
            if self._done >= cfg.episodes:
                log.info(f'done: {self._wins}/{self._done} episodes succeeded')
                raise SystemExit(0)
            self._call(self._reset, Trigger.Request(), self._on_reset_done)
        elif self._state == 'sync':            # wait for the sim's state of the new episode
            if self._task is not None and int(self._task[0]) == self._want_ep and (
                    self._q is not None):
                self.expert.reset()
                self._ok_since = None
                self._go('lead_in')
            elif waited > 5.0:
                log.error(f'sim published no state of episode {self._want_ep} within 5 s')
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
                    self._go_run()
        elif self._state == 'run':
            self._drive()

    def _on_reset_done(self, resp: Any) -> None:
        found = re.search(r'episode=(\d+)', resp.message or '')
        if not resp.success or not found:
            self.get_logger().error(f'sim reset failed: {resp.message!r}')
            raise SystemExit(1)
        self._want_ep = int(found.group(1))
        if self._takeover:          # new episode: the policy drives, its chunks restart
            self._call(self._gate_reset, Trigger.Request(), self._on_gate_reset)
        else:
            self._go('sync')

    def _on_gate_reset(self, resp: Any) -> None:
        if resp is None or not resp.success:
            self.get_logger().error(f'{self.cfg.dagger_node}/reset failed: '
                                    f'{getattr(resp, "message", "no response")!r}')
            raise SystemExit(1)
        self._want, self._asked = False, False
        self.monitor.reset()
        self._ep_stats = {'takeovers': 0, 'steps': 0, 'person_steps': 0}
        if self._policy_reset is not None:
            self._call(self._policy_reset, Trigger.Request(), lambda _r: self._go('sync'))
        else:
            self._go('sync')

    def _on_started(self, resp: Any) -> None:
        if not resp.success:
            self.get_logger().error(f'recorder refused to start an episode: {resp.message!r}')
            raise SystemExit(1)
        self._go_run()

    def _go_run(self) -> None:
        if self._takeover:
            self._run_t0 = time.monotonic()
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
            extra = ''
            if self._takeover:
                st = self._ep_stats
                extra = (f'; {st["takeovers"]} takeover(s), person drove '
                         f'{st["person_steps"]}/{st["steps"]} periods')
                self._release()
            self.get_logger().info(f'episode {self._want_ep}: success={ok} '
                                   f'({self._wins}/{self._done}){extra}')
            if self._recorder:
                self._call(self._stop, SetBool.Request(data=ok), self._on_stopped)
            else:
                self._go('reset')
            return
        q = self.expert.act(task[2:], self._q, t_s)
        stamp = self.get_clock().now().nanoseconds
        if self._takeover:
            self._person(q, t_s)
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
    """Entry point of the ``expert_node`` executable; a bad config exits 1 with the reason."""
    try:
        run(ExpertNode, args)
    except ImitationRosError as err:
        sys.stderr.write(f'expert_node: error: {err}\n')
        sys.exit(1)


if __name__ == '__main__':
    main()
