"""sim_node: a simulated arm that looks like a ros2_control arm (joint states, cameras, /clock).

Publishes the profile's state topic (JointState), each camera (Image, optionally
``<topic>/compressed``), ``/clock``, ``~/success`` (Bool, latched), ``~/task_state``
(Float64MultiArray: ``episode, episode_time_s`` then the task's privileged state; labels in
``layout.dim[0].label``) and ``/diagnostics`` (clamped-command count). Accepts the profile's
JointTrajectory and forward position command topics; serves ``~/reset`` (std_srvs/Trigger).
All wiring: the loop is :class:`imitation_ros.sim.runner.SimRunner`.
"""
from __future__ import annotations

import time
from typing import Any

from imitation_ros.errors import ImitationRosError
from imitation_ros.graph import (
    Node,
    Parameter,
    declare_config,
    msg_type,
    qos_profile,
    run,
    srv_type,
)
from imitation_ros.messages.codecs import fill_image, fill_joint_state, set_stamp, stamp_ns
from imitation_ros.profile import load_profile
from imitation_ros.resources import resolve_config
from imitation_ros.sim.config import SimNodeConfig, make_sim
from imitation_ros.sim.runner import SimRunner

JointState = msg_type('sensor_msgs/msg/JointState')
Image = msg_type('sensor_msgs/msg/Image')
CompressedImage = msg_type('sensor_msgs/msg/CompressedImage')
Clock = msg_type('rosgraph_msgs/msg/Clock')
Bool = msg_type('std_msgs/msg/Bool')
Float64MultiArray = msg_type('std_msgs/msg/Float64MultiArray')
MultiArrayDimension = msg_type('std_msgs/msg/MultiArrayDimension')
JointTrajectory = msg_type('trajectory_msgs/msg/JointTrajectory')
DiagnosticArray = msg_type('diagnostic_msgs/msg/DiagnosticArray')
DiagnosticStatus = msg_type('diagnostic_msgs/msg/DiagnosticStatus')
KeyValue = msg_type('diagnostic_msgs/msg/KeyValue')
Trigger = srv_type('std_srvs/srv/Trigger')


