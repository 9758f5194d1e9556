"""imitation_ros: teach a ROS 2 arm by demonstration.

Rooms (sub-packages) and who may import whom:

* ``errors``: leaf, imports nothing.
* ``profile``: the robot profile (topics, joints, fps, limits, feature keys); errors, yaml.
* ``messages``: message types (rosbags typestore + ``msg/``), CDR, array codecs.
* ``frames``: the single resampler used offline (convert) and live (policy).
* ``graph``: the only room importing rclpy or cyclonedds.
* ``record``, ``data``, ``learn``, ``sim``: ROS-free cores.
* ``review``: ROS-free; the local web page of ``imitation-ros review`` (uses ``data``).
* ``nodes``: thin executables wiring ``graph`` to the cores.
* ``cli``: the ``imitation-ros`` command line; never imports ``graph``.
* ``msg``: not in the source tree: the message classes rosidl generates from ``msg/`` in a
  ``colcon build`` (CMakeLists.txt), used by the rclpy backend only.
"""
from __future__ import annotations

__version__ = '0.1.0'
