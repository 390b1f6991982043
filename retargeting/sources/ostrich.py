"""Real ostrich locomotion keypoints, shipped with the package (`ostrich_mocap/README.md`).

    >>> from retargeting.sources.ostrich import load_ostrich, RUNNING
    >>> motion = load_ostrich("0047")       # 40 fps, z up, toward +x, on the floor

Each clip is put on the floor as it loads: the source's ground level differs from clip to
clip, so the clip is shifted vertically until its lowest toes (5th percentile over the
clip, robust to a glitch) are at `TOE_GROUND_HEIGHT`.
"""

from __future__ import annotations

from dataclasses import replace
from importlib.resources import as_file, files

import numpy as np

from retargeting.motion import Motion
from retargeting.sources.keypoint_file import load_keypoint_npz

RUNNING = ("0005", "0006", "0010", "0012", "0029", "0031", "0035", "0047", "0048", "0050")
SLOW = ("0001", "0026", "0068")  # standing, stepping and turning
LOOPED = ("cyclic",)  # a 25 s looped running stride
CLIPS = (*RUNNING, *SLOW, *LOOPED)
# their train/test split: retargeting.datasets.splits
LICENCE = "MIT License, Copyright (c) 2021 Vittorio La Barbera and Fabio Pardo (OstrichRL)"
# Height of the toe keypoint (centre of digit III's distal phalanx) when the toes rest on
# the floor: that of the crossmimic ostrich standing (its digit pads reach 33 mm below the
# keypoint); tests/test_ostrich.py holds the two equal.
TOE_GROUND_HEIGHT = 0.036


def load_ostrich(clip: str) -> Motion:
    """One real clip by name (`CLIPS`), grounded (see the module docstring)."""
    if clip not in CLIPS:
        raise KeyError(f"no real ostrich clip {clip!r}; the clips are {', '.join(CLIPS)}")
    resource = files("retargeting.sources.ostrich_mocap").joinpath(f"ostrich_{clip}.npz")
    with as_file(resource) as path:
        motion = load_keypoint_npz(path, licence=LICENCE, species="ostrich")
    return ground(replace(motion, name=f"ostrich_{clip}"))


def ground(motion: Motion) -> Motion:
    """The motion shifted vertically so that its lowest toes touch the floor."""
    toes = np.minimum(motion.keypoint("r_toe")[:, 2], motion.keypoint("l_toe")[:, 2])
    shift = TOE_GROUND_HEIGHT - float(np.percentile(toes, 5))
    if abs(shift) < 1e-4:  # already on the floor (grounded once as it loaded)
        return motion
    note = f"grounded: shifted {shift * 1000:+.1f} mm vertically"
    return replace(
        motion,
        keypoints=motion.keypoints + np.array([0.0, 0.0, shift]),
        meta=replace(motion.meta, notes=(*motion.meta.notes, note)),
    )