class SimNode(Node):
    """Wires a :class:`SimRunner` to topics and the reset service."""

    def __init__(self) -> None:
        super().__init__('sim')
        if self.get_parameter('use_sim_time').value:    # its timer would wait for its own /clock
            self.get_logger().warning('use_sim_time ignored: the sim publishes /clock itself')
            self.set_parameters([Parameter('use_sim_time', value=False)])
        cfg = self.cfg = declare_config(self, SimNodeConfig)
        self.profile = load_profile(resolve_config(cfg.profile))
        self.sim = make_sim(cfg, self.profile)
        rates = {'joint_states': cfg.joint_state_hz, 'clock': cfg.clock_hz,
                 'success': cfg.success_hz, 'diagnostics': cfg.diagnostics_hz}
        if self.profile.cameras:
            rates['camera'] = cfg.camera_hz
        self.runner = SimRunner(self.sim, rates, seed=cfg.seed,
                                real_time_factor=cfg.real_time_factor,
                                max_catch_up_s=cfg.max_catch_up_s)
        # 'wall': sim time 0 is anchored to the wall clock at the first tick, when the pacer
        # starts (anchoring at construction would stamp everything late by the start-up time).
        self._origin_ns: int | None = None if cfg.stamp_origin == 'wall' else 0
        p = self.profile
        self._js_pub = self.create_publisher(JointState, p.state.topic, qos_profile('reliable'))
        self._cams = [(c, self.create_publisher(Image, c.topic, qos_profile('sensor_data')),
                       self.create_publisher(CompressedImage, c.topic + '/compressed',
                                             qos_profile('sensor_data'))
                       if cfg.compressed else None) for c in p.cameras]
        self._clock_pub = self.create_publisher(Clock, '/clock', qos_profile('reliable', 1))
        self._ok_pub = self.create_publisher(Bool, '~/success', qos_profile('latched'))
        self._task_pub = self.create_publisher(Float64MultiArray, '~/task_state',
                                               qos_profile('reliable'))
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics',
                                               qos_profile('reliable'))
        self.create_subscription(JointTrajectory, p.command.trajectory_topic, self._on_traj,
                                 qos_profile('reliable'))
        self.create_subscription(Float64MultiArray, p.command.forward_topic, self._on_forward,
                                 qos_profile('reliable'))
        self.create_service(Trigger, '~/reset', self._on_reset)
        self._labels = ','.join(self.runner.task_state_names)
        self.create_timer(1.0 / max(rates.values()), self._tick)
        self.get_logger().info(
            f'sim task {cfg.task!r}, profile {p.path}, joints {list(p.joint_names)}, '
            f'cameras {[c.name for c in p.cameras]}, seed {cfg.seed}')

    def _stamp(self, t_s: float) -> int:
        if self.cfg.stamp_origin == 'wall':     # stay on the wall clock after a stall
            t_s += self.runner.pacer.given_up_s
        origin = time.time_ns() if self._origin_ns is None else self._origin_ns
        return origin + round(t_s * 1e9)

    def _tick(self) -> None:
        if self._origin_ns is None:
            self._origin_ns = time.time_ns() - round(self.runner.time_s * 1e9)
        self.runner.run_until(time.monotonic(), self._emit)
        if self.runner.pacer.lag_events:
            self.get_logger().warning(
                f'sim cannot keep real time ({self.runner.pacer.lag_events} lag events)',
                throttle_duration_sec=5.0)

    def _emit(self, t_s: float, names: list[str]) -> None:
        ns = self._stamp(t_s)
        if 'clock' in names:
            msg = Clock()
            msg.clock.sec, msg.clock.nanosec = ns // 1_000_000_000, ns % 1_000_000_000
            self._clock_pub.publish(msg)
        if 'joint_states' in names:
            self._js_pub.publish(fill_joint_state(
                JointState(), self.sim.joint_names, self.sim.joint_positions(), ns,
                velocity=self.sim.joint_velocities(), frame_id='base_link'))
            state = self.runner.task_state_vector()
            self._task_pub.publish(Float64MultiArray(
                layout=_layout(self._labels, len(state)), data=state))
        if 'camera' in names:
            for cam, pub, cpub in self._cams:
                rgb = self.sim.render(cam.name)
                frame = f'{cam.name}_camera_optical_frame'
                pub.publish(fill_image(Image(), rgb, ns, frame))
                if cpub is not None:
                    cpub.publish(_jpeg(rgb, ns, frame, self.cfg.jpeg_quality))
        if 'success' in names:
            self._ok_pub.publish(Bool(data=bool(self.sim.success())))
        if 'diagnostics' in names:
            self._publish_diagnostics(ns)

    def _publish_diagnostics(self, ns: int) -> None:
        ok, message, values = self.runner.diagnostics()
        status = DiagnosticStatus(
            level=DiagnosticStatus.OK if ok else DiagnosticStatus.WARN,
            name=f'{self.get_name()}: commands', hardware_id=self.profile.name, message=message,
            values=[KeyValue(key=k, value=v) for k, v in values.items()])
        msg = DiagnosticArray(status=[status])
        set_stamp(msg.header, ns)
        self._diag_pub.publish(msg)

    def _report(self, report: Any, topic: str) -> None:
        if report.changed:
            self.get_logger().warning(f'command on {topic} {report.describe()} '
                                      f'({self.runner.clamp_count} so far)',
                                      throttle_duration_sec=1.0)

    def _on_forward(self, msg: Any) -> None:
        topic = self.profile.command.forward_topic
        try:
            self._report(self.runner.command(msg.data, source=topic), topic)
        except ImitationRosError as err:
            self.get_logger().error(f'ignored command, holding: {err}',
                                    throttle_duration_sec=1.0)

    def _on_traj(self, msg: Any) -> None:
        topic = self.profile.command.trajectory_topic
        ns = stamp_ns(msg)
        start = None if ns == 0 else (ns - self._stamp(0.0)) / 1e9
        pts = list(msg.points)
        try:
            self._report(self.runner.trajectory(
                list(msg.joint_names),
                [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in pts],
                [list(p.positions) for p in pts], [list(p.velocities) for p in pts],
                start_s=start, source=topic), topic)
        except ImitationRosError as err:
            self.get_logger().error(f'ignored trajectory, holding: {err}',
                                    throttle_duration_sec=1.0)

    def _on_reset(self, request: Any, response: Any) -> Any:
        del request
        episode, seed = self.runner.reset()
        self._ok_pub.publish(Bool(data=bool(self.sim.success())))
        response.success = True
        response.message = f'episode={episode} seed={seed}'
        self.get_logger().info(f'reset: {response.message}')
        return response

    def destroy_node(self) -> None:
        """Free the simulator (renderer contexts, environments)."""
        self.sim.close()
        super().destroy_node()


def _layout(labels: str, size: int) -> Any:
    layout = Float64MultiArray().layout
    layout.dim = [MultiArrayDimension(label=labels, size=size, stride=size)]
    return layout


def _jpeg(rgb: Any, ns: int, frame_id: str, quality: int) -> Any:
    import array

    import cv2

    ok, buf = cv2.imencode('.jpg', rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    data = array.array('B')
    data.frombytes(buf.tobytes() if ok else b'')
    msg = CompressedImage(format='rgb8; jpeg compressed bgr8', data=data)
    set_stamp(msg.header, ns)
    msg.header.frame_id = frame_id
    return msg


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``sim_node`` executable."""
    run(SimNode, args)


if __name__ == '__main__':
    main()
