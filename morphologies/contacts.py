"""The floor and the feet of a morphology's model: what touches the ground.

Retargeting keeps the feet above the floor, quality measures penetration and skating, and
tasks report foot contacts; all three find the geoms here.
"""

from __future__ import annotations

import mujoco
import numpy as np

from morphologies.morphology import Morphology

SIDES = ("r", "l")


def floor_geom(model: mujoco.MjModel) -> int:
    """The colliding plane of the world body (myo-sim scenes also carry a visual-only one)."""
    planes = np.flatnonzero(
        (model.geom_type == int(mujoco.mjtGeom.mjGEOM_PLANE))
        & (model.geom_bodyid == 0)
        & ((model.geom_contype != 0) | (model.geom_conaffinity != 0))
    )
    if not len(planes):
        raise ValueError("the model has no colliding floor plane")
    return int(planes[0])


def foot_geoms(morphology: Morphology) -> dict[str, tuple[int, ...]]:
    """Colliding geoms of each foot ("r", "l"): those on the ankle keypoint's body and below."""
    model = morphology.model()
    keypoints = {k.name: k for k in morphology.keypoints}
    feet = {}
    for side in SIDES:
        ankle = keypoints[f"{side}_ankle"]
        if ankle.element == "site":
            root = int(model.site_bodyid[model.site(ankle.target).id])
        else:
            root = model.body(ankle.target).id
        inside = np.zeros(model.nbody, dtype=bool)
        inside[root] = True
        for body in range(root + 1, model.nbody):  # MuJoCo numbers children after parents
            inside[body] |= inside[model.body_parentid[body]]
        colliding = (model.geom_contype != 0) | (model.geom_conaffinity != 0)
        feet[side] = tuple(int(g) for g in np.flatnonzero(inside[model.geom_bodyid] & colliding))
    return feet


def floor_distances(
    model: mujoco.MjModel, data: mujoco.MjData, geoms: list[int], floor: int
) -> np.ndarray:
    """Signed distance of each geom to the floor (negative: below it), after kinematics."""
    fromto = np.zeros(6)
    return np.array([mujoco.mj_geomDistance(model, data, g, floor, 1.0, fromto) for g in geoms])
