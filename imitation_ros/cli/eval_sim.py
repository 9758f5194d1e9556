"""``imitation-ros eval-sim``: closed-loop success rate of a checkpoint on the simulated arm.

The policy runs as the policy node runs it (``deploy.PolicyController``: worker, latency-driven
requests, seams, safety filter). ``--timing faithful`` keeps the simulator running while the
policy infers (its chunk arrives after the measured compute time x ``--time-scale``, or after
``--latency-s``) and hands the controller observations ``--obs-delay-s`` old;
``stop-the-world`` freezes the simulator during every forward pass (the optimistic number);
``both`` (default) reports the two on the same seeds. ``--through-node`` also runs
``sim_node`` and ``policy_node`` as processes on the graph (what a robot runs) and counts
``/sim/success`` (``--timing none`` with it: only that). ``--baselines`` adds the scripted
expert and blind replay of the demos' mean action trajectory on the same seeds.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``eval-sim`` subcommand."""
    p = sub.add_parser(
        'eval-sim', help='success rate of a trained policy on the simulated arm (closed loop)',
        description=__doc__.split('\n\n', 1)[1])
    p.add_argument('checkpoint', help='training output folder, checkpoint or pretrained_model')
    p.add_argument('--profile', default='sim_arm.yaml', help='robot profile (default sim_arm)')
    p.add_argument('--episodes', type=int, default=20)
    p.add_argument('--first-seed', type=int, default=10_000,
                   help='episode seeds start here (demos use seeds from 0: keep them apart)')
    p.add_argument('--duration-s', type=float, default=8.0, help='episode length, s')
    p.add_argument('--task', default='lift_cube', choices=('lift_cube', 'lift_cube_wide'),
                   help='cube task variant (lift_cube_wide: the cube anywhere in 12 x 12 cm)')
    p.add_argument('--cube-jitter', type=float, default=None,
                   help='lift_cube: cube start +- this in x and y, m (default the sim\'s 0.02)')
    p.add_argument('--timing', choices=('faithful', 'stop-the-world', 'both', 'none'),
                   default='both',
                   help='in process: simulator runs on while the policy infers (faithful), '
                        'waits for it (stop-the-world), both on the same seeds (default), '
                        'or none (with --through-node: only the nodes)')
    p.add_argument('--latency-s', type=float, default=None,
                   help='faithful: fixed inference latency, s (default: measured compute time)')
    p.add_argument('--time-scale', type=float, default=1.0,
                   help='faithful: sim seconds per second of compute (a slower or faster '
                        'computer than this one); default 1')
    p.add_argument('--obs-delay-s', type=float, default=None,
                   help='faithful: observation age at the controller, s (default one period)')
    p.add_argument('--blend-steps', type=int, default=3, help='seam crossfade, periods')
    p.add_argument('--max-step-rad', type=float, default=0.0,
                   help='extra step cap per period, rad (0: the profile velocity limit only)')
    p.add_argument('--max-lead-rad', type=float, default=0.5,
                   help='target at most this far from the measured position, rad (0 = off); '
                        'the policy node\'s default')
    p.add_argument('--enable-ramp-s', type=float, default=1.0,
                   help='each episode ramps in from the arm\'s pose over this long, s')
    p.add_argument('--ensemble-coeff', type=float, default=None,
                   help='ACT temporal ensembling weight (default off)')
    p.add_argument('--baselines', action='store_true',
                   help='also the scripted expert and blind replay of the demos on the seeds')
    p.add_argument('--dataset', default=None,
                   help='demos for blind replay (default: the dataset the checkpoint names)')
    p.add_argument('--through-node', action='store_true',
                   help='also run sim_node and policy_node as processes on the graph (DDS on '
                        'loopback) and count successes from /sim/success')
    p.add_argument('--node-logs', default='runs/eval_sim_nodes',
                   help='--through-node: folder of the nodes\' logs')
    p.add_argument('--device', default='cpu')
    p.add_argument('--json', dest='json_out', help='also write the results to this JSON file')
    p.set_defaults(func=_run)


def _summary_json(summary: Any) -> dict[str, Any]:
    return {'success_rate': summary.success_rate, 'successes': summary.successes,
            'episodes': summary.n,
            'results': [{'seed': r.seed, 'success': r.success, 'max_lift_m': r.max_lift_m,
                         'clamped': r.clamped} for r in summary.results]}


