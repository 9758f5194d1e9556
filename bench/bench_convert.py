"""Benchmark: bag -> LeRobotDataset conversion speed on a 3-camera 640x480 bag.

Generates a synthetic bag (3 raw rgb8 cameras at 640x480 / 30 Hz, joint state 100 Hz, action
50 Hz; default 10 s), then measures, in this process, on the same data:

1. ``convert_bags`` (read, align, decode, write through lerobot, merge, quality report);
2. the anchor: lerobot's writer alone (``LeRobotDataset.create``/``add_frame``/
   ``save_episode``/``finalize``) fed the same decoded frames, already in memory.

Both are run with lerobot's default PNG-then-encode path and with its streaming encoder
(``--streaming-encoding``). Prints frames/s of both sides, their ratio, and conversion speed
against real time (best of ``--rounds`` alternating runs: the machine is shared).

Usage::

    python bench/bench_convert.py [--seconds 10] [--rounds 2] [--vcodec libsvtav1] [--compressed]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('HF_HUB_OFFLINE', '1')


def main() -> None:
    """Run the benchmark and print one line per metric."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=10.0, help='bag length, s')
    parser.add_argument('--vcodec', default='libsvtav1')
    parser.add_argument('--compressed', action='store_true',
                        help='cameras as CompressedImage (jpeg) instead of raw rgb8')
    parser.add_argument('--rounds', type=int, default=2, help='runs per side (best is kept)')
    parser.add_argument('--keep', action='store_true', help='keep the temporary folder')
    args = parser.parse_args()

    import torch

    from imitation_ros.data.align import align_bag, stream_span
    from imitation_ros.data.bags import scan_bag
    from imitation_ros.data.convert import ConvertOptions, convert_bags
    from imitation_ros.data.episodes import cut_episodes
    from imitation_ros.data.synthetic import SynthStream, synthetic_profile, write_synthetic_bag
    from imitation_ros.data.writer import _wait_for_encoder, create_dataset, iter_frames
    from imitation_ros.frames import FrameAssembler
    from imitation_ros.profile.keys import ACTION, OBS_STATE, TASK

    torch.set_num_threads(1)
    # import lerobot (and matplotlib, used by the report) before timing either side
    import lerobot.datasets.aggregate  # noqa: F401
    import lerobot.datasets.lerobot_dataset  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    device = 'cpu'
    cam_type = 'sensor_msgs/msg/CompressedImage' if args.compressed else 'sensor_msgs/msg/Image'
    cams = {name: (f'/{name}/image' + ('/compressed' if args.compressed else ''), cam_type)
            for name in ('front', 'wrist', 'top')}
    profile = synthetic_profile(fps=30.0, cameras=cams, size=(480, 640), max_age_s=0.05)
    enc = 'jpeg' if args.compressed else 'rgb8'
    streams = {topic: SynthStream(rate_hz=30.0, phase_s=0.002 * i, encoding=enc)
               for i, (topic, _) in enumerate(cams.values())}
    work = Path(tempfile.mkdtemp(prefix='bench_convert_'))
    try:
        t0 = time.perf_counter()
        bag = write_synthetic_bag(work / 'bag', profile, duration_s=args.seconds,
                                  streams=streams).path
        size_mb = sum(f.stat().st_size for f in bag.iterdir()) / 1e6
        print(f'bag: {args.seconds:g} s, 3 x 640x480 {enc} @ 30 Hz, {size_mb:.0f} MB, '
              f'written in {time.perf_counter() - t0:.1f} s')

        # the same decoded frames, in memory, for the anchor (not timed)
        asm = FrameAssembler(profile)
        t0 = time.perf_counter()
        scan = scan_bag(bag, asm)
        (aligned,) = align_bag(scan, asm, cut_episodes([], None, *stream_span(scan), 'b'),
                               profile.fps)
        t_align = time.perf_counter() - t0
        t0 = time.perf_counter()
        decoded = [imgs for _, _, imgs in iter_frames(bag, asm, [aligned])]
        t_decode = time.perf_counter() - t0
        frames = len(decoded)

        def ours(streaming: bool, run: int) -> float:
            t0 = time.perf_counter()
            summary = convert_bags([bag], profile, work / f'ours{run}', ConvertOptions(
                vcodec=args.vcodec, streaming_encoding=streaming))
            assert summary.frames == frames, (summary.frames, frames)
            return time.perf_counter() - t0

        def anchor(streaming: bool, run: int) -> float:
            t0 = time.perf_counter()
            ds = create_dataset(work / f'anchor{run}', 'local/anchor', profile.fps,
                                profile.features(), vcodec=args.vcodec,
                                streaming_encoding=streaming)
            for f, imgs in enumerate(decoded):
                frame = {OBS_STATE: aligned.state[f], ACTION: aligned.action[f], TASK: 'b'}
                frame.update(imgs)
                if streaming:
                    _wait_for_encoder(ds)
                ds.add_frame(frame)
            ds.save_episode()
            ds.finalize()
            return time.perf_counter() - t0

        # alternate the two sides and keep each one's best run (shared, noisy machine)
        run = 0
        for streaming in (False, True):
            best = {'ours': float('inf'), 'anchor': float('inf')}
            for _ in range(args.rounds):
                for name, fn in (('ours', ours), ('anchor', anchor)):
                    run += 1
                    best[name] = min(best[name], fn(streaming, run))
            label = ' --streaming-encoding' if streaming else ''
            w = ' (streaming encoder)' if streaming else ''
            f_o, f_a = frames / best['ours'], frames / best['anchor']
            print(f'convert{label} {f_o:.1f} frames/s | lerobot writer alone{w} {f_a:.1f} '
                  f'frames/s | {f_o / f_a:.2f}x | {device}')
            print(f'convert{label} {args.seconds / best["ours"]:.2f}x real time '
                  f'({best["ours"]:.1f} s for {args.seconds:g} s of recording) | lerobot '
                  f'writer alone{w} {args.seconds / best["anchor"]:.2f}x real time '
                  f'({best["anchor"]:.1f} s) | {device}')
        print(f'parts: scan+align {t_align:.2f} s, decode {frames * 3} images '
              f'{t_decode:.2f} s, {frames} frames, vcodec {args.vcodec}, best of '
              f'{args.rounds} runs each')
    finally:
        if args.keep:
            print(f'kept {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
