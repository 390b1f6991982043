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


def self_contact_pairs(model: mujoco.MjModel) -> list[tuple[int, int]]:
    """Pairs of the body's own geoms that MuJoCo lets collide: the model's explicit contact
    pairs (MyoLeg's leg against leg) and those its contype/conaffinity bits allow, with
    neither on the world body and, as MuJoCo filters them, not on one body or parent and
    child."""
    pairs = {
        (int(a), int(b))
        for a, b in zip(model.pair_geom1, model.pair_geom2, strict=True)
        if model.geom_bodyid[a] and model.geom_bodyid[b]
    }
    body, parent = model.geom_bodyid, model.body_parentid
    colliding = np.flatnonzero((model.geom_contype != 0) | (model.geom_conaffinity != 0))
    for i, a in enumerate(colliding):
        for b in colliding[i + 1 :]:
            ba, bb = body[a], body[b]
            if not ba or not bb or ba == bb or parent[ba] == bb or parent[bb] == ba:
                continue
            if (model.geom_contype[a] & model.geom_conaffinity[b]) or (
                model.geom_contype[b] & model.geom_conaffinity[a]
            ):
                pairs.add((int(a), int(b)))
    return sorted(pairs)
