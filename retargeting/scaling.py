"""Scale a source skeleton segment by segment to a target morphology's.

The result is a motion whose keypoints the target body can reach: the same joint
directions as the source, the target's bone lengths, the target's hip width and pelvis
offset, the root path scaled by the leg-length ratio, and the feet put on the floor.
Inverse kinematics then only has to find joint angles, so its residual measures how well
the body's joints can express the motion, not a bone-length mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import mujoco
import numpy as np

from morphologies import Morphology
from retargeting.motion import Motion, MotionFormatError

REQUIRED = ("r_hip", "l_hip", "r_knee", "l_knee", "r_ankle", "l_ankle")
# Child keypoint <- parent keypoint, walked from the hips down each leg.
_LEG_SEGMENTS = (("hip", "knee"), ("knee", "ankle"), ("ankle", "toe"))


@dataclass(frozen=True)
class TargetSkeleton:
    """A morphology's standing geometry, in its pelvis frame (x forward, y left, z up)."""

    pelvis_offset: np.ndarray  # pelvis keypoint from the hip midpoint
    hip_offsets: dict[str, np.ndarray]  # "r"/"l" hip from the hip midpoint
    segment_lengths: dict[str, float]  # "knee", "ankle", "toe" and "head": child from parent
    toe_height: float  # the toe keypoint's height at the standing pose
    head_offset_length: float | None

    @classmethod
    def of(cls, morphology: Morphology) -> TargetSkeleton:
        model = morphology.model()
        data = mujoco.MjData(model)
        data.qpos[:] = morphology.standing_qpos()
        mujoco.mj_kinematics(model, data)
        names = [k.name for k in morphology.keypoints]
        points = dict(zip(names, morphology.keypoint_positions(data), strict=True))
        frame = _pelvis_frame(points["r_hip"], points["l_hip"], morphology.frame.up_vector)
        middle = (points["r_hip"] + points["l_hip"]) / 2
        lengths = {}
        for side in ("r", "l"):
            for parent, child in _LEG_SEGMENTS:
                length = np.linalg.norm(points[f"{side}_{child}"] - points[f"{side}_{parent}"])
                lengths.setdefault(child, []).append(length)
        return cls(
            pelvis_offset=frame.T @ (points["pelvis"] - middle),
            hip_offsets={s: frame.T @ (points[f"{s}_hip"] - middle) for s in ("r", "l")},
            segment_lengths={k: float(np.mean(v)) for k, v in lengths.items()},
            toe_height=float(
                np.mean([points[f"{s}_toe"] @ morphology.frame.up_vector for s in ("r", "l")])
            ),
            head_offset_length=(
                float(np.linalg.norm(points["head"] - middle)) if "head" in points else None
            ),
        )


def _pelvis_frame(r_hip: np.ndarray, l_hip: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Columns forward, left, up: left along the hips, up as near the world's as it can be."""
    left = l_hip - r_hip
    left = left - (left @ up) * up
    left = left / np.linalg.norm(left)
    forward = np.cross(left, up)
    return np.stack([forward, left, up], axis=-1)


def pelvis_frames(r_hip: np.ndarray, l_hip: np.ndarray) -> np.ndarray:
    """(T, 3, 3) pelvis frames of a z-up motion: columns forward, left, up (level)."""
    up = np.array([0.0, 0.0, 1.0])
    return np.stack(
        [_pelvis_frame(right, left, up) for right, left in zip(r_hip, l_hip, strict=True)]
    )


def scale_motion(motion: Motion, morphology: Morphology) -> Motion:
    """Keypoint targets for `morphology` from a z-up human motion (see module docstring)."""
    missing = [n for n in REQUIRED if not motion.has(n)]
    if missing:
        raise MotionFormatError(
            motion.meta.source, "keypoints", f"retargeting needs {missing}, which are missing"
        )
    target = TargetSkeleton.of(morphology)
    src = {name: motion.keypoint(name) for name in motion.keypoint_names}
    middle = (src["r_hip"] + src["l_hip"]) / 2
    frames = pelvis_frames(src["r_hip"], src["l_hip"])

    source_leg = np.median(
        np.linalg.norm(src["r_hip"] - src["r_knee"], axis=1)
        + np.linalg.norm(src["r_knee"] - src["r_ankle"], axis=1)
    )
    target_leg = target.segment_lengths["knee"] + target.segment_lengths["ankle"]
    ratio = target_leg / source_leg

    out: dict[str, np.ndarray] = {}
    new_middle = middle * ratio
    out["pelvis"] = new_middle + frames @ target.pelvis_offset
    for side in ("r", "l"):
        out[f"{side}_hip"] = new_middle + frames @ target.hip_offsets[side]
        for parent, child in _LEG_SEGMENTS:
            name, parent_name = f"{side}_{child}", f"{side}_{parent}"
            if name not in src:
                continue
            direction = src[name] - src[parent_name]
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            out[name] = out[parent_name] + direction * target.segment_lengths[child]
    if "head" in src and target.head_offset_length is not None:
        direction = src["head"] - middle
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        out["head"] = new_middle + direction * target.head_offset_length

    # The floor: the lowest toes of the clip (5th percentile, robust to a glitch) stand
    # where the body's toes stand in its standing pose.
    feet = [out[f"{s}_toe"] if f"{s}_toe" in out else out[f"{s}_ankle"] for s in ("r", "l")]
    # Without toes in the source the clip keeps the source's own ground.
    lowest = np.percentile(np.minimum(feet[0][:, 2], feet[1][:, 2]), 5)
    lift = target.toe_height - lowest if "r_toe" in out else 0.0
    names = tuple(out)
    points = np.stack([out[n] for n in names], axis=1) + np.array([0.0, 0.0, lift])
    note = f"scaled to {morphology.name}: leg ratio {ratio:.3f}, lifted {lift * 1000:.1f} mm"
    return replace(
        motion,
        keypoints=points,
        keypoint_names=names,
        meta=replace(motion.meta, notes=(*motion.meta.notes, note)),
    )
