"""Gait statistics of a reference clip.

Used to check cross-species retargeting against real animals (`benchmark gait-compare`):
duty factor, stride length over leg length, stride frequency, Froude number and the range
of each sagittal joint angle over a stride. Strides run from one touchdown of a foot to
its next; a clip contributes every complete stride of either foot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from morphologies import Morphology
from retargeting.datasets.clip import Clip
from retargeting.foot_contacts import SIDES, keypoint_contacts, strides
from retargeting.motion import Motion

GRAVITY = 9.81


@dataclass(frozen=True)
class GaitStats:
    """Means over the complete strides of one clip (NaN where it has none)."""

    strides: int
    speed: float  # m/s, pelvis, horizontal
    froude: float  # speed^2 / (g * standing hip height)
    duty_factor: float  # fraction of a stride the foot is on the ground
    stride_per_leg: float  # stride length / leg length
    stride_frequency: float  # Hz
    joint_ranges_deg: dict[str, float]  # max - min over a stride, per joint

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def clip_contacts(clip: Clip, morphology: Morphology) -> np.ndarray:
    """(T, 2) contacts of a clip from its toe and MTP keypoints (`keypoint_contacts`).

    The same detector for real and retargeted clips: the real clips' stance toes ride up to
    5.5 cm over the floor, where the clip's geom contacts (10 mm) would miss them.
    """
    motion = Motion(clip.name, clip.keypoints, clip.keypoint_names, clip.fps)
    feet = {s: tuple(n for n in (f"{s}_toe", f"{s}_mtp") if motion.has(n)) for s in SIDES}
    return keypoint_contacts(motion, feet, morphology.measures.hip_height)


def gait_stats(
    clip: Clip, morphology: Morphology, joints: dict[str, str] | None = None
) -> GaitStats:
    """Gait statistics of a clip of `morphology` (see the module docstring).

    `joints` maps a label to the joint name without its side prefix (the ostrich's sagittal
    joints by default); the range of each is measured on both legs' strides.
    """
    joints = joints or {"hip": "hip_y", "knee": "knee_y", "ankle": "ankle_y", "mtp": "mtp_y"}
    model = morphology.model()
    pelvis = clip.keypoints[:, clip.keypoint_names.index("pelvis")]
    found = strides(pelvis, clip_contacts(clip, morphology), clip.fps)
    ranges: dict[str, list[float]] = {label: [] for label in joints}
    for stride in found:
        for label, joint in joints.items():
            adr = model.jnt_qposadr[model.joint(f"{stride.side}_{joint}").id]
            angle = clip.qpos[stride.start : stride.end + 1, adr]
            ranges[label].append(float(np.degrees(angle.max() - angle.min())))
    velocity = _mean([s.speed for s in found])
    return GaitStats(
        strides=len(found),
        speed=velocity,
        froude=velocity**2 / (GRAVITY * morphology.measures.hip_height),
        duty_factor=_mean([s.duty_factor for s in found]),
        stride_per_leg=_mean([s.length / morphology.measures.leg_length for s in found]),
        stride_frequency=_mean([1.0 / s.seconds for s in found]),
        joint_ranges_deg={label: _mean(values) for label, values in ranges.items()},
    )


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")