def _run(args: argparse.Namespace) -> int:
    from imitation_ros.deploy.rollout import (
        RolloutConfig,
        evaluate_baselines,
        evaluate_checkpoint,
        load_checked,
    )
    from imitation_ros.deploy.safety import SafetyConfig
    from imitation_ros.profile import load_profile
    from imitation_ros.resources import resolve_config

    from imitation_ros.deploy.rollout import check_task
    from imitation_ros.errors import ConfigError

    profile = load_profile(resolve_config(args.profile))
    seeds = range(args.first_seed, args.first_seed + args.episodes)
    timings = {'both': ['stop_the_world', 'faithful'], 'none': []}.get(
        args.timing, [args.timing.replace('-', '_')])
    check_task(args.task, args.cube_jitter)
    if not timings and not args.through_node:
        msg = 'eval-sim: --timing none leaves nothing to run without --through-node'
        raise ConfigError(msg)
    runner = load_checked(args.checkpoint, profile, args.device)
    obs_delay = 1.0 / profile.fps if args.obs_delay_s is None else args.obs_delay_s
    out: dict[str, Any] = {'checkpoint': str(args.checkpoint), 'seeds': [seeds.start,
                                                                          seeds.stop - 1]}
    rows = []
    for timing in timings:
        cfg = RolloutConfig(episodes=args.episodes, first_seed=args.first_seed,
                            duration_s=args.duration_s, device=args.device,
                            ensemble_coeff=args.ensemble_coeff, timing=timing,
                            latency_s=args.latency_s, time_scale=args.time_scale,
                            obs_delay_s=obs_delay, blend_steps=args.blend_steps,
                            cube_jitter_m=args.cube_jitter, task=args.task,
                            enable_ramp_s=args.enable_ramp_s,
                            safety=SafetyConfig(max_step_rad=args.max_step_rad,
                                                max_lead_rad=args.max_lead_rad))
        rep = evaluate_checkpoint(args.checkpoint, profile, cfg, progress=True, runner=runner)
        s = rep.summary
        rows.append((timing, s.successes, s.n, rep.stats))
        out[timing] = {**_summary_json(s), 'controller': rep.stats}
    if args.through_node:
        from imitation_ros.cli.eval_node import evaluate_through_node

        pairs = evaluate_through_node(
            str(Path(args.checkpoint).resolve()), profile=args.profile, seeds=seeds,
            duration_s=args.duration_s, device=args.device, cube_jitter_m=args.cube_jitter,
            task=args.task,
            policy_params={'blend_steps': args.blend_steps, 'max_step_rad': args.max_step_rad,
                           'max_lead_rad': args.max_lead_rad,
                           'enable_ramp_s': args.enable_ramp_s,
                           'ensemble_coeff': -1.0 if args.ensemble_coeff is None
                           else args.ensemble_coeff},
            log_dir=Path(args.node_logs))
        ok = sum(s for _, s in pairs)
        rows.append(('through_node', ok, len(pairs), {}))
        out['through_node'] = {'success_rate': ok / len(pairs), 'successes': ok,
                               'episodes': len(pairs),
                               'results': [{'seed': sd, 'success': s} for sd, s in pairs]}
    if args.baselines:
        dataset = args.dataset or runner.run_info.get('dataset')
        if dataset and not Path(dataset).is_dir():
            dataset = None
        for name, s in evaluate_baselines(profile, seeds, duration_s=args.duration_s,
                                          dataset=dataset,
                                          cube_jitter_m=args.cube_jitter,
                                          task=args.task).items():
            rows.append((name, s.successes, s.n, {}))
            out[name] = _summary_json(s)
    print(f'{args.checkpoint}, seeds {seeds.start}..{seeds.stop - 1}:')
    print(f'{"run":16} {"success":>9} {"rate":>5}  {"lat p50/p99 ms":>15} {"seams":>5} '
          f'{"stalls":>6} {"holds":>5}')
    for name, ok, n, st in rows:
        lat = (f'{st["latency_p50_ms"]:.0f}/{st["latency_p99_ms"]:.0f}' if st else '')
        holds = sum(v for k, v in st.items() if k.startswith('hold_')) if st else ''
        print(f'{name:16} {ok:>4}/{n:<4} {ok / n:5.0%}  {lat:>15} {st.get("seams", ""):>5} '
              f'{st.get("stalls", ""):>6} {holds:>5}')
    # The headline: through the nodes when run (what a robot runs), else latency-faithful.
    head = next(k for k in ('through_node', 'faithful', 'stop_the_world') if k in out)
    main = out[head]
    print(f'success rate: {main["successes"]}/{main["episodes"]} = {main["success_rate"]:.0%} '
          f'({head.replace("_", " ")})')
    out['headline'] = head
    if args.json_out:      # top level: the headline run
        out.update({k: main[k] for k in ('success_rate', 'successes', 'episodes', 'results')})
        Path(args.json_out).write_text(json.dumps(out, indent=2))
    return 0
