"""Small example node (used by the graph tests): a talker, a listener and a service.

``python -m imitation_ros.graph.demo_talker talker|listener|server|client|raw|params ...``
Each role prints one line per event to stdout (``heard <data>``, ``raw <hex>``, ...), so tests
can assert on what crossed DDS between processes.
"""
from __future__ import annotations

import array
import hashlib
import sys
from dataclasses import dataclass
from typing import Any

from imitation_ros.graph import Node, declare_config, msg_type, qos_profile, run, srv_type


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """Parameters of the demo node."""

    topic: str = 'chatter'
    type: str = 'std_msgs/msg/String'
    period_s: float = 0.05
    qos: str = 'reliable'
    count: int = 0            # messages to publish (0: forever)
    text: str = 'hello'
    gains: tuple[float, ...] = (1.0, 2.0)


class DemoNode(Node):
    """One role of the demo, chosen by the first non-ROS argument."""

    def __init__(self, role: str) -> None:
        super().__init__('demo')
        self.role = role
        self.cfg = declare_config(self, DemoConfig)
        self.sent = 0
        cls = msg_type(self.cfg.type)
        qos = qos_profile(self.cfg.qos)
        if role == 'talker':
            self.pub = self.create_publisher(cls, self.cfg.topic, qos)
            self.create_timer(self.cfg.period_s, self._tick)
        elif role in ('listener', 'raw'):
            self.create_subscription(cls, self.cfg.topic, self._on_msg, qos, raw=role == 'raw')
        elif role == 'server':
            self.create_service(srv_type('std_srvs/srv/SetBool'), 'set_flag', self._on_set)
            self.create_service(srv_type('std_srvs/srv/Trigger'), '~/trigger', self._on_trig)
        elif role == 'samples':
            self.sample_pubs = {t: self.create_publisher(msg_type(typ), t, qos)
                                for t, typ in SAMPLE_TYPES.items()}
            self.create_timer(self.cfg.period_s, self._tick_samples)
        elif role == 'rawecho':
            for t, typ in SAMPLE_TYPES.items():
                self.create_subscription(msg_type(typ), t, self._echo(t, raw=True), qos, raw=True)
        elif role == 'echo':
            for t, typ in SAMPLE_TYPES.items():
                self.create_subscription(msg_type(typ), t, self._echo(t, raw=False), qos)
        elif role == 'params':
            print(f'params {self.get_fully_qualified_name()} {self.cfg}', flush=True)
            self.create_timer(0.01, self._exit)
        self.get_logger().info(f'demo {role} ready on {self.cfg.topic}')

    def _exit(self) -> None:
        raise SystemExit(0)

    def _tick(self) -> None:
        if self.cfg.count and self.sent >= self.cfg.count:
            return
        msg = msg_type(self.cfg.type)()
        if hasattr(msg, 'data'):
            msg.data = f'{self.cfg.text} {self.sent}'
        self.pub.publish(msg)
        self.sent += 1

    def _tick_samples(self) -> None:
        for topic, pub in self.sample_pubs.items():
            pub.publish(fill_sample(topic, msg_type(SAMPLE_TYPES[topic])()))

    def _echo(self, topic: str, *, raw: bool) -> Any:
        def cb(msg: Any) -> None:
            if raw:
                print(f'raw {topic} {len(msg)} {hashlib.sha256(msg).hexdigest()}', flush=True)
            else:
                print(f'msg {topic} {summary(topic, msg)}', flush=True)
        return cb

    def _on_msg(self, msg: Any) -> None:
        if isinstance(msg, bytes):
            print(f'raw {msg.hex()}', flush=True)
        else:
            print(f'heard {getattr(msg, "data", msg)}', flush=True)

    def _on_set(self, request: Any, response: Any) -> Any:
        response.success = bool(request.data)
        response.message = f'flag={request.data}'
        return response

    def _on_trig(self, request: Any, response: Any) -> Any:
        response.success = True
        response.message = f'triggered {self.get_fully_qualified_name()}'
        return response

    def destroy_node(self) -> None:
        """Print a marker so tests can see that cleanup ran."""
        print(f'destroy_node {self.role}', flush=True)
        super().destroy_node()


#: Topics of the ``samples`` role and their types.
SAMPLE_TYPES = {
    'demo_js': 'sensor_msgs/msg/JointState',
    'demo_image': 'sensor_msgs/msg/Image',
    'demo_traj': 'trajectory_msgs/msg/JointTrajectory',
}


def _image_bytes() -> bytes:
    return bytes((i * 7) % 251 for i in range(256)) * (640 * 480 * 3 // 256)


def fill_sample(topic: str, msg: Any) -> Any:
    """Fill ``msg`` (any backend's class, or a rosbags dataclass) with the sample content."""
    msg.header.stamp.sec = 1700000000
    msg.header.stamp.nanosec = 123456789
    msg.header.frame_id = 'base'
    if topic == 'demo_js':
        msg.name = ['j1', 'j2', 'j3']
        msg.position = [0.1, -0.2, 0.3]
        msg.velocity = [1.0, 2.0, 3.0]
        msg.effort = []
    elif topic == 'demo_image':
        msg.height, msg.width, msg.encoding = 480, 640, 'rgb8'
        msg.is_bigendian, msg.step = 0, 640 * 3
        msg.data = array.array('B', _image_bytes())
    else:
        msg.joint_names = ['j1', 'j2']
        points = []
        for k in range(3):
            pt = msg_type('trajectory_msgs/msg/JointTrajectoryPoint')()
            pt.positions = [0.1 * k, 0.2 * k]
            pt.velocities = [0.0, 1.0]
            pt.time_from_start.sec = k
            pt.time_from_start.nanosec = 500
            points.append(pt)
        msg.points = points
    return msg


def summary(topic: str, msg: Any) -> str:
    """One-line digest of a received sample (for e2e assertions)."""
    if topic == 'demo_js':
        return f'{list(msg.name)} {[round(float(v), 3) for v in msg.position]}'
    if topic == 'demo_image':
        data = bytes(msg.data)
        return f'{msg.width}x{msg.height} {msg.encoding} {hashlib.sha256(data).hexdigest()}'
    return (f'{list(msg.joint_names)} {len(msg.points)} '
            f'{[round(float(v), 3) for v in msg.points[-1].positions]}')


def main(args: list[str] | None = None) -> None:
    """Entry point: ``demo_talker <role> [--ros-args ...]``."""
    argv = sys.argv if args is None else args
    from imitation_ros.graph.params import split_ros_args

    _, rest = split_ros_args(argv[1:])
    role = rest[0] if rest else 'talker'
    run(DemoNode, argv, role=role)


if __name__ == '__main__':
    main()
