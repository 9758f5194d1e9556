"""MJCF of the simulated arm and its cube task, built in code from a robot profile.

The arm is a 5-DoF chain plus a parallel gripper, shaped like a small desktop arm (SO-100
class). Joint names and position limits come from the profile, so the model and the command
clamp can never disagree. Geometry lives in :class:`ArmGeometry`, which the scripted expert's
inverse kinematics reads too.

Kinematics (all hinge axes +y except pan and roll about +z)::

    z
    |   elbow o------o wrist_flex        angles are measured from the vertical:
    |  L1  /    L2    \\  L3 (to grasp)   lift leans the upper arm towards +r,
    |     o shoulder   v grasp point      elbow and wrist add to it; pointing straight
    |     | (height H) |                  down means lift + elbow + wrist = pi.
    +-----o pan -----------------------> r

The gripper is a hinge named like the profile's last joint (``gripper``, 0 = closed,
1 rad = open) coupled by equality constraints to two slide fingers, so it closes in parallel
and the profile keeps one joint in radians.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imitation_ros.errors import SimError

if TYPE_CHECKING:
    from imitation_ros.profile import RobotProfile

#: Joints of the model, in kinematic order; the profile must name exactly these.
ARM_JOINTS = ('shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll',
              'gripper')


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmGeometry:
    """Lengths of the arm and the task scene, in metres (shared by model and expert IK)."""

    shoulder_height_m: float = 0.12    # shoulder_lift axis above the table
    upper_arm_m: float = 0.18          # shoulder_lift axis -> elbow_flex axis
    forearm_m: float = 0.18            # elbow_flex axis -> wrist_flex axis
    grasp_offset_m: float = 0.10       # wrist_flex axis -> point between the finger pads
    finger_per_rad_m: float = 0.04     # finger travel per gripper radian (each finger)
    finger_gap_m: float = 0.008        # half gap between the closed fingers' inner faces
    finger_half_width_m: float = 0.028  # finger pads are 5.6 cm wide (tolerates cube offsets)
    cube_half_m: float = 0.02          # half edge of the cube
    cube_mass_kg: float = 0.03
    cube_x_m: float = 0.27             # nominal cube centre on the table
    cube_y_m: float = 0.0


def _look_at(pos: tuple[float, float, float],
             target: tuple[float, float, float]) -> tuple[float, ...]:
    """Return MJCF ``xyaxes`` of a camera at ``pos`` looking at ``target`` (z-up world)."""
    fx, fy, fz = (target[i] - pos[i] for i in range(3))
    n = math.sqrt(fx * fx + fy * fy + fz * fz)
    fx, fy, fz = fx / n, fy / n, fz / n
    # camera x = forward x up; camera y = x cross forward (MuJoCo cameras look along -z)
    xx, xy, xz = fy * 1.0 - fz * 0.0, fz * 0.0 - fx * 1.0, 0.0
    n = math.sqrt(xx * xx + xy * xy + xz * xz)
    if n < 1e-9:                                     # looking straight down or up
        xx, xy, xz, n = 0.0, -1.0, 0.0, 1.0
    xx, xy, xz = xx / n, xy / n, xz / n
    yx, yy, yz = xy * fz - xz * fy, xz * fx - xx * fz, xx * fy - xy * fx
    return (xx, xy, xz, yx, yy, yz)


#: Fixed cameras: name -> (position, look-at target). ``wrist`` is mounted on the hand.
CAMERAS = {
    'front': ((0.58, -0.26, 0.36), (0.22, 0.0, 0.07)),
    'top': ((0.25, 0.0, 0.85), (0.25, 0.0, 0.0)),
}


def build_mjcf(profile: RobotProfile, geometry: ArmGeometry | None = None, *,
               max_image_hw: tuple[int, int] = (96, 128)) -> str:
    """Return the MJCF XML of the arm-and-cube scene for ``profile``.

    Args:
        profile: The robot profile; its joint names must be :data:`ARM_JOINTS` (any order) and
            its limits become the joints' ranges and the actuators' control ranges.
        geometry: Arm and scene lengths (defaults when ``None``).
        max_image_hw: Largest camera image (height, width): the offscreen buffer's size
            (a small buffer renders faster on a CPU renderer; ArmSim grows it on demand).

    Raises:
        SimError: The profile names joints the model does not have.
    """
    g = geometry or ArmGeometry()
    names = list(profile.joint_names)
    if sorted(names) != sorted(ARM_JOINTS):
        msg = (f'{profile.path or profile.name}: joints {names} do not match the simulated '
               f'arm; it has {list(ARM_JOINTS)}')
        raise SimError(msg)
    lim = {n: (profile.limits.lower_rad[i], profile.limits.upper_rad[i])
           for i, n in enumerate(names)}

    def rng(name: str) -> str:
        lo, hi = lim[name]
        return f'{lo:.6g} {hi:.6g}'

    base_z = 0.06
    finger_travel = g.finger_per_rad_m * max(lim['gripper'][1], 1e-3) + 0.005
    palm_half_y = g.finger_gap_m + finger_travel + 0.012
    fing_len = 0.06
    hand_z = 0.03                                    # wrist_flex axis -> wrist_roll body
    palm_z = g.grasp_offset_m + 0.02 - fing_len      # palm bottom, from wrist_flex axis
    cams = []
    for cname, (pos, tgt) in CAMERAS.items():
        ax = ' '.join(f'{v:.5f}' for v in _look_at(pos, tgt))
        cams.append(f'<camera name="{cname}" pos="{pos[0]} {pos[1]} {pos[2]}" '
                    f'xyaxes="{ax}" fovy="50"/>')
    off_h, off_w = max(max_image_hw[0], 96), max(max_image_hw[1], 128)
    c = g.cube_half_m
    fx = g.finger_gap_m + 0.005                      # finger geom centre offset (closed)
    coef = g.finger_per_rad_m
    return f"""
