"""Stance feet put on the floor: a vertical shift of each retargeted frame.

Scaling a source skeleton onto a body with other proportions and another foot shape lifts the
feet by a different amount in every frame, and one lift per clip (`retargeting.scaling`)
leaves the stance foot hovering: in the procedural walks of retargeting version 3, no foot of
the MyoLeg was within 1 cm of the floor in 17-43 % of the frames. A body on the floor stands
lower than such a reference by the hover, so the reference's swing foot, tracked relative to
the pelvis, scrapes the floor (`docs/results.md`). Here, in every frame where the motion's
keypoints say a foot is down (`foot_contacts.keypoint_contacts`), the whole body is moved
down (or up) until its lowest foot geom is at the floor clearance; between such frames (a
run's flight) the shift is interpolated and never puts a foot below the floor.
"""

from __future__ import annotations

import mujoco
import numpy as np

from morphologies import Morphology
from morphologies.contacts import SIDES, floor_distances, floor_geom, foot_geoms
from retargeting.foot_contacts import keypoint_contacts
from retargeting.motion import Motion


def planted_frames(targets: Motion, morphology: Morphology) -> np.ndarray:
    """(T,) True where the targets put a foot down: either foot's ankle or toe keypoint low
    and slow (`keypoint_contacts`, thresholds in the body's leg lengths)."""
    points = {s: tuple(n for n in (f"{s}_ankle", f"{s}_toe") if targets.has(n)) for s in SIDES}
    if not all(points.values()):
        raise ValueError(f"{targets.name}: grounding needs ankle or toe keypoints on both feet")
    return keypoint_contacts(targets, points, morphology.measures.leg_length).any(axis=1)


def ground_shifts(
    morphology: Morphology, qpos: np.ndarray, planted: np.ndarray, clearance: float
) -> np.ndarray:
    """(T,) vertical shifts (m) that put the lowest foot geom at `clearance` above the floor
    in the planted frames, interpolated between them and never lower than the floor allows."""
    model = morphology.model()
    data = mujoco.MjData(model)
    feet = [g for geoms in foot_geoms(morphology).values() for g in geoms]
    floor = floor_geom(model)
    lowest = np.empty(len(qpos))
    for t, pose in enumerate(qpos):
        data.qpos[:] = pose
        mujoco.mj_kinematics(model, data)
        lowest[t] = floor_distances(model, data, feet, floor).min()
    needed = clearance - lowest  # the shift that puts the lowest foot at the clearance
    if not planted.any():
        return np.maximum(needed, 0.0)
    frames = np.arange(len(qpos))
    shifts = np.interp(frames, frames[planted], needed[planted])
    return np.maximum(shifts, needed)  # off the ground, never into it


def ground_stance(
    morphology: Morphology, qpos: np.ndarray, targets: Motion, clearance: float
) -> tuple[np.ndarray, np.ndarray]:
    """`qpos` (T, nq) with each frame's root moved vertically by `ground_shifts`, and the
    shifts."""
    model = morphology.model()
    height = int(model.jnt_qposadr[model.joint(morphology.root_joint).id]) + 2
    shifts = ground_shifts(morphology, qpos, planted_frames(targets, morphology), clearance)
    grounded = qpos.copy()
    grounded[:, height] += shifts
    return grounded, shifts
