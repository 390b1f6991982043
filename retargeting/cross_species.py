"""Human motion -> keypoint targets for the ostrich, by dynamic similarity.

1. Froude scaling. With lambda = ostrich standing hip height / human leg length, speeds
   scale by sqrt(lambda), so the Froude number v^2 / (g h) is the human's (Alexander & Jayes
   1983: animals at equal Froude number move in dynamically similar ways). Pure similarity
   would scale lengths by lambda and times by sqrt(lambda); an ostrich, though, takes shorter,
   quicker strides than a dynamically similar human (`retargeting.cadence_prior`), so
   excursions scale by lambda / c and times by sqrt(lambda) / c, with c the ostrich cadence
   factor: the same speeds, strides c times shorter. `cadence=1` gives Froude scaling alone.
2. Contact phases are kept: the human's stance and swing (found from foot height and speed)
   are the ostrich's, frame for frame once time is scaled, so duty factors are the human's.
3. Foot placements become toe placements: each human stance's foot position relative to
   the hips, scaled, and shifted so that the average stance toe sits where a real ostrich's
   does relative to its hips (from the posture prior); the toe stays planted on the floor
   through each stance. In swing the toe follows the scaled foot path.
4. The pelvis follows the scaled hip path at the ostrich's standing height, level.
5. The digitigrade posture prior (`retargeting.posture_prior`) proposes knee, ankle and
   MTP positions for each toe position; IK follows them lightly (`GUIDE_WEIGHT`) while
   pelvis, hips and toes are the targets proper, whose residual the quality gates judge.
"""

from __future__ import annotations

from dataclasses import replace

import mujoco
import numpy as np

from morphologies import Morphology
from retargeting.cadence_prior import cadence_prior
from retargeting.foot_contacts import SIDES, SPEED, keypoint_contacts
from retargeting.motion import Motion, MotionFormatError
from retargeting.posture_prior import JOINTS, posture_prior
from retargeting.scaling import pelvis_frames
from retargeting.sources.ostrich import TOE_GROUND_HEIGHT

GUIDE_WEIGHT = 0.2
REQUIRED = ("r_hip", "l_hip", "r_knee", "l_knee", "r_ankle", "l_ankle")
_GUIDES = tuple(f"{side}_{joint}" for joint in JOINTS for side in SIDES)


def source_leg_length(motion: Motion) -> float:
    """Human leg length: median thigh plus shank, plus the ankle's height on the ground."""
    thigh, shank, ankle = [], [], []
    for side in SIDES:
        hip, knee = motion.keypoint(f"{side}_hip"), motion.keypoint(f"{side}_knee")
        foot = motion.keypoint(f"{side}_ankle")
        thigh.append(np.linalg.norm(hip - knee, axis=1))
        shank.append(np.linalg.norm(knee - foot, axis=1))
        ankle.append(foot[:, 2])
    lowest = _foot_floor(motion)
    return float(
        np.median(thigh) + np.median(shank) + np.percentile(np.concatenate(ankle), 5) - lowest
    )


def foot_points(motion: Motion) -> dict[str, tuple[str, ...]]:
    """Per side, the foot keypoints a human motion has (toe, heel, ankle)."""
    names = ("toe", "heel", "ankle")
    return {s: tuple(f"{s}_{n}" for n in names if motion.has(f"{s}_{n}")) for s in SIDES}


def _foot_floor(motion: Motion) -> float:
    """The source's floor: the 5th-percentile height of its lowest foot points."""
    heights = [motion.keypoint(n)[:, 2] for names in foot_points(motion).values() for n in names]
    return float(np.percentile(np.min(heights, axis=0), 5))


