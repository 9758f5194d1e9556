"""Policy node ``policy``: a trained checkpoint driving the arm, never blocking its loop.

Subscribes the profile's state and camera topics, assembles the observation at every control
tick with the converter's own resampler (``frames.FrameAssembler``: newest message at or
before the tick, per-stream maximum age) and runs ``deploy.PolicyController``: the forward
pass runs on a worker thread (``deploy.ThreadWorker``) while the current chunk executes; the
tick only picks up chunks, blends seams, filters and publishes, so the period holds however
slow the policy is. Publishes on the profile's forward topic (``std_msgs/Float64MultiArray``,
one value per joint per tick, in the profile's joint order) or trajectory topic
(``trajectory_msgs/JointTrajectory``, built by ``deploy.jtc.TrajectoryStitcher`` so that what
JointTrajectoryController executes keeps the velocity cap every controller cycle: stamped
``trajectory_delay_s`` ahead, the first point reachable from where the running trajectory
stands, one point per period up to ``trajectory_horizon_s``, all within ``max_lead_rad`` of the
measured pose; see docs/jtc.md). Stale, missing or non-finite input holds (trajectory mode: a
one-point trajectory at the running setpoint; on ``~/enable`` false and at shutdown too);
nothing is published before a command is safe. The node starts disabled: it publishes
nothing until ``~/enable`` (SetBool; ramps in from the measured pose over ``enable_ramp_s``)
is called with true, or ``enabled:=true`` is given; the caps and the ramp-in time are logged
at start. ``~/reset`` (Trigger) starts over. Enable and reset are boundaries of the safety
filter: the next command is still capped from the last one sent. ``/diagnostics`` and one
log line every second: latency p50/p99, queue depth, seams, stalls, holds by kind, control
period error.
"""
from __future__ import annotations

import sys
from collections import deque
from collections.abc import Sequence
from functools import partial

import numpy as np

