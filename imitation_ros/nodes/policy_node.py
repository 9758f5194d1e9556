"""Policy node ``policy``: a trained checkpoint driving the arm, behind the safety filter.

Subscribes the profile's state and camera topics, assembles the observation at every control
tick with the converter's own resampler (``frames.FrameAssembler``: newest message at or
before the tick, per-stream maximum age), runs ``deploy.PolicyController`` (chunking,
ensembling, safety filter) and publishes the command on the profile's forward
(``std_msgs/Float64MultiArray``) or trajectory (``trajectory_msgs/JointTrajectory``) topic.
Stale, missing or non-finite input holds; nothing is published before a command is safe.
Services ``~/enable`` (SetBool) and ``~/reset`` (Trigger); ``/diagnostics`` at 1 Hz.
"""
from __future__ import annotations

import sys
from functools import partial

from imitation_ros.deploy import PolicyController, SafetyConfig, SafetyFilter
from imitation_ros.deploy.config import PolicyNodeConfig
from imitation_ros.errors import ConfigError, ImitationRosError
from imitation_ros.frames import FrameAssembler
from imitation_ros.graph import Node, declare_config, msg_type, qos_profile, run, srv_type
from imitation_ros.messages.codecs import set_stamp
from imitation_ros.profile import ACTION, load_profile
from imitation_ros.resources import resolve_config

Float64MultiArray = msg_type('std_msgs/msg/Float64MultiArray')
JointTrajectory = msg_type('trajectory_msgs/msg/JointTrajectory')
JointTrajectoryPoint = msg_type('trajectory_msgs/msg/JointTrajectoryPoint')
DiagnosticArray = msg_type('diagnostic_msgs/msg/DiagnosticArray')
DiagnosticStatus = msg_type('diagnostic_msgs/msg/DiagnosticStatus')
KeyValue = msg_type('diagnostic_msgs/msg/KeyValue')
SetBool = srv_type('std_srvs/srv/SetBool')
Trigger = srv_type('std_srvs/srv/Trigger')
NS = 1_000_000_000


