"""Test helper process: publishes the sim_arm profile's topics with stamped, numbered messages.

    python test/e2e/record_publisher.py LOG.json [--seconds S] [--image WxH]

Joint states and the leader command at 100 Hz (reliable), an rgb8 camera at 30 Hz (sensor
data). Every message's header stamp is its publish time; on exit (SIGINT / SIGTERM / time up)
the stamps published per topic are written to LOG.json, so a test can tell which messages
a bag must contain.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from imitation_ros.graph import Node, msg_type, qos_profile, run
from imitation_ros.messages.codecs import fill_image, fill_joint_state

JointState = msg_type('sensor_msgs/msg/JointState')
Image = msg_type('sensor_msgs/msg/Image')
JOINTS = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper']


class PublisherNode(Node):
    """Publishes /joint_states, /leader/joint_states (100 Hz) and a camera (30 Hz)."""

    def __init__(self, log: str, seconds: float, height: int, width: int) -> None:
        super().__init__('record_test_publisher')
        self.log, self.deadline = log, time.monotonic() + seconds
        self.js = self.create_publisher(JointState, '/joint_states', qos_profile('reliable'))
        self.lead = self.create_publisher(JointState, '/leader/joint_states',
                                          qos_profile('reliable'))
        self.cam = self.create_publisher(Image, '/camera/color/image_raw',
                                         qos_profile('sensor_data'))
        self.rgb = np.zeros((height, width, 3), np.uint8)
        self.sent: dict[str, list[int]] = {'/joint_states': [], '/leader/joint_states': [],
                                           '/camera/color/image_raw': []}
        self.n = 0
        self.create_timer(0.01, self._tick)

    def _tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise KeyboardInterrupt
        now = time.time_ns()
        self.n += 1
        pos = np.full(6, self.n * 1e-3)
        self.js.publish(fill_joint_state(JointState(), JOINTS, pos, now))
        self.lead.publish(fill_joint_state(JointState(), JOINTS, pos, now))
        self.sent['/joint_states'].append(now)
        self.sent['/leader/joint_states'].append(now)
        if self.n % 3 == 0:
            self.rgb[:] = self.n % 251
            self.cam.publish(fill_image(Image(), self.rgb, now, 'camera'))
            self.sent['/camera/color/image_raw'].append(now)

    def destroy_node(self) -> None:
        with open(self.log, 'w', encoding='utf-8') as fh:
            json.dump(self.sent, fh)
        super().destroy_node()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('log')
    parser.add_argument('--seconds', type=float, default=60.0)
    parser.add_argument('--image', default='128x96')
    args, rest = parser.parse_known_args()
    width, height = (int(v) for v in args.image.split('x'))
    run(PublisherNode, [sys.argv[0], *rest], log=args.log, seconds=args.seconds,
        height=height, width=width)


if __name__ == '__main__':
    main()