from imitation_ros.deploy import (
    ControllerConfig,
    PolicyController,
    ProcessWorker,
    SafetyFilter,
    ThreadWorker,
)
from imitation_ros.deploy.config import PolicyNodeConfig
from imitation_ros.deploy.jtc import TrajectoryStitcher, next_message
from imitation_ros.errors import ConfigError, ImitationRosError
from imitation_ros.frames import FrameAssembler
from imitation_ros.graph import Node, declare_config, msg_type, qos_profile, run, srv_type
from imitation_ros.messages.codecs import set_stamp
from imitation_ros.profile import ACTION, OBS_STATE, load_profile
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

        # With a process worker the child loads the model that runs; this copy (on the CPU)
        # only tells the controller the policy's shapes and joint names.
        in_proc = cfg.inference_worker == 'process'
        runner = load_policy(cfg.checkpoint, device='cpu' if in_proc else cfg.device)
        if runner.joint_names and list(runner.joint_names) != list(self.profile.joint_names):
            msg = (f'{cfg.checkpoint}: trained on joints {runner.joint_names}, profile '
                   f'{self.profile.path} has {list(self.profile.joint_names)}')
            raise ConfigError(msg)
        self.period_s = 1.0 / (cfg.rate_hz or self.profile.fps)
        safety = SafetyFilter.from_profile(self.profile, cfg.safety(), period_s=self.period_s)
        worker = (ProcessWorker(partial(load_policy, cfg.checkpoint, device=cfg.device),
                                min_latency_s=cfg.min_inference_s) if in_proc
                  else ThreadWorker(runner, min_latency_s=cfg.min_inference_s))
        self.ctl = PolicyController(runner, safety, worker=worker, config=ControllerConfig(
            period_s=self.period_s, blend_steps=cfg.blend_steps,
            ensemble_coeff=cfg.ensemble_coeff if cfg.ensemble_coeff >= 0 else None,
            latency_margin_s=cfg.latency_margin_s, latency_prior_s=cfg.latency_prior_s,
            max_plan_age_s=cfg.max_plan_age_s, enable_ramp_s=cfg.enable_ramp_s))
        self.frames = FrameAssembler(self.profile, keep_s=2.0)
        used = set(runner.config.input_features)       # a state-only policy ignores cameras
        self.obs_keys = [k for k in self.frames.keys if k != ACTION and k in used]
        self.cfg, self.enabled = cfg, cfg.enabled
        self._t0_ns: int | None = None
        self._last_tick_ns: int | None = None
        self._period_err_s: deque[float] = deque(maxlen=300)
        self._resyncs = 0
        topics = {self.profile.state.topic: self.profile.state.type}
        topics.update({c.topic: c.type for c in self.profile.cameras})
        for topic, type_name in topics.items():
            kind = 'sensor_data' if type_name.startswith('sensor_msgs/msg/') else 'reliable'
            self.create_subscription(msg_type(type_name), topic, partial(self._on_msg, topic),
                                     qos_profile(kind, 10))
        mode = self.profile.command.mode if cfg.command == 'profile' else cfg.command
        self.mode = mode
        self.stitcher = TrajectoryStitcher(
            safety, period_s=self.period_s, controller_period_s=1.0 / cfg.controller_rate_hz,
            delay_s=cfg.trajectory_delay_s, horizon_s=cfg.trajectory_horizon_s,
            max_lead_rad=cfg.max_lead_rad, max_delivery_s=cfg.trajectory_max_delivery_s)
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
        self.create_timer(self.period_s, self._tick)
        self.create_timer(1.0, self._publish_diag)
        self.get_logger().info(
            f'policy {runner.policy_type} from {cfg.checkpoint} at {1 / self.period_s:.1f} Hz, '
            f'inference in a {cfg.inference_worker}, '
            f'{mode} commands, {"enabled" if self.enabled else "disabled: waiting for ~/enable"}')
        sc = safety.config
        vel = np.asarray(self.profile.limits.max_velocity_rad_s) * sc.velocity_scale
        self.get_logger().info(
            f'safety: velocity cap {np.round(vel, 3).tolist()} rad/s (step cap '
            f'{np.round(safety.step_cap(), 4).tolist()} rad/period), max_step_rad '
            f'{sc.max_step_rad or "off"}, lead {sc.max_lead_rad or "off"} rad, limit margin '
            f'{sc.limit_margin_rad} rad, ramp-in {cfg.enable_ramp_s} s after enable/reset')

    def _now(self) -> int:
        return self.get_clock().now().nanoseconds

    def _t(self, ns: int) -> float:
        """Controller time: s since the first tick (keeps float precision)."""
        if self._t0_ns is None:
            self._t0_ns = ns
        return (ns - self._t0_ns) / NS

    def _on_msg(self, topic: str, msg: object) -> None:
        try:
            self.frames.push_msg(topic, msg, self._now())
        except Exception as err:  # noqa: BLE001 - a bad message is skipped, loudly
            self.get_logger().warning(f'{topic}: message skipped: {err}',
                                      throttle_duration_sec=1.0)

    def _tick(self) -> None:
        now = self._now()
        if self._last_tick_ns is not None:
            self._period_err_s.append((now - self._last_tick_ns) / NS - self.period_s)
        self._last_tick_ns = now
        if not self.enabled:
            return
        t = self._t(now)
        looks = self.frames.lookup(now)
        state = looks.get(OBS_STATE)
        measured = (np.asarray(state.value, dtype=np.float64).reshape(-1)
                    if state is not None and state.ok else None)
        missing = {k: looks[k].reason for k in self.obs_keys if not looks[k].ok}
        if missing:      # a stream is silent or older than its max_age_s: hold, say which
            res = self.ctl.tick(t, None, None, missing=', '.join(
                f'{k} {r}' for k, r in missing.items()))
        else:
            obs = {k: looks[k].value for k in self.obs_keys}
            oldest = max(looks[k].age_ns for k in self.obs_keys)
            res = self.ctl.tick(t, obs, t - oldest / NS, trajectory=self.mode == 'trajectory')
        verdict = res.verdict
        if verdict.reasons:
            self.get_logger().warning(f'{verdict.action}: {"; ".join(verdict.reasons)}',
                                      throttle_duration_sec=1.0)
        if self.mode == 'forward':
            if verdict.command is not None:
                msg = Float64MultiArray()
                msg.data = [float(v) for v in verdict.command]   # the profile's joint order
                self.pub.publish(msg)
            return
        n = self.cfg.trajectory_points
        out = next_message(self.stitcher, t, measured, verdict.command,
                           res.traj_offsets_s[:n] if n else res.traj_offsets_s,
                           res.traj_points[:n] if n else res.traj_points,
                           hold=verdict.action == 'hold',
                           resync_rad=self.cfg.trajectory_resync_rad)
        if self.stitcher.resyncs > self._resyncs:
            self._resyncs = self.stitcher.resyncs
            self.get_logger().warning(
                'the arm is not where the trajectories sent put it (a controller switch, a '
                'controller not consuming commands, or another publisher): holding, the next '
                'trajectory starts from the measured pose')
        if out is not None:
            self._publish_trajectory(*out)

    def _publish_trajectory(self, stamp_s: float, times_s: np.ndarray,
                            positions: np.ndarray) -> None:
        """Publish a stitched trajectory (stamp on the controller clock of :meth:`_t`)."""
        self.pub.publish(trajectory_msg(
            (self._t0_ns or 0) + int(round(stamp_s * NS)), self.profile.joint_names,
            times_s, positions))

    def _hold_trajectory(self) -> None:
        """Trajectory mode: stop JTC at the running setpoint (disable, shutdown)."""
        if self.mode != 'trajectory' or self.stitcher.running is None or self._t0_ns is None:
            return
        now = self._now()
        out = next_message(self.stitcher, self._t(now), None, None, np.zeros(0),
                           np.zeros((0, 0)), hold=True)
        if out is not None:
            self._publish_trajectory(*out)

    def _on_enable(self, request: object, response: object) -> object:
        if self.enabled and not request.data:
            self._hold_trajectory()
        self.enabled = bool(request.data)
        self.ctl.reset()                     # the next command ramps in from the arm's pose
        response.success, response.message = True, f'enabled={self.enabled}'
        self.get_logger().info(response.message)
        return response

    def _on_reset(self, request: object, response: object) -> object:
        self.ctl.reset()
        self.frames.reset()
        response.success, response.message = True, 'policy state reset'
        return response

    def _period_stats(self) -> tuple[float, float]:
        if not self._period_err_s:
            return 0.0, 0.0
        err = np.abs(np.fromiter(self._period_err_s, float)) * 1e3
        return float(np.percentile(err, 50)), float(np.percentile(err, 99))

    def _publish_diag(self) -> None:
        now = self._now()
        stats = self.ctl.stats(0.0 if self._t0_ns is None else self._t(now))
        p50, p99 = self._period_stats()
        stats.update(period_err_p50_ms=round(p50, 3), period_err_p99_ms=round(p99, 3),
                     enabled=int(self.enabled))
        holds = sum(v for k, v in stats.items() if k.startswith('hold_'))
        arr = DiagnosticArray()
        set_stamp(arr.header, now)
        status = DiagnosticStatus()
        status.name, status.hardware_id = f'{self.get_name()}: policy', self.profile.name
        bad = holds or stats['stalls'] or stats['policy_errors']
        status.level = DiagnosticStatus.WARN if bad else DiagnosticStatus.OK
        status.message = (f'{stats["ticks"]} ticks, {holds} held, {stats["stalls"]} stalls, '
                          f'latency p50 {stats["latency_p50_ms"]} ms p99 '
                          f'{stats["latency_p99_ms"]} ms')
        status.values = [KeyValue(key=k, value=str(v)) for k, v in stats.items()]
        arr.status = [status]
        self.diag.publish(arr)
        self.get_logger().info(
            f'{status.message}, queue {stats["queue_depth"]}, seams {stats["seams"]}, '
            f'period error p50 {p50:.2f} ms p99 {p99:.2f} ms, holds '
            f'{ {k[5:]: v for k, v in stats.items() if k.startswith("hold_")} }')

    def destroy_node(self) -> None:
        """Stop JTC at the running setpoint (trajectory mode), stop the inference thread."""
        try:
            self._hold_trajectory()
        except Exception as err:  # noqa: BLE001 - shutting down: the horizon bounds the rest
            self.get_logger().warning(f'no hold trajectory at shutdown: {err}')
        self.ctl.close()
        super().destroy_node()


def trajectory_msg(stamp_ns: int, joint_names: Sequence[str], times_s: np.ndarray,
                   positions: np.ndarray) -> object:
    """A ``JointTrajectory`` as JTC requires it: every controller joint named (JTC reorders
    by name), ``header.stamp`` the time the first point's ``time_from_start`` counts from,
    ``time_from_start`` strictly increasing, one position per joint per point, velocities and
    accelerations empty (linear interpolation, no end-velocity check)."""
    msg = JointTrajectory()
    set_stamp(msg.header, stamp_ns)
    msg.joint_names = list(joint_names)
    out = []
    for t, row in zip(times_s, positions, strict=True):
        point = JointTrajectoryPoint()
        point.positions = [float(v) for v in row]
        ns = int(round(float(t) * NS))
        point.time_from_start.sec, point.time_from_start.nanosec = ns // NS, ns % NS
        out.append(point)
    msg.points = out
    return msg


def main(args: list[str] | None = None) -> None:
    """Entry point of ``ros2 run imitation_ros policy_node``; exits 1 on bad config."""
    try:
        run(PolicyNode, args)
    except ImitationRosError as err:
        sys.stderr.write(f'policy_node: error: {err}\n')
        sys.exit(1)


if __name__ == '__main__':
    main()