def human_to_ostrich(
    motion: Motion, ostrich: Morphology, fps: float, cadence: float | None = None
) -> tuple[Motion, tuple[str, ...]]:
    """Keypoint targets at `fps` for the ostrich, and the names that are prior guides.

    `cadence` is c of the module docstring; by default the ostrich cadence prior's.
    """
    missing = [n for n in REQUIRED if not motion.has(n)]
    if missing:
        raise MotionFormatError(
            motion.meta.source, "keypoints", f"retargeting needs {missing}, which are missing"
        )
    leg = source_leg_length(motion)
    ratio = ostrich.measures.hip_height / leg
    cadence = cadence_prior(ostrich.measures.hip_height).cadence if cadence is None else cadence
    excursion, time_scale = ratio / cadence, np.sqrt(ratio) / cadence
    timed = replace(motion, fps=motion.fps / time_scale).resample(fps)
    # the detector's speed limit in the source's own time (this motion runs time_scale slower)
    contacts = keypoint_contacts(timed, foot_points(timed), leg, speed=SPEED / time_scale)
    frames = pelvis_frames(timed.keypoint("r_hip"), timed.keypoint("l_hip"))
    middle = (timed.keypoint("r_hip") + timed.keypoint("l_hip")) / 2
    body = _standing(ostrich)

    hips_middle = np.column_stack(
        [
            excursion * middle[:, :2],
            body["hip_height"] + excursion * (middle[:, 2] - np.median(middle[:, 2])),
        ]
    )
    out = {"pelvis": hips_middle + frames @ body["pelvis"]}
    for side in SIDES:
        out[f"{side}_hip"] = hips_middle + frames @ body[f"{side}_hip"]

    prior = posture_prior()
    floor = _foot_floor(timed)
    for column, side in enumerate(SIDES):
        foot = timed.keypoint(f"{side}_toe" if timed.has(f"{side}_toe") else f"{side}_ankle")
        local = np.einsum("tji,tj->ti", frames, foot - middle)
        down = contacts[:, column]
        typical = local[down].mean(axis=0) if down.any() else local.mean(axis=0)
        toe_local = excursion * (local - typical) + prior.stance_toe_offset(side)
        toe = hips_middle + np.einsum("tij,tj->ti", frames, toe_local)
        toe[:, 2] = TOE_GROUND_HEIGHT + excursion * np.maximum(foot[:, 2] - floor, 0.0)
        for start, end in _runs(down):  # planted: one place on the floor per stance
            toe[start:end, :2] = toe[start:end, :2].mean(axis=0)
            toe[start:end, 2] = TOE_GROUND_HEIGHT
        out[f"{side}_toe"] = toe

        hip = out[f"{side}_hip"]
        toe_from_hip = np.einsum("tji,tj->ti", frames, toe - hip)
        speed = np.gradient(toe_from_hip[:, 0], 1.0 / fps)
        guides = prior.predict(toe_from_hip, speed, side)
        for row, joint in enumerate(JOINTS):
            out[f"{side}_{joint}"] = hip + np.einsum("tij,tj->ti", frames, guides[:, row])

    notes = (
        f"human -> ostrich by Froude scaling (human leg {leg:.3f} m, speeds x{np.sqrt(ratio):.3f})"
        f" with cadence {cadence:.3f}: excursions x{excursion:.3f}, times x{time_scale:.3f}",
        f"contact timing kept; {int(contacts[:, 0].sum())} right, {int(contacts[:, 1].sum())} "
        "left stance frames; toes planted; knee, ankle and MTP guided by the posture prior",
    )
    names = tuple(out)
    targets = Motion(
        name=motion.name,
        keypoints=np.stack([out[n] for n in names], axis=1),
        keypoint_names=names,
        fps=fps,
        meta=replace(timed.meta, notes=(*timed.meta.notes, *notes)),
    )
    return targets, _GUIDES


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True values."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _standing(ostrich: Morphology) -> dict[str, np.ndarray | float]:
    """Pelvis and hips from the hips' midpoint at the standing pose (level frame), its height."""
    model = ostrich.model()
    data = mujoco.MjData(model)
    data.qpos[:] = ostrich.standing_qpos()
    mujoco.mj_kinematics(model, data)
    names = ("pelvis", "r_hip", "l_hip")
    points = dict(zip(names, ostrich.keypoint_positions(data, names), strict=True))
    frame = pelvis_frames(points["r_hip"][None], points["l_hip"][None])[0]
    middle = (points["r_hip"] + points["l_hip"]) / 2
    return {
        "hip_height": float(middle[2]),
        **{name: frame.T @ (points[name] - middle) for name in names},
    }
