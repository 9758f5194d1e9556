"""DAgger node ``dagger``: the gate between the policy node and the arm.

Subscribes the policy node's command stream (its output remapped to ``policy_topic``), the
expert's teleop stream (the profile's action topic: a leader arm's JointState), the measured
joint states and, if enabled, a ``sensor_msgs/Joy`` deadman; publishes one command stream on
the profile's controller topic (forward ``Float64MultiArray`` or ``JointTrajectory``).
Every tick runs :class:`imitation_ros.dagger.DaggerCore` (gate with hysteresis, handover ramp,
mode, safety filter; stale streams hold, zeros are never sent). A Joy deadman change or a
``~/take_over`` call runs a tick at once (override latency = transport, not up to a period);
such an early tick moves at most the velocity cap times the time since the last tick.

The gate starts disabled: it publishes nothing until ``~/enable`` (std_srvs/SetBool) is
called with true, or ``enabled:=true`` is given. Every command passes the policy node's
safety filter built from the profile (per-joint velocity caps times the time since the last
command, lead limit, limit margin; the profile must state ``max_velocity_rad_s``); enable,
reset and hand-back are boundaries of that filter: the next command is capped from the last
one sent. The caps are logged at start.

Services: ``~/enable`` (std_srvs/SetBool: start or stop commanding; true also starts a new
episode), ``~/take_over`` (std_srvs/SetBool: true = the person commands), ``~/reset``
(std_srvs/Trigger: new episode, control back to the policy). Publishes ``~/human_in_control``
(std_msgs/Bool, latched; the recorder follows it and writes ``InterventionEvent`` records
into the bag -- a standard interface, so rclpy and the DDS backend behave the same) and
``/diagnostics`` at 1 Hz (interventions, time under expert control, handover latency, the
trigger of the last switch). When control returns, it calls the policy node's
``~/reset`` (``policy_reset_service``) so its chunks restart.

Each change of control is also published as ``imitation_ros/msg/InterventionEvent`` on
``~/intervention_events`` (reliable; ``source`` = the trigger, ``episode_index`` = the episode
counted by ``~/reset``), for ``ros2 topic echo`` and ``ros2 bag record``. It is not the
recorder's ``/intervention_events`` (the records the recorder derives from
``~/human_in_control``), so a recorder never gets the same record twice. On rclpy this needs the
generated classes of a ``colcon build``; without them the node says so once and runs on.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from imitation_ros.dagger import DaggerCore, GateSafety
from imitation_ros.dagger.config import DaggerNodeConfig
from imitation_ros.errors import GraphError, ImitationRosError
from imitation_ros.graph import Node, declare_config, msg_type, qos_profile, run, srv_type
from imitation_ros.messages.codecs import joint_vector, set_stamp
from imitation_ros.profile import load_profile
from imitation_ros.resources import resolve_config

Float64MultiArray = msg_type('std_msgs/msg/Float64MultiArray')
JointTrajectory = msg_type('trajectory_msgs/msg/JointTrajectory')
JointTrajectoryPoint = msg_type('trajectory_msgs/msg/JointTrajectoryPoint')
Bool = msg_type('std_msgs/msg/Bool')
Joy = msg_type('sensor_msgs/msg/Joy')
DiagnosticArray = msg_type('diagnostic_msgs/msg/DiagnosticArray')
DiagnosticStatus = msg_type('diagnostic_msgs/msg/DiagnosticStatus')
KeyValue = msg_type('diagnostic_msgs/msg/KeyValue')
SetBool = srv_type('std_srvs/srv/SetBool')
Trigger = srv_type('std_srvs/srv/Trigger')
NS = 1_000_000_000


class DaggerNode(Node):
    """Gate + safety filter at the profile's fps (see module docstring)."""

    def __init__(self) -> None:
        super().__init__('dagger')
        cfg = self.cfg = declare_config(self, DaggerNodeConfig)
        p = self.profile = load_profile(resolve_config(cfg.profile))
        self.names = list(p.joint_names)
        self.period_s = 1.0 / (cfg.rate_hz or p.fps)
        safety = GateSafety.from_profile(p, cfg.safety(), period_s=self.period_s)
        self.core = DaggerCore(safety, gate=cfg.gate(), mode=cfg.mode_config(),
                               config=cfg.core(), seed=cfg.seed)
        self.enabled = cfg.enabled
        self.mode = p.command.mode if cfg.command == 'profile' else cfg.command
        cmd_type = 'std_msgs/msg/Float64MultiArray' if self.mode == 'forward' else \
            'trajectory_msgs/msg/JointTrajectory'
        self.cmd_type = cmd_type
        out_topic = p.command.forward_topic if self.mode == 'forward' else \
            p.command.trajectory_topic
        self.pub = self.create_publisher(msg_type(cmd_type), out_topic, qos_profile('reliable'))
        self.create_subscription(msg_type(cmd_type), cfg.policy_topic, self._on_policy,
                                 qos_profile('reliable', 10))
        self.create_subscription(msg_type(p.action.type), p.action.topic, self._on_leader,
                                 qos_profile('reliable', 10))
        self.create_subscription(msg_type(p.state.type), p.state.topic, self._on_state,
                                 qos_profile('reliable', 10))
        if 'joy' in cfg.triggers:
            self.create_subscription(Joy, cfg.joy_topic, self._on_joy, qos_profile('reliable', 10))
        self.ctl_pub = self.create_publisher(Bool, '~/human_in_control', qos_profile('latched'))
        self.event_pub = self._intervention_publisher()
        self.diag = self.create_publisher(DiagnosticArray, '/diagnostics', qos_profile('reliable'))
        self.create_service(SetBool, '~/enable', self._on_enable)
        self.create_service(SetBool, '~/take_over', self._on_take_over)
        self.create_service(Trigger, '~/reset', self._on_reset)
        self.reset_client = self.create_client(Trigger, cfg.policy_reset_service)
        self.episode = 0
        self.last_source = ''
        self.counts = {'pass': 0, 'hold': 0, 'clamped': 0, 'step_capped': 0}
        self._publish_control(False)
        self.create_timer(self.period_s, self._tick)
        self.create_timer(1.0, self._publish_diag)
        self.get_logger().info(
            f'dagger gate ({cfg.mode}, triggers {list(cfg.triggers)}) at '
            f'{1 / self.period_s:.1f} Hz: policy {cfg.policy_topic} + leader {p.action.topic} '
            f'-> {out_topic}')
        sc = cfg.safety()
        vel = np.asarray(p.limits.max_velocity_rad_s) * sc.velocity_scale
        self.get_logger().info(
            f'safety: velocity cap {np.round(vel, 3).tolist()} rad/s '
            f'(step cap {np.round(safety.step_cap(), 4).tolist()} rad/period), max_step_rad '
            f'{sc.max_step_rad or "off"}, lead {sc.max_lead_rad or "off"} rad, limit margin '
            f'{sc.limit_margin_rad} rad, handover ramp {cfg.ramp_s} s; '
            f'{"enabled" if self.enabled else "disabled: waiting for ~/enable"}')

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds / NS

    def _vector(self, msg: Any, mtype: str, topic: str, field: str = 'position') -> Any:
        try:
            return joint_vector(msg, self.names, msg_type=mtype, field=field, topic=topic)
        except ImitationRosError as err:
            self.get_logger().warning(f'message skipped: {err}', throttle_duration_sec=1.0)
            return None

    def _on_policy(self, msg: Any) -> None:
        v = self._vector(msg, self.cmd_type, self.cfg.policy_topic)
        if v is not None:
            self.core.on_policy(v, self._now())

    def _on_leader(self, msg: Any) -> None:
        a = self.profile.action
        v = self._vector(msg, a.type, a.topic, a.field)
        if v is not None:
            self.core.on_leader(v, self._now())

    def _on_state(self, msg: Any) -> None:
        s = self.profile.state
        v = self._vector(msg, s.type, s.topic, s.field)
        if v is not None:
            self.core.on_measured(v, self._now())

    def _on_joy(self, msg: Any) -> None:
        pressed = self.core.gate.joy_pressed(list(msg.buttons))
        changed = pressed != self.core.joy
        self.core.on_joy(pressed, self._now())
        if changed:           # act on an override at once, not at the next timer tick
            self._tick()

    def _tick(self) -> None:
        if not self.enabled:
            return
        now = self._now()
        res = self.core.tick(now)
        self.counts[res.action] += 1
        if res.reasons:
            self.get_logger().warning(f'{res.action}: {"; ".join(res.reasons)}',
                                      throttle_duration_sec=1.0)
        if res.command is not None:
            self._publish(res.command, now)
        if res.event is not None:
            self.last_source = res.event.source
            self._publish_control(res.human)
            self._publish_intervention(res.human, res.event.source, res.event.t_s)
            self.get_logger().info(
                f'{"person" if res.human else "policy"} in control ({res.event.source}); '
                f'latency {1000 * (res.latency_s or 0.0):.1f} ms')
        if res.reset_policy and self.reset_client.service_is_ready():
            self.reset_client.call_async(Trigger.Request())

    def _publish(self, cmd: Any, now: float) -> None:
        values = [float(v) for v in cmd]
        if self.mode == 'forward':
            msg = Float64MultiArray()
            msg.data = values
        else:
            msg = JointTrajectory()
            set_stamp(msg.header, int(now * NS))
            msg.joint_names = list(self.names)
            point = JointTrajectoryPoint()
            point.positions = values
            t = self.cfg.trajectory_time_s or self.period_s
            point.time_from_start.sec = int(t)
            point.time_from_start.nanosec = int((t % 1) * NS)
            msg.points = [point]
        self.pub.publish(msg)

    def _publish_control(self, human: bool) -> None:
        msg = Bool()
        msg.data = bool(human)
        self.ctl_pub.publish(msg)

    def _intervention_publisher(self) -> Any:
        """``~/intervention_events`` publisher, or None without the generated classes (rclpy)."""
        try:
            cls = msg_type('imitation_ros/msg/InterventionEvent')
        except GraphError as err:
            self.get_logger().warning(f'~/intervention_events not published: {err}')
            return None
        return self.create_publisher(cls, '~/intervention_events', qos_profile('reliable', 100))

    def _publish_intervention(self, human: bool, source: str, t_s: float) -> None:
        if self.event_pub is None:
            return
        msg = self.event_pub.msg_type()
        set_stamp(msg.header, int(t_s * NS))
        msg.human_in_control = bool(human)
        msg.episode_index = int(self.episode)
        msg.source = str(source)
        self.event_pub.publish(msg)

    def _on_take_over(self, request: Any, response: Any) -> Any:
        self.core.on_service(bool(request.data), self._now())
        self._tick()          # act on the request at once
        response.success = True
        response.message = f'take_over={bool(request.data)}'
        return response

    def _on_enable(self, request: Any, response: Any) -> Any:
        self.enabled = bool(request.data)
        self.core.reset()          # a new episode; the filter keeps capping from its last
        self._publish_control(False)
        response.success, response.message = True, f'enabled={self.enabled}'
        self.get_logger().info(response.message)
        return response

    def _on_reset(self, request: Any, response: Any) -> Any:
        del request
        was_human = bool(self.core.gate.human)
        self.core.reset()
        self.episode += 1
        self.last_source = 'reset'
        self._publish_control(False)
        if was_human:
            self._publish_intervention(False, 'reset', self._now())
        response.success, response.message = True, f'episode {self.episode}: policy in control'
        return response

    def _publish_diag(self) -> None:
        st = self.core.stats
        arr = DiagnosticArray()
        set_stamp(arr.header, int(self._now() * NS))
        status = DiagnosticStatus()
        status.name, status.hardware_id = f'{self.get_name()}: dagger gate', self.profile.name
        status.level = DiagnosticStatus.WARN if self.counts['hold'] else DiagnosticStatus.OK
        status.message = (f'{"person" if self.core.gate.human else "policy"} in control, '
                          f'{st.interventions} interventions')
        p99 = st.latency_p(0.99)
        values = {'interventions': st.interventions, 'expert_s': f'{st.expert_s:.2f}',
                  'policy_s': f'{st.policy_s:.2f}', 'last_switch': self.last_source,
                  'episode': self.episode,
                  'handover_latency_p99_ms': 'nan' if np.isnan(p99) else f'{1000 * p99:.1f}',
                  **self.counts}
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        arr.status = [status]
        self.diag.publish(arr)


def main(args: list[str] | None = None) -> None:
    """Entry point of ``ros2 run imitation_ros dagger_node``; exits 1 on bad config."""
    try:
        run(DaggerNode, args)
    except ImitationRosError as err:
        sys.stderr.write(f'dagger_node: error: {err}\n')
        sys.exit(1)


if __name__ == '__main__':
    main()
