"""Quality of a retargeted clip, and the gates that reject bad ones with the reason recorded.

Thresholds start from MuscleMimic's published gates (5 mm penetration, 0.05 tendon jump,
0.5 % joint-limit violation) and this suite's acceptance numbers (residual, skating).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import mujoco
import numpy as np

from morphologies import Morphology

CONTACT_DISTANCE = 0.010  # m: a foot closer than this to the floor is in contact


@dataclass(frozen=True)
class Quality:
    residual_mean_mm: float  # keypoint targets vs the body's keypoints after IK
    residual_max_mm: float
    joint_limit_violation_pct: float  # % of (joint, frame) pairs outside the range by > 1e-3
    floor_penetration_mm: float  # deepest a foot goes below the floor
    floating_mm: float  # lowest foot height over the clip (> 0: never touches the floor)
    foot_skating_mm: float  # mean horizontal slide per frame of a foot in contact
    tendon_jump: float  # largest one-frame change of a muscle length / its length range

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Gates:
    residual_mean_mm: float = 20.0
    joint_limit_violation_pct: float = 0.5
    floor_penetration_mm: float = 5.0
    floating_mm: float = 25.0
    foot_skating_mm: float = 20.0
    tendon_jump: float = 0.05

    def failures(self, quality: Quality) -> list[str]:
        """Reasons for rejection, empty when the clip passes every gate."""
        reasons = []
        for name, limit in asdict(self).items():
            value = getattr(quality, name)
            if value > limit:
                reasons.append(f"{name} {value:.3g} > {limit:g}")
        return reasons


def measure(
    morphology: Morphology,
    qpos: np.ndarray,
    targets: np.ndarray,
    reached: np.ndarray,
) -> Quality:
    """Quality of a joint trajectory `qpos` (T, nq); `targets`/`reached` are (T, K, 3)."""
    model = morphology.model()
    data = mujoco.MjData(model)
    residual = np.linalg.norm(targets - reached, axis=2) * 1000.0

    measured = [model.joint(name).id for name in morphology.joints]
    limited = [j for j in measured if model.jnt_limited[j]]
    adr = model.jnt_qposadr[limited]
    low, high = model.jnt_range[limited].T
    values = qpos[:, adr]
    outside = (values < low - 1e-3) | (values > high + 1e-3)

    feet = _foot_geoms(model, morphology)
    floor = _floor_geom(model)
    lowest = np.empty((len(qpos), len(feet)))
    points = np.empty((len(qpos), len(feet), 3))
    lengths = np.empty((len(qpos), model.nu))
    fromto = np.zeros(6)
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_fwdPosition(model, data)
        lengths[t] = data.actuator_length
        for f, geoms in enumerate(feet):
            best = np.inf
            for g in geoms:
                distance = mujoco.mj_geomDistance(model, data, g, floor, 1.0, fromto)
                if distance < best:
                    best, points[t, f] = distance, fromto[:3]
            lowest[t, f] = best

    in_contact = lowest < CONTACT_DISTANCE
    both = in_contact[1:] & in_contact[:-1]
    slide = np.linalg.norm(np.diff(points[..., :2], axis=0), axis=2)
    span = np.ptp(model.actuator_lengthrange, axis=1)
    jumps = np.abs(np.diff(lengths, axis=0)) / np.maximum(span, 1e-6)
    return Quality(
        residual_mean_mm=float(residual.mean()),
        residual_max_mm=float(residual.max()),
        joint_limit_violation_pct=float(100.0 * outside.mean()) if limited else 0.0,
        floor_penetration_mm=float(max(0.0, -lowest.min()) * 1000.0),
        floating_mm=float(max(0.0, lowest.min(axis=1).min()) * 1000.0),
        foot_skating_mm=float(slide[both].mean() * 1000.0) if both.any() else 0.0,
        tendon_jump=float(jumps.max()) if jumps.size else 0.0,
    )


def _floor_geom(model: mujoco.MjModel) -> int:
    # The colliding plane of the world body (myo-sim scenes also carry a visual-only one).
    planes = np.flatnonzero(
        (model.geom_type == int(mujoco.mjtGeom.mjGEOM_PLANE))
        & (model.geom_bodyid == 0)
        & ((model.geom_contype != 0) | (model.geom_conaffinity != 0))
    )
    if not len(planes):
        raise ValueError("the model has no colliding floor plane")
    return int(planes[0])


def _foot_geoms(model: mujoco.MjModel, morphology: Morphology) -> list[list[int]]:
    """Colliding geoms of each foot: those on the bodies from the ankle keypoint down."""
    feet = []
    for side in ("r", "l"):
        ankle = next(k for k in morphology.keypoints if k.name == f"{side}_ankle")
        root = model.body(ankle.target).id
        bodies = {root}
        for b in range(model.nbody):
            parent = b
            while parent > 0 and parent not in bodies:
                parent = model.body_parentid[parent]
            if parent in bodies:
                bodies.add(b)
        geoms = [
            g
            for g in range(model.ngeom)
            if model.geom_bodyid[g] in bodies
            and (model.geom_contype[g] or model.geom_conaffinity[g])
        ]
        feet.append(geoms)
    return feet