<mujoco model="imitation_ros_sim_arm">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.002" integrator="implicitfast" cone="elliptic" impratio="4"/>
  <visual>
    <global offwidth="{off_w}" offheight="{off_h}"/>
    <quality shadowsize="0" offsamples="0"/>
    <headlight ambient="0.35 0.35 0.35" diffuse="0.5 0.5 0.5" specular="0 0 0"/>
  </visual>
  <default>
    <joint damping="1.5" armature="0.01"/>
    <geom condim="4" friction="1.2 0.02 0.001" solref="0.004 1"/>
    <position kp="40" kv="3" forcerange="-15 15"/>
  </default>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1=".55 .55 .52" rgb2=".5 .5 .47"
             width="64" height="64"/>
    <material name="table" texture="grid" texrepeat="8 8" rgba="1 1 1 1"/>
    <material name="arm" rgba="0.85 0.55 0.15 1"/>
    <material name="dark" rgba="0.15 0.15 0.17 1"/>
    <material name="cube" rgba="0.85 0.12 0.12 1"/>
  </asset>
  <worldbody>
    <light name="key" pos="0.3 -0.4 1.2" dir="-0.2 0.35 -1" directional="true"
           diffuse="0.6 0.6 0.6" castshadow="false"/>
    <geom name="table" type="plane" size="0.8 0.8 0.02" material="table"/>
    <geom name="zone" type="box" pos="{g.cube_x_m} {g.cube_y_m} 0.0005"
          size="{c * 2.5:.4f} {c * 2.5:.4f} 0.0005" rgba="0.3 0.5 0.9 1" contype="0"
          conaffinity="0"/>
    {cams[0]}
    {cams[1]}
    <body name="base" pos="0 0 0">
      <geom name="base" type="cylinder" size="0.06 {base_z / 2}" pos="0 0 {base_z / 2}"
            material="dark"/>
      <body name="pan" pos="0 0 {base_z}" gravcomp="1">
        <joint name="shoulder_pan" axis="0 0 1" range="{rng('shoulder_pan')}"/>
        <geom type="cylinder" size="0.035 {(g.shoulder_height_m - base_z) / 2}"
              pos="0 0 {(g.shoulder_height_m - base_z) / 2}" material="arm"/>
        <body name="upper_arm" pos="0 0 {g.shoulder_height_m - base_z}" gravcomp="1">
          <joint name="shoulder_lift" axis="0 1 0" range="{rng('shoulder_lift')}"/>
          <geom type="capsule" fromto="0 0 0 0 0 {g.upper_arm_m}" size="0.022"
                material="arm"/>
          <body name="forearm" pos="0 0 {g.upper_arm_m}" gravcomp="1">
            <joint name="elbow_flex" axis="0 1 0" range="{rng('elbow_flex')}"/>
            <geom type="capsule" fromto="0 0 0 0 0 {g.forearm_m}" size="0.018"
                  material="arm"/>
            <body name="wrist" pos="0 0 {g.forearm_m}" gravcomp="1">
              <joint name="wrist_flex" axis="0 1 0" range="{rng('wrist_flex')}"/>
              <geom type="cylinder" size="0.02 {hand_z / 2}" pos="0 0 {hand_z / 2}"
                    material="dark"/>
              <body name="hand" pos="0 0 {hand_z}" gravcomp="1">
                <joint name="wrist_roll" axis="0 0 1" range="{rng('wrist_roll')}"/>
                <geom name="palm" type="box" size="{g.finger_half_width_m} {palm_half_y:.4f} 0.01"
                      pos="0 0 {palm_z - hand_z - 0.01:.4f}" material="arm"/>
                <site name="grasp" pos="0 0 {g.grasp_offset_m - hand_z:.4f}" size="0.004"
                      rgba="0 1 0 0"/>
                <camera name="wrist" pos="0.04 0 {palm_z - hand_z - 0.02:.4f}"
                        xyaxes="0 -1 0 -1 0 0" fovy="70"/>
                <body name="crank" pos="0 0 0">
                  <joint name="gripper" axis="1 0 0" range="{rng('gripper')}"
                         armature="0.002" damping="0.05"/>
                  <geom type="sphere" size="0.004" contype="0" conaffinity="0" mass="0.001"
                        rgba="0 0 0 0"/>
                </body>
                <body name="finger_a" pos="0 0 {palm_z - hand_z:.4f}">
                  <joint name="finger_a" type="slide" axis="0 1 0"
                         range="-0.002 {finger_travel:.4f}" damping="2" armature="0.01"/>
                  <geom name="finger_a" type="box"
                        size="{g.finger_half_width_m} 0.005 {fing_len / 2}"
                        pos="0 {fx:.4f} {fing_len / 2}" material="dark"
                        friction="1.5 0.03 0.001"/>
                </body>
                <body name="finger_b" pos="0 0 {palm_z - hand_z:.4f}">
                  <joint name="finger_b" type="slide" axis="0 -1 0"
                         range="-0.002 {finger_travel:.4f}" damping="2" armature="0.01"/>
                  <geom name="finger_b" type="box"
                        size="{g.finger_half_width_m} 0.005 {fing_len / 2}"
                        pos="0 {-fx:.4f} {fing_len / 2}" material="dark"
                        friction="1.5 0.03 0.001"/>
                </body>
              </body>
            </body>
          </body>
        </body>
      </body>
    </body>
    <body name="cube" pos="{g.cube_x_m} {g.cube_y_m} {c}">
      <freejoint name="cube"/>
      <geom name="cube" type="box" size="{c} {c} {c}" mass="{g.cube_mass_kg}" material="cube"
            friction="1.5 0.03 0.001"/>
    </body>
  </worldbody>
  <equality>
    <joint joint1="finger_a" joint2="gripper" polycoef="0 {coef} 0 0 0" solref="0.004 1"/>
    <joint joint1="finger_b" joint2="gripper" polycoef="0 {coef} 0 0 0" solref="0.004 1"/>
  </equality>
  <actuator>
    <position name="shoulder_pan" joint="shoulder_pan" ctrlrange="{rng('shoulder_pan')}"/>
    <position name="shoulder_lift" joint="shoulder_lift" ctrlrange="{rng('shoulder_lift')}"/>
    <position name="elbow_flex" joint="elbow_flex" ctrlrange="{rng('elbow_flex')}"/>
    <position name="wrist_flex" joint="wrist_flex" ctrlrange="{rng('wrist_flex')}" kp="25"/>
    <position name="wrist_roll" joint="wrist_roll" ctrlrange="{rng('wrist_roll')}" kp="10"
              kv="0.5" forcerange="-3 3"/>
    <position name="gripper" joint="gripper" ctrlrange="{rng('gripper')}" kp="3" kv="0.05"
              forcerange="-1 1"/>
  </actuator>
</mujoco>
"""
