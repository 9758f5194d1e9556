"""A small recorded-and-converted dataset with known flaws, for the review's tests and docs.

:func:`write_review_demo` writes one synthetic recorder bag (two cameras, 10 Hz, five
episodes) and converts it with every episode kept, so the review has something to flag:

====  =========  ===================================================================
ep    status     what is wrong
====  =========  ===================================================================
0     success    nothing
1     success    a person took over for 0.6 s (DAgger intervention)
2     failed     the operator marked it failed
3     success    the front camera stopped for 0.5 s (dropped frames)
4     success    three times longer than the others (duration outlier)
====  =========  ===================================================================
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imitation_ros.data.convert import ConvertOptions, convert_bags
from imitation_ros.data.synthetic import SynthStream, synthetic_profile, write_synthetic_bag

if TYPE_CHECKING:
    from imitation_ros.profile.model import RobotProfile

#: (start s, stop s, success) of the demo's episodes.
EPISODES = ((0.1, 1.6, True), (1.7, 3.2, True), (3.3, 4.8, False), (4.9, 6.4, True),
            (6.5, 11.0, True))
TASK = 'put the block in the bin'


PROFILE_YAML = """\
# The review demo's robot (imitation_ros.review.demo): 3 joints, two cameras, 10 Hz.
name: synthetic
fps: 10.0
stamp_source: header
task: {task}
joints: {{names: [j_a, j_b, j_c], lower_rad: [-9.0, -9.0, -9.0], upper_rad: [9.0, 9.0, 9.0]}}
state: {{topic: /joint_states, max_age_s: 0.1}}
action: {{topic: /leader/joint_states, type: sensor_msgs/msg/JointState, max_age_s: 0.1}}
cameras:
  front: {{topic: /front/image_raw, type: sensor_msgs/msg/Image, height: 48, width: 64,
          max_age_s: 0.1}}
  wrist: {{topic: /wrist/image_raw/compressed, type: sensor_msgs/msg/CompressedImage,
          height: 48, width: 64, max_age_s: 0.1}}
"""


def review_demo_profile() -> RobotProfile:
    """The demo's robot profile (3 joints, a raw and a compressed camera, 10 Hz)."""
    return synthetic_profile(fps=10.0, size=(48, 64), task=TASK)


def write_review_demo(folder: str | Path, *, convert: bool = True) -> tuple[Path, Path, Path]:
    """Write the demo bag to ``folder/bag``, its profile to ``folder/profile.yaml`` and (with
    ``convert``) its dataset, every episode kept, to ``folder/dataset``.

    Returns:
        The bag, the profile file and the dataset folder (absent without ``convert``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    profile = review_demo_profile()
    profile_file = folder / 'profile.yaml'
    profile_file.write_text(PROFILE_YAML.format(task=TASK), encoding='utf-8')
    events = []
    for i, (a, b, ok) in enumerate(EPISODES):
        events += [(a, 0, i, False, TASK, ''), (b, 1, i, ok, '', '' if ok else 'dropped it')]
    front = profile.cameras[0].topic
    streams = {front: SynthStream(rate_hz=30.0, phase_s=0.002, lag_s=0.03,
                                  gaps_s=((5.3, 5.8),))}
    bag = write_synthetic_bag(folder / 'bag', profile, duration_s=11.2, events=events,
                              streams=streams,
                              interventions=[(2.2, True, 1, 'joy'), (2.8, False, 1, 'joy')]).path
    out = folder / 'dataset'
    if not convert:
        return bag, profile_file, out
    summary = convert_bags([bag], profile, out, ConvertOptions(keep_failed=True))
    if summary.failed:
        raise RuntimeError(f'review demo: conversion failed: {summary.failed[0].error}')
    return bag, profile_file, out
