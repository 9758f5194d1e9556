"""Control-loop timing with a policy inferring on the CPU: our async controller vs lerobot's way.

For ACT and Diffusion (default architectures, trained a few steps on a synthetic dataset with
the sim arm's features: the weights do not matter for timing) and each control rate, two
wall-clock loops run for ``--seconds``:

* ``inline``: lerobot's way, ``policy.select_action(obs)`` in the loop (it runs the model
  every ``n_action_steps`` calls and pops its queue otherwise), then the command;
* ``thread``: ``deploy.PolicyController`` with a ``ThreadWorker`` (policy_node's default);
* ``process``: the same controller with a ``ProcessWorker`` (``inference_worker:=process``:
  the forward pass in a child process, no GIL shared with the control loop).

Both see the same synthetic observation (state = the last command, a random image). Printed
per policy and rate: the error of the interval between consecutive commands sent (what the
arm sees) against the period, |interval - period| p50/p99/max (ms), stalls (intervals over
1.5 periods), no-action ticks (the controller had no row for the tick's time: it held the
last command; inline's equivalent is an interval stall), and the inline/thread and
inline/process ratios of p99; first, the same loop with no policy (the
machine's own timer jitter, the floor of both). Then the largest joint step at chunk
seams, on a simulated clock with the measured latency, blended (``--blend-steps``) vs not.
Asserts nothing.

    OMP_NUM_THREADS=1 python bench/bench_deploy_latency.py [--rates 30,50] [--seconds 6]
        [--policies act,diffusion] [--out runs/bench_deploy]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np  # noqa: E402


#: Benchmarked variants: name -> (policy type, config overrides). Our Diffusion preset
#: (horizon 16, DDIM 10 steps) predicts 15 rows from the current observation: 0.5 s at
#: 30 Hz, less than twice its CPU latency here, so ticks without a row are unavoidable with one
#: forward pass in flight. ``diffusion-h32`` predicts twice as far (``train --policy diffusion
#: --set horizon=32 --set n_action_steps=16``).
VARIANTS = {
    'act': ('act', {}),
    'diffusion': ('diffusion', {}),
    'diffusion-h32': ('diffusion', {'horizon': 32, 'n_action_steps': 16}),
}


def _checkpoint(out: Path, name: str, profile) -> Path:  # noqa: ANN001
    from imitation_ros.learn import TrainConfig, train
    from imitation_ros.learn.synthetic import make_synthetic_dataset

    ds = out / 'synthetic'
    if not (ds / 'meta' / 'info.json').is_file():
        make_synthetic_dataset(ds, profile, n_episodes=3, n_frames=30)
    policy, overrides = VARIANTS[name]
    run = out / name
    if not (run / 'checkpoints' / 'last').exists():
        train(TrainConfig(dataset=ds, policy=policy, output_dir=run, steps=3, batch_size=4,
                          val_every=3, save_every=3, device='cpu', progress=False,
                          policy_overrides=overrides))
    return run


class Obs:
    """A synthetic observation: state = last command (a perfect follower), a noisy image."""

    def __init__(self, runner, rng: np.random.Generator) -> None:  # noqa: ANN001
        self.state = np.zeros(runner.action_dim, dtype=np.float32)
        self.images = {}
        for key in runner.image_keys:
            c, h, w = runner.config.image_features[key].shape
            self.images[key] = rng.integers(0, 255, (h, w, c), dtype=np.uint8)

    def dict(self) -> dict:
        from imitation_ros.profile.keys import OBS_STATE

        return {OBS_STATE: self.state.copy(), **self.images}


def _period_stats(starts: list[float], period: float) -> dict[str, float]:
    iv = np.diff(np.array(starts))
    err = np.abs(iv - period) * 1e3
    return {'p50': float(np.percentile(err, 50)), 'p99': float(np.percentile(err, 99)),
            'max': float(err.max()), 'stalls': int(np.sum(iv > 1.5 * period)), 'n': len(iv)}


def _loop(tick, period: float, seconds: float) -> list[float]:  # noqa: ANN001
    """Run ``tick`` on an absolute schedule; return the times the commands went out."""
    sent = []
    t0 = time.perf_counter()
    n = int(seconds / period)
    for i in range(n):
        delay = t0 + i * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        tick(time.perf_counter() - t0)
        sent.append(time.perf_counter())      # the command is published when tick returns
    return sent


def run_inline(runner, period: float, seconds: float, rng) -> dict[str, float]:  # noqa: ANN001
    """lerobot's way: select_action in the loop."""
    import torch

    from imitation_ros.profile.keys import OBS_STATE

    obs = Obs(runner, rng)
    runner.policy.reset()

    def tick(_t: float) -> None:
        raw = obs.dict()
        batch = {OBS_STATE: torch.from_numpy(raw[OBS_STATE])[None]}
        for key in runner.image_keys:
            batch[key] = torch.from_numpy(raw[key]).permute(2, 0, 1)[None].float() / 255
        with torch.inference_mode():
            b = runner.preprocessor(batch)
            act = runner.postprocessor(runner.policy.select_action(b))
        obs.state = act[0].float().numpy()

    return _period_stats(_loop(tick, period, seconds), period)


