"""Speed of the simulated arm: physics, rendering, and the sim node's loop vs real time.

    MUJOCO_GL=egl python bench/bench_sim_speed.py [--seconds 10]

Lines printed (value | anchor | ratio | device):
- physics: ArmSim.advance (slew limit + mj_step per 2 ms step) vs bare mujoco.mj_step on the
  same model, in steps/s, and as a multiple of real time (500 steps/s);
- render: ArmSim.render at the profile's camera size (no anti-aliasing, shadows,
  reflections) vs MuJoCo's default visual settings, frames/s;
- node loop: SimRunner at the default rates (joint states 100 Hz, camera 30 Hz, clock 100 Hz,
  task state 100 Hz, success 10 Hz) building every message the node publishes (DDS-
  backend message classes, no DDS), as a real-time factor (sim s per wall s) vs real time (1.0).
Asserts nothing. One thread; the machine may be shared, so read ratios, not absolutes.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('OMP_NUM_THREADS', '1')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=10.0, help='sim seconds per metric')
    args = parser.parse_args()

    import mujoco

    from imitation_ros.messages.codecs import fill_image, fill_joint_state
    from imitation_ros.messages.runtime import msg_class
    from imitation_ros.sim import ArmSim, load_profile_for_sim
    from imitation_ros.sim.model import build_mjcf
    from imitation_ros.sim.runner import SimRunner

    profile = load_profile_for_sim()
    sim = ArmSim(profile)
    n_steps = int(args.seconds / sim.physics_dt_s)
    cam = profile.cameras[0]

    # physics
    sim.reset(0)
    t0 = time.perf_counter()
    sim.advance(args.seconds)
    ours = n_steps / (time.perf_counter() - t0)
    m, d = sim.model, sim.data
    t0 = time.perf_counter()
    for _ in range(n_steps):
        mujoco.mj_step(m, d)
    bare = n_steps / (time.perf_counter() - t0)
    rt = 1.0 / sim.physics_dt_s
    print(f'physics ArmSim.advance {ours:,.0f} steps/s ({ours / rt:.0f}x real time) | '
          f'bare mj_step {bare:,.0f} steps/s ({bare / rt:.0f}x real time) | '
          f'{ours / bare:.2f}x | cpu')

    # rendering
    frames = 200
    sim.reset(0)
    sim.render()
    t0 = time.perf_counter()
    for _ in range(frames):
        sim.render()
    fast = frames / (time.perf_counter() - t0)
    dm = mujoco.MjModel.from_xml_string(build_mjcf(profile).replace(
        '<quality shadowsize="0" offsamples="0"/>', '').replace('castshadow="false"', ''))
    dd = mujoco.MjData(dm)
    mujoco.mj_forward(dm, dd)
    with mujoco.Renderer(dm, height=cam.height, width=cam.width) as r:
        r.update_scene(dd, camera=cam.name)
        r.render()
        t0 = time.perf_counter()
        for _ in range(frames // 4):
            r.update_scene(dd, camera=cam.name)
            r.render()
        default = (frames // 4) / (time.perf_counter() - t0)
    print(f'render {cam.height}x{cam.width} no AA/shadows {fast:,.0f} fps | MuJoCo defaults '
          f'{default:,.0f} fps | {fast / default:.1f}x | cpu ({os.environ["MUJOCO_GL"]})')

    # node loop at default rates, with message building
    joint_state = msg_class('sensor_msgs/msg/JointState')
    image = msg_class('sensor_msgs/msg/Image')
    rates = {'joint_states': 100.0, 'camera': 30.0, 'clock': 100.0, 'success': 10.0}
    runner = SimRunner(sim, rates, seed=0, max_catch_up_s=1e9)
    built = {'js': 0, 'img': 0}

    def emit(t_s, names):
        ns = int(t_s * 1e9)
        if 'joint_states' in names:
            fill_joint_state(joint_state(), sim.joint_names,
                             sim.joint_positions(), ns, velocity=sim.joint_velocities())
            sim.task_state()
            built['js'] += 1
        if 'camera' in names:
            fill_image(image(), sim.render(cam.name), ns, 'front')
            built['img'] += 1
        if 'success' in names:
            sim.success()

    q = sim.target
    t0 = time.perf_counter()
    wall = 0.0
    runner.run_until(0.0, emit)
    while runner.time_s < args.seconds:
        wall += 0.01                      # a 100 Hz timer, as fast as the CPU allows
        runner.command(q, source='bench')
        runner.run_until(wall, emit)
    spent = time.perf_counter() - t0
    rtf = runner.time_s / spent
    print(f'node loop at default rates {rtf:.1f}x real time ({built["js"]} joint states, '
          f'{built["img"]} images in {spent:.2f} s wall) | real time 1.0x | {rtf:.1f}x | cpu')
    sim.close()


if __name__ == '__main__':
    main()
