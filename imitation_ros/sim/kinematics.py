"""Closed-form kinematics of the simulated arm (top-down grasps), numpy only.

Used by the scripted expert (inverse kinematics of the grasp point) and by the simulator to
pick a home pose. Angles follow :mod:`imitation_ros.sim.model`: lift, elbow and wrist are
measured from the vertical and pointing the gripper straight down means their sum is pi.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from imitation_ros.sim.model import ArmGeometry


def wrap_quarter(angle_rad: float) -> float:
    """Wrap an angle into [-pi/4, pi/4) (a cube looks the same every quarter turn)."""
    q = math.pi / 2
    return (angle_rad + q / 2) % q - q / 2


def yaw_of_quat(w: float, x: float, y: float, z: float) -> float:
    """Yaw (rotation about world z) of a unit quaternion, rad."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def grasp_ik(geometry: ArmGeometry, point: NDArray[np.floating] | tuple[float, float, float],
             yaw_rad: float = 0.0) -> NDArray[np.float64]:
    """Joint angles that put the grasp point at ``point`` with the gripper pointing down.

    Args:
        geometry: Arm lengths.
        point: Target grasp point (x, y, z) in the world, metres.
        yaw_rad: Yaw of the object to straddle; the fingers close across one of its faces.

    Returns:
        ``[shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, wrist_roll]`` in rad
        (elbow up). Out-of-reach targets are pulled onto the reachable shell.
    """
    g = geometry
    px, py, pz = (float(v) for v in point)
    pan = math.atan2(py, px)
    r = math.hypot(px, py)
    x, z = r, pz + g.grasp_offset_m - g.shoulder_height_m
    l1, l2 = g.upper_arm_m, g.forearm_m
    d = math.hypot(x, z)
    d = min(max(d, abs(l1 - l2) + 1e-4), l1 + l2 - 1e-4)
    cos2 = (d * d - l1 * l1 - l2 * l2) / (2 * l1 * l2)
    t2 = math.acos(max(-1.0, min(1.0, cos2)))
    t1 = math.atan2(x, z) - math.atan2(l2 * math.sin(t2), l1 + l2 * math.cos(t2))
    t3 = math.pi - t1 - t2
    roll = wrap_quarter(pan - yaw_rad)
    return np.array([pan, t1, t2, t3, roll], dtype=np.float64)


def grasp_point(geometry: ArmGeometry, q: NDArray[np.floating]) -> NDArray[np.float64]:
    """Forward kinematics: world position of the grasp point for arm joints ``q[:4]``."""
    g = geometry
    pan, t1, t2, t3 = (float(v) for v in q[:4])
    r = (g.upper_arm_m * math.sin(t1) + g.forearm_m * math.sin(t1 + t2)
         + g.grasp_offset_m * math.sin(t1 + t2 + t3))
    z = (g.shoulder_height_m + g.upper_arm_m * math.cos(t1) + g.forearm_m * math.cos(t1 + t2)
         + g.grasp_offset_m * math.cos(t1 + t2 + t3))
    return np.array([r * math.cos(pan), r * math.sin(pan), z], dtype=np.float64)
