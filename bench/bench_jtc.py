"""What the controller executes, forward vs trajectory mode, on the sim arm (run by hand).

The scripted expert plays the policy (state feedback, one action per call like a state-only
BC checkpoint, or ``--chunk K`` rows easing from the measured pose to its target, like ACT)
behind ``deploy.PolicyController`` with a fixed inference latency, at the profile's 30 Hz.
Its commands reach a controller at ``--rates`` Hz whose setpoint drives the MuJoCo sim arm
(``slew_limit`` off, so the arm sees the setpoint as written):

* ``forward``: JointGroupPositionController, each Float64MultiArray applied at the first
  update after it arrives;
* ``trajectory``: ``deploy.jtc.JtcModel`` (JointTrajectoryController's rules, docs/jtc.md) fed
  the stitched messages policy_node publishes (``deploy.jtc.next_message``).

Messages arrive 0-4 ms after they are sent. Printed per mode and rate, over all episodes: the
setpoint's largest and p99 speed as a fraction of each joint's cap (largest over joints),
its RMS and p99 jerk (third difference / cycle^3, rad/s^3, largest over joints), the arm's
RMS jerk, the tracking error |setpoint - arm| (mean, p99, rad) and the lag of the setpoint
behind the policy's own command stream (|forward command - setpoint| mean, rad; 0 for
forward), and the expert's lift success. Asserts nothing.

    MUJOCO_GL=egl python bench/bench_jtc.py [--episodes 4] [--seconds 8] [--rates 100,500]
        [--latency 0.05] [--chunk 0]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MUJOCO_GL', 'egl')

import numpy as np  # noqa: E402

from imitation_ros.deploy import (  # noqa: E402
    ControllerConfig,
    DeferredWorker,
    PolicyController,
    SafetyConfig,
    SafetyFilter,
)
from imitation_ros.deploy.jtc import (  # noqa: E402
    JtcModel,
    TrajectoryStitcher,
    TrajMsg,
    next_message,
)
from imitation_ros.profile import OBS_STATE, load_profile  # noqa: E402
from imitation_ros.resources import config_path  # noqa: E402
from imitation_ros.sim.arm import ArmSim, task_sim_config  # noqa: E402
from imitation_ros.sim.expert import ScriptedExpert  # noqa: E402


class ExpertPolicy:
    """The scripted expert as a chunking policy (see module docstring)."""

    def __init__(self, sim: ArmSim, expert: ScriptedExpert, chunk: int) -> None:
        self.sim, self.expert, self.chunk = sim, expert, chunk
        self.n_action_steps = max(1, chunk // 2)

    def reset(self) -> None:
        pass

    def __call__(self, obs: dict) -> np.ndarray:
        q = np.asarray(obs[OBS_STATE], dtype=np.float64)
        tgt = self.expert.act(obs['task_state'], q, float(obs['t']))
        if self.chunk <= 1:
            return tgt[None, :]
        a = np.minimum(1.0, (np.arange(self.chunk) + 1) / (self.chunk / 2))[:, None]
        return q + a * (tgt - q)


def run(mode: str, rate_hz: float, seed: int, args: argparse.Namespace) -> dict[str, np.ndarray]:
    profile = load_profile(config_path('sim_arm.yaml'))
    names = tuple(profile.joint_names)
    sim = ArmSim(profile, task_sim_config(slew_limit=False))
    sim.reset(seed)
    expert = ScriptedExpert(sim.geometry, names, seed=seed)
    expert.reset(seed)
    period, tc = 1.0 / profile.fps, 1.0 / rate_hz
    safety = SafetyFilter.from_profile(profile, SafetyConfig(max_lead_rad=0.5), period_s=period)
    worker = DeferredWorker(ExpertPolicy(sim, expert, args.chunk), latency_s=args.latency)
    ctl = PolicyController(worker.policy, safety, worker=worker, config=ControllerConfig(
        period_s=period, enable_ramp_s=1.0, latency_margin_s=0.01, max_plan_age_s=1.0))
    st = TrajectoryStitcher(safety, period_s=period, controller_period_s=tc, max_lead_rad=0.5)
    rng = np.random.default_rng(seed)
    model = JtcModel(names, sim.joint_positions())
    cmd = sim.joint_positions()
    pending: list[tuple[float, object]] = []
    t, n_tick, fwd_cmd = 0.0, 0, sim.joint_positions()
    rec: dict[str, list] = {'sp': [], 'arm': [], 'fwd': []}
    while t < args.seconds:
        if t >= n_tick * period - 1e-9:          # the node's tick (before this update)
            q = sim.joint_positions()
            obs = {OBS_STATE: q, 'task_state': sim.task_state(), 't': t}
            res = ctl.tick(t, obs, t, trajectory=mode == 'trajectory')
            arrive = t + float(rng.uniform(0.0, 0.004))
            if res.verdict.command is not None:
                fwd_cmd = res.verdict.command
            if mode == 'forward' and res.verdict.command is not None:
                pending.append((arrive, res.verdict.command.copy()))
            elif mode == 'trajectory':
                out = next_message(st, t, q, res.verdict.command, res.traj_offsets_s,
                                   res.traj_points, hold=res.verdict.action == 'hold')
                if out is not None:
                    pending.append((arrive, TrajMsg(names, out[0], out[1], out[2])))
            n_tick += 1
        for item in [p for p in pending if p[0] <= t]:
            pending.remove(item)
            if mode == 'forward':
                cmd = item[1]
            else:
                model.receive(item[1], item[0])
        if mode == 'trajectory':
            cmd = model.update(t)
        sim.set_command(cmd)
        sim.advance(tc)
        rec['sp'].append(np.asarray(cmd, dtype=np.float64).copy())
        rec['arm'].append(sim.joint_positions())
        rec['fwd'].append(np.asarray(fwd_cmd, dtype=np.float64).copy())
        t += tc
    out = {k: np.array(v) for k, v in rec.items()}
    out['success'] = np.array([sim.success()])
    return out


def _jerk(x: np.ndarray, dt: float) -> np.ndarray:
    return np.abs(np.diff(x, n=3, axis=0)) / dt**3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--episodes', type=int, default=4)
    ap.add_argument('--seconds', type=float, default=8.0)
    ap.add_argument('--rates', default='100,500')
    ap.add_argument('--latency', type=float, default=0.05)
    ap.add_argument('--chunk', type=int, default=0)
    args = ap.parse_args()
    vmax = np.array(load_profile(config_path('sim_arm.yaml')).limits.max_velocity_rad_s)
    what = 'one action' if args.chunk <= 1 else f'chunks of {args.chunk}'
    print(f'policy: scripted expert, {what} per call, latency {args.latency * 1e3:.0f} ms, '
          f'node 30 Hz, {args.episodes} episodes x {args.seconds} s')
    print(f'{"mode":<11}{"Hz":>5}{"speed max":>10}{"p99":>6}{"jerk rms":>10}{"p99":>9}'
          f'{"arm jerk":>10}{"track mean":>11}{"p99":>7}{"lag mean":>9}{"lifted":>8}')
    for rate in [float(r) for r in args.rates.split(',')]:
        tc = 1.0 / rate
        for mode in ('forward', 'trajectory'):
            runs = [run(mode, rate, 1000 + e, args) for e in range(args.episodes)]
            speed = np.concatenate([np.abs(np.diff(r['sp'], axis=0)) / (vmax * tc)
                                    for r in runs])
            jerk = np.concatenate([_jerk(r['sp'], tc) for r in runs])
            arm_jerk = np.concatenate([_jerk(r['arm'], tc) for r in runs])
            track = np.concatenate([np.abs(r['sp'] - r['arm']) for r in runs])
            lag = np.concatenate([np.abs(r['fwd'] - r['sp']) for r in runs])
            ok = sum(bool(r['success'][0]) for r in runs)
            print(f'{mode:<11}{rate:>5.0f}{speed.max():>10.2f}'
                  f'{np.percentile(speed.max(1), 99):>6.2f}'
                  f'{np.sqrt((jerk**2).mean(0)).max():>10.0f}'
                  f'{np.percentile(jerk.max(1), 99):>9.0f}'
                  f'{np.sqrt((arm_jerk**2).mean(0)).max():>10.0f}'
                  f'{track.max(1).mean():>11.4f}{np.percentile(track.max(1), 99):>7.3f}'
                  f'{lag.max(1).mean():>9.4f}{ok:>5}/{len(runs)}')


if __name__ == '__main__':
    main()