class PolicyNode(Node):
    """Runs a policy checkpoint at the profile's fps."""

    def __init__(self) -> None:
        super().__init__('policy')
        cfg = declare_config(self, PolicyNodeConfig)
        self.profile = load_profile(resolve_config(cfg.profile))
        from imitation_ros.learn.inference import load_policy   # torch: only here

        runner = load_policy(cfg.checkpoint, device=cfg.device)
        if runner.joint_names and list(runner.joint_names) != list(self.profile.joint_names):
            msg = (f'{cfg.checkpoint}: trained on joints {runner.joint_names}, profile '
                   f'{self.profile.path} has {list(self.profile.joint_names)}')
            raise ConfigError(msg)
        safety = SafetyFilter.from_profile(self.profile, SafetyConfig(
            max_step_rad=cfg.max_step_rad, stale_obs_s=cfg.stale_obs_s,
            limit_margin_rad=cfg.limit_margin_rad))
        self.ctl = PolicyController(runner, safety, ensemble_coeff=(
            cfg.ensemble_coeff if cfg.ensemble_coeff >= 0 else None))
        self.frames = FrameAssembler(self.profile, keep_s=2.0)
        self.obs_keys = [k for k in self.frames.keys if k != ACTION]
        self.cfg, self.enabled, self.counts = cfg, cfg.enabled, {'pass': 0, 'hold': 0,
                                                                 'clamped': 0, 'step_capped': 0}
        topics = {self.profile.state.topic: self.profile.state.type}
        topics.update({c.topic: c.type for c in self.profile.cameras})
        for topic, type_name in topics.items():
            kind = 'sensor_data' if type_name.startswith('sensor_msgs/msg/') else 'reliable'
            self.create_subscription(msg_type(type_name), topic, partial(self._on_msg, topic),
                                     qos_profile(kind, 10))
        mode = self.profile.command.mode if cfg.command == 'profile' else cfg.command
        self.mode = mode
        if mode == 'forward':
            self.pub = self.create_publisher(Float64MultiArray, self.profile.command.forward_topic,
                                             qos_profile('reliable'))
        else:
            self.pub = self.create_publisher(JointTrajectory,
                                             self.profile.command.trajectory_topic,
                                             qos_profile('reliable'))
        self.diag = self.create_publisher(DiagnosticArray, '/diagnostics', qos_profile('reliable'))
        self.create_service(SetBool, '~/enable', self._on_enable)
        self.create_service(Trigger, '~/reset', self._on_reset)
        self.period_s = 1.0 / (cfg.rate_hz or self.profile.fps)
        self.create_timer(self.period_s, self._tick)
        self.create_timer(1.0, self._publish_diag)
        self.get_logger().info(
            f'policy {runner.policy_type} from {cfg.checkpoint} at {1 / self.period_s:.1f} Hz, '
            f'{mode} commands, {"enabled" if self.enabled else "waiting for ~/enable"}')

    def _now(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_msg(self, topic: str, msg: object) -> None:
        try:
            self.frames.push_msg(topic, msg, self._now())
        except Exception as err:  # noqa: BLE001 - a bad message is skipped, loudly
            self.get_logger().warning(f'{topic}: message skipped: {err}',
                                      throttle_duration_sec=1.0)

    def _tick(self) -> None:
        if not self.enabled:
            return
        now = self._now()
        looks = self.frames.lookup(now)
        missing = {k: looks[k].reason for k in self.obs_keys if not looks[k].ok}
        if missing:      # a stream is silent or older than its max_age_s: hold, say which
            verdict = self.ctl.safety.hold(
                'observation ' + ', '.join(f'{k} {r}' for k, r in missing.items()))
        else:
            obs = {k: looks[k].value for k in self.obs_keys}
            verdict = self.ctl.step(obs, max(looks[k].age_ns for k in self.obs_keys) / NS)
        self.counts[verdict.action] += 1
        if verdict.reasons:
            self.get_logger().warning(f'{verdict.action}: {"; ".join(verdict.reasons)}',
                                      throttle_duration_sec=1.0)
        if verdict.command is not None:
            self._publish(verdict.command, now)

    def _publish(self, cmd: object, now: int) -> None:
        values = [float(v) for v in cmd]
        if self.mode == 'forward':
            msg = Float64MultiArray()
            msg.data = values
        else:
            msg = JointTrajectory()
            set_stamp(msg.header, now)
            msg.joint_names = list(self.profile.joint_names)
            point = JointTrajectoryPoint()
            point.positions = values
            t = self.cfg.trajectory_time_s or self.period_s
            point.time_from_start.sec = int(t)
            point.time_from_start.nanosec = int((t % 1) * NS)
            msg.points = [point]
        self.pub.publish(msg)

    def _on_enable(self, request: object, response: object) -> object:
        self.enabled = bool(request.data)
        self.ctl.reset()
        response.success, response.message = True, f'enabled={self.enabled}'
        self.get_logger().info(response.message)
        return response

    def _on_reset(self, request: object, response: object) -> object:
        self.ctl.reset()
        self.frames.reset()
        response.success, response.message = True, 'policy state reset'
        return response

    def _publish_diag(self) -> None:
        arr = DiagnosticArray()
        set_stamp(arr.header, self._now())
        status = DiagnosticStatus()
        status.name, status.hardware_id = f'{self.get_name()}: policy', self.profile.name
        held = self.counts['hold']
        status.level = DiagnosticStatus.WARN if held else DiagnosticStatus.OK
        status.message = f'{sum(self.counts.values())} ticks, {held} held'
        status.values = [KeyValue(key=k, value=str(v)) for k, v in self.counts.items()]
        arr.status = [status]
        self.diag.publish(arr)


def main(args: list[str] | None = None) -> None:
    """Entry point of ``ros2 run imitation_ros policy_node``; exits 1 on bad config."""
    try:
        run(PolicyNode, args)
    except ImitationRosError as err:
        sys.stderr.write(f'policy_node: error: {err}\n')
        sys.exit(1)


if __name__ == '__main__':
    main()
