"""The digitigrade posture prior: how a real ostrich holds its leg for a given foot position.

Human legs have no intertarsal joint, so a human motion says where the foot goes but not
how an ostrich's knee, ankle and MTP joint should sit to put it there; many leg shapes
reach the same toe. The prior answers from the real ostrich clips shipped with the package
(the running training clips and the slow clips; never the held-out running clips, on which
`benchmark gait-compare` checks the retargeter):
for a toe position relative to the hip (and the toe's fore-aft speed relative to the hip,
which tells stance from swing), the knee, ankle and MTP positions of the nearest real
frames (k-nearest-neighbour regression, inverse-distance weighted). It also gives where a
real ostrich's toes are, on average, while on the ground, relative to its hips.

Positions are in the level pelvis frame (forward, left, up) from the hip of the same leg;
left legs are mirrored onto right ones so both sides share the data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from retargeting.datasets.splits import OSTRICH_TRAIN
from retargeting.foot_contacts import SIDES, keypoint_contacts
from retargeting.scaling import pelvis_frames
from retargeting.sources.ostrich import SLOW, load_ostrich

JOINTS = ("knee", "ankle", "mtp")  # what the prior predicts, from the hip
NEIGHBOURS = 8
VELOCITY_SECONDS = 0.1  # toe speed (m/s) enters the distance as metres covered in 0.1 s
OSTRICH_HIP_HEIGHT = 1.0  # m, scale of the contact detector's thresholds (about a leg)
_MIRROR = np.array([1.0, -1.0, 1.0])


@dataclass(frozen=True)
class PosturePrior:
    tree: cKDTree  # over features (toe from hip: forward, left, up; fore-aft toe speed * 0.1 s)
    joints: np.ndarray  # (N, 3, 3) knee, ankle, MTP from the hip, per sample
    stance_toe: np.ndarray  # (3,) toe from the hips' midpoint in stance, right leg: the
    # median over clips and legs of each one's mean, so long slow clips do not outvote runs
    samples: int

    def predict(self, toe: np.ndarray, toe_speed: np.ndarray, side: str) -> np.ndarray:
        """(T, 3, 3) knee, ankle and MTP from the hip, for toes (T, 3) from the hip of `side`.

        `toe_speed` (T,) is the toe's forward speed relative to the hip, m/s.
        """
        mirror = _MIRROR if side == "l" else np.ones(3)
        features = np.column_stack([toe * mirror, VELOCITY_SECONDS * toe_speed])
        distance, index = self.tree.query(features, k=NEIGHBOURS)
        weight = 1.0 / np.maximum(distance, 1e-6)
        weight /= weight.sum(axis=1, keepdims=True)
        return np.einsum("tk,tkjc->tjc", weight, self.joints[index]) * mirror

    def stance_toe_offset(self, side: str) -> np.ndarray:
        return self.stance_toe * (_MIRROR if side == "l" else 1.0)


@functools.cache
def posture_prior() -> PosturePrior:
    """The prior fitted on the real clips (once per process, in ms)."""
    features, joints, stance = [], [], []
    for name in (*OSTRICH_TRAIN, *SLOW):
        motion = load_ostrich(name)
        frames = pelvis_frames(motion.keypoint("r_hip"), motion.keypoint("l_hip"))
        middle = (motion.keypoint("r_hip") + motion.keypoint("l_hip")) / 2
        feet = {side: (f"{side}_toe", f"{side}_mtp") for side in SIDES}
        contacts = keypoint_contacts(motion, feet, OSTRICH_HIP_HEIGHT)
        for column, side in enumerate(SIDES):
            mirror = _MIRROR if side == "l" else np.ones(3)
            hip = motion.keypoint(f"{side}_hip")

            def local(points: np.ndarray, origin: np.ndarray = hip) -> np.ndarray:
                return np.einsum("tji,tj->ti", frames, points - origin) * mirror  # noqa: B023

            toe = local(motion.keypoint(f"{side}_toe"))
            speed = np.gradient(toe[:, 0], 1.0 / motion.fps)
            features.append(np.column_stack([toe, VELOCITY_SECONDS * speed]))
            joints.append(np.stack([local(motion.keypoint(f"{side}_{j}")) for j in JOINTS], 1))
            down = contacts[:, column]
            if down.any():
                stance.append(local(motion.keypoint(f"{side}_toe"), middle)[down].mean(axis=0))
    features, joints = np.concatenate(features), np.concatenate(joints)
    return PosturePrior(
        tree=cKDTree(features),
        joints=joints,
        stance_toe=np.median(stance, axis=0),
        samples=len(features),
    )
