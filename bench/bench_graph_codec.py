"""Codec cost of DDS-backend messages vs rosbags alone (same data, same process).

One line per message type: ours (message class -> CDR -> message class) and rosbags
serialize_cdr + deserialize_cdr on the equivalent dataclass, in ms per round trip, and the
ratio. Run: ``python bench/bench_graph_codec.py``.
"""
from __future__ import annotations

import array
import time
from typing import Any, Callable

import numpy as np

from imitation_ros.messages import typestore
from imitation_ros.messages.runtime import (
    deserialize,
    msg_class,
    serialize,
    serialize_buffer,
    to_rosbags,
)


def _timeit(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    best = float('inf')
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best * 1e3


def main() -> None:
    ts = typestore()
    rng = np.random.default_rng(0)
    img_bytes = rng.integers(0, 255, 640 * 480 * 3, dtype=np.uint8).tobytes()
    img = msg_class('sensor_msgs/msg/Image')(height=480, width=640, encoding='rgb8', step=1920,
                                             data=array.array('B', img_bytes))
    js = msg_class('sensor_msgs/msg/JointState')(name=[f'j{i}' for i in range(7)],
                                                 position=[0.1] * 7, velocity=[0.2] * 7)
    pt = msg_class('trajectory_msgs/msg/JointTrajectoryPoint')
    traj = msg_class('trajectory_msgs/msg/JointTrajectory')(
        joint_names=[f'j{i}' for i in range(7)],
        points=[pt(positions=[0.1 * k] * 7) for k in range(50)])
    cases = [('Image 640x480 rgb8', img, 200), ('JointState 7 joints', js, 5000),
             ('JointTrajectory 50 points', traj, 500)]
    for label, msg, repeat in cases:
        name = msg._type
        rb = to_rosbags(msg)

        def ours(msg: Any = msg, name: str = name) -> None:
            # the publish path (buffer handed to DDS) + the receive path (bytes from DDS)
            deserialize(serialize_buffer(msg), name)

        wire_bytes = serialize(msg)

        def ours_bytes(msg: Any = msg, name: str = name) -> None:
            deserialize(serialize(msg), name)

        def rosbags_only(rb: Any = rb, name: str = name) -> None:
            ts.deserialize_cdr(ts.serialize_cdr(rb, name), name)

        a = _timeit(ours, repeat)
        c = _timeit(ours_bytes, repeat)
        b = _timeit(rosbags_only, repeat)
        print(f'{label} ({len(wire_bytes)} B): ours {a:.3f} ms | rosbags serialize+deserialize '
              f'alone {b:.3f} ms | {a / b:.2f}x | cpu')
        print(f'{label}: ours via serialize() -> bytes copy {c:.3f} ms | rosbags alone '
              f'{b:.3f} ms | {c / b:.2f}x | cpu')


if __name__ == '__main__':
    main()
