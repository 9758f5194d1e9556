"""Image statistics of converted datasets are computed in floating point.

Regressions pinned:
- lerobot 0.4.4 writes image std near 0.0005 (uint8 squares overflow); after conversion the
  std in meta/stats.json equals the std of the decoded frames (about 0.1-0.3 here), so
  `lerobot-train` normalizes images sensibly.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from imitation_ros.data.writer import fix_image_stats
from imitation_ros.learn.synthetic import make_synthetic_dataset, shrink_cameras
from imitation_ros.profile import image_key, load_profile
from imitation_ros.resources import config_path


def test_image_std_matches_decoded_frames(tmp_path: Path) -> None:
    import av

    profile = shrink_cameras(load_profile(config_path('sim_arm.yaml')), 32, 48)
    root = make_synthetic_dataset(tmp_path / 'ds', profile, n_episodes=2, n_frames=15)
    key = image_key(profile.cameras[0].name)
    frames = []
    for path in sorted((root / 'videos' / key).rglob('*.mp4')):
        with av.open(str(path)) as c:
            frames += [f.to_ndarray(format='rgb24') for f in c.decode(video=0)]
    pix = np.stack(frames).astype(np.float64) / 255.0
    want_std = pix.std(axis=(0, 1, 2))
    out = fix_image_stats(root)
    stats = json.loads((root / 'meta' / 'stats.json').read_text())
    got_std = np.array(stats[key]['std']).reshape(3)
    got_mean = np.array(stats[key]['mean']).reshape(3)
    assert np.allclose(got_std, want_std, atol=1e-6)
    assert np.allclose(got_mean, pix.mean(axis=(0, 1, 2)), atol=1e-6)
    assert np.all(got_std > 0.01)
    assert np.allclose(out[key]['std'], got_std)