def run_async(runner, profile, period: float, seconds: float, rng,  # noqa: ANN001
              worker=None) -> dict[str, float]:  # noqa: ANN001
    """Our controller with a worker thread (default) or the given worker."""
    from imitation_ros.deploy import (
        ControllerConfig,
        PolicyController,
        SafetyConfig,
        SafetyFilter,
        ThreadWorker,
    )

    obs = Obs(runner, rng)
    ctl = PolicyController(runner, SafetyFilter.from_profile(
        profile, SafetyConfig(stale_obs_s=1.0), period_s=period),
        worker=worker or ThreadWorker(runner),
        config=ControllerConfig(period_s=period, latency_margin_s=period))

    def tick(t: float) -> None:
        v = ctl.tick(t, obs.dict(), t).verdict
        if v.command is not None:
            obs.state = v.command.astype(np.float32)

    try:
        stats = _period_stats(_loop(tick, period, seconds), period)
    finally:
        ctl.close()
    stats.update(latency_p50=ctl.latency.p50 * 1e3, latency_p99=ctl.latency.p99 * 1e3,
                 run_stalls=ctl.stalls)
    return stats


def seam_steps(runner, profile, period: float, latency_s: float, blend: int,  # noqa: ANN001
               rng, ticks: int = 300) -> tuple[float, float, int]:
    """(largest step at seams, largest step elsewhere, seams) on a simulated clock."""
    from imitation_ros.deploy import (
        ControllerConfig,
        DeferredWorker,
        PolicyController,
        SafetyConfig,
        SafetyFilter,
    )

    obs = Obs(runner, rng)
    ctl = PolicyController(runner, SafetyFilter.from_profile(
        profile, SafetyConfig(stale_obs_s=1.0), period_s=period),
        worker=DeferredWorker(runner, latency_s=latency_s),
        config=ControllerConfig(period_s=period, blend_steps=blend, latency_margin_s=period))
    for i in range(ticks):
        t = i * period
        v = ctl.tick(t, obs.dict(), t).verdict
        if v.command is not None:     # a first-order follower: the state lags the command
            obs.state = (obs.state + 0.5 * (v.command - obs.state)).astype(np.float32)
    sent = ctl.ticks - sum(ctl.holds.values())
    return (ctl.max_seam_step_rad, ctl.max_step_rad, ctl.seams, sent,
            ctl.mean_step(seam=True), ctl.mean_step(seam=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--policies', default='act,diffusion,diffusion-h32',
                        help=f'comma-separated, of {sorted(VARIANTS)}')
    parser.add_argument('--rates', default='30,50')
    parser.add_argument('--seconds', type=float, default=6.0)
    parser.add_argument('--blend-steps', type=int, default=3)
    parser.add_argument('--out', default='runs/bench_deploy')
    args = parser.parse_args()

    from functools import partial

    import torch

    from imitation_ros.deploy import ProcessWorker
    from imitation_ros.learn.inference import load_policy
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import config_path

    torch.set_num_threads(1)
    profile = load_profile(config_path('sim_arm.yaml'))
    out = Path(args.out)
    rates = [float(r) for r in args.rates.split(',')]
    rows, seams = [], []
    idle = {hz: _period_stats(_loop(lambda _t: None, 1 / hz, args.seconds), 1 / hz)
            for hz in rates}                          # the machine's own timer jitter
    for name in args.policies.split(','):
        run = _checkpoint(out, name, profile)
        runner = load_policy(run, device='cpu')
        for hz in rates:
            period = 1.0 / hz
            inline = run_inline(runner, period, args.seconds, np.random.default_rng(0))
            asyn = run_async(runner, profile, period, args.seconds, np.random.default_rng(0))
            proc = run_async(runner, profile, period, args.seconds, np.random.default_rng(0),
                             worker=ProcessWorker(partial(load_policy, run, device='cpu')))
            rows.append((name, hz, inline, asyn, proc))
            print(f'{name} {hz:.0f} Hz: inline p99 {inline["p99"]:.2f} ms, thread p99 '
                  f'{asyn["p99"]:.2f} ms, process p99 {proc["p99"]:.2f} ms (latency p50 '
                  f'{asyn["latency_p50"]:.0f} / {proc["latency_p50"]:.0f} ms)', flush=True)
        lat = max(r[3]['latency_p99'] for r in rows if r[0] == name) / 1e3
        period = 1.0 / rates[0]
        hard = seam_steps(runner, profile, period, lat, 0, np.random.default_rng(1))
        soft = seam_steps(runner, profile, period, lat, args.blend_steps,
                          np.random.default_rng(1))
        seams.append((name, lat, hard, soft))

    print(f'\ncommand interval error |interval - period|, ms (CPU, 1 torch thread, '
          f'{args.seconds:.0f} s per loop); stalls = intervals > 1.5 periods')
    print(f'{"policy":16} {"Hz":>3} | {"inline p50":>10} {"p99":>7} {"stalls":>6} | '
          f'{"thread p50":>10} {"p99":>6} {"stalls":>6} {"no-act":>6} {"lat p50/p99":>11} | '
          f'{"process p50":>11} {"p99":>6} {"stalls":>6} {"no-act":>6} {"lat p50/p99":>11} | '
          f'{"p99 ratio inline/thread, /process":>33}')
    for hz, a in idle.items():
        print(f'{"(no policy)":16} {hz:3.0f} | {a["p50"]:10.2f} {a["p99"]:7.2f} '
              f'{a["stalls"]:6d} |   the loop alone: this machine\'s timer jitter (the floor)')
    for name, hz, a, b, c in rows:
        print(f'{name:16} {hz:3.0f} | {a["p50"]:10.2f} {a["p99"]:7.2f} {a["stalls"]:6d} | '
              f'{b["p50"]:10.2f} {b["p99"]:6.2f} {b["stalls"]:6d} {b["run_stalls"]:6d} '
              f'{b["latency_p50"]:5.0f}/{b["latency_p99"]:<5.0f} | '
              f'{c["p50"]:11.2f} {c["p99"]:6.2f} {c["stalls"]:6d} {c["run_stalls"]:6d} '
              f'{c["latency_p50"]:5.0f}/{c["latency_p99"]:<5.0f} | '
              f'{a["p99"] / max(b["p99"], 1e-3):16.1f} {a["p99"] / max(c["p99"], 1e-3):16.1f}')
    print('(ticks per loop: ' + ', '.join(f'{hz:.0f} Hz {a["n"] + 1}' for hz, a in idle.items())
          + '; a policy whose chunk covers less time than twice its latency cannot avoid '
          'no-action ticks with one forward pass in flight)')
    print(f'\nlargest joint step at chunk seams (simulated clock, measured p99 latency, '
          f'{1 / period:.0f} Hz), rad; the velocity cap bounds both')
    print(f'{"policy":16} {"latency ms":>10} | {"max: hard":>9} {"blended":>8} {"ratio":>6} | '
          f'{"mean: hard":>10} {"blended":>8} {"other steps":>11} | {"seams":>6}')
    for name, lat, hard, soft in seams:
        if not soft[3]:
            print(f'{name:16} {lat * 1e3:10.0f} | every chunk arrived after its last row: '
                  'nothing to execute (the chunk is shorter than the latency)')
            continue
        print(f'{name:16} {lat * 1e3:10.0f} | {hard[0]:9.4f} {soft[0]:8.4f} '
              f'{hard[0] / max(soft[0], 1e-9):6.2f} | {hard[4]:10.4f} {soft[4]:8.4f} '
              f'{hard[5]:11.4f} | {soft[2]:6d}')


if __name__ == '__main__':
    main()
