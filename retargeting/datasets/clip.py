"""The reference clip: what retargeting makes, datasets store, tasks replay and metrics
compare against; every stage after retargeting passes it around, so it lives with the data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from retargeting.motion import MotionMeta
from retargeting.quality import Quality


@dataclass(frozen=True)
class Clip:
    """A reference clip of one morphology: what tasks replay and metrics compare against."""

    name: str
    morphology: str
    fps: float
    qpos: np.ndarray  # (T, nq)
    qvel: np.ndarray  # (T, nv), finite differences on the configuration manifold
    keypoint_names: tuple[str, ...]
    keypoints: np.ndarray  # (T, K, 3) the body's keypoints, model world frame
    foot_contacts: np.ndarray  # (T, 2) bool, right and left foot touching the floor
    quality: Quality
    rejected: tuple[str, ...] = ()  # gate failures; empty when the clip is accepted
    meta: MotionMeta = field(default_factory=lambda: MotionMeta(source="unknown"))
