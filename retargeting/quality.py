"""Quality of a retargeted clip, and the gates that reject bad ones with the reason recorded.

Thresholds start from MuscleMimic's published gates (5 mm penetration, 0.05 tendon jump,
0.5 % joint-limit violation) and this suite's acceptance numbers (residual, skating).
The overlap of the body's own colliding geoms (MyoLeg's legs collide with each other) is
measured and reported, not gated: the IK keeps them apart where it can
(`retargeting.ik.self_collision_limits`), but not always, and real clips would be lost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import mujoco
import numpy as np

from morphologies import Morphology
from morphologies.contacts import floor_distances, floor_geom, foot_geoms, self_contact_pairs

CONTACT_DISTANCE = 0.010  # m: a foot closer than this to the floor is in contact


@dataclass(frozen=True)
class Quality:
    residual_mean_mm: float  # keypoint targets vs the body's keypoints after IK
    residual_max_mm: float
    joint_limit_violation_pct: float  # % of (joint, frame) pairs outside the range by > 1e-3
    floor_penetration_mm: float  # deepest a foot goes below the floor
    floating_mm: float  # lowest foot height over the clip (> 0: never touches the floor)
    foot_skating_mm: float  # mean horizontal slide per frame of a foot in contact
    tendon_jump: float  # largest one-frame tendon length change the joints do not explain / L0
    self_penetration_mm: float = 0.0  # deepest two of the body's colliding geoms overlap

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
) -> tuple[Quality, np.ndarray]:
    """Quality of a joint trajectory `qpos` (T, nq), and its foot contacts (T, 2) (right, left).

    `targets` and `reached` are (T, K, 3): the keypoint targets and where the body put them.
    A foot is in contact when one of its geoms is within CONTACT_DISTANCE of the floor.
    """
    model = morphology.model()
    data = mujoco.MjData(model)
    residual = np.linalg.norm(targets - reached, axis=2) * 1000.0

    measured = [model.joint(name).id for name in morphology.joints]
    limited = [j for j in measured if model.jnt_limited[j]]
    adr = model.jnt_qposadr[limited]
    low, high = model.jnt_range[limited].T
    values = qpos[:, adr]
    outside = (values < low - 1e-3) | (values > high + 1e-3)

    feet = foot_geoms(morphology)
    geoms = [g for side in feet.values() for g in side]
    side_of = np.repeat(np.arange(len(feet)), [len(v) for v in feet.values()])
    floor = floor_geom(model)
    height = np.empty((len(qpos), len(geoms)))  # signed distance of each foot geom to the floor
    centre = np.empty((len(qpos), len(geoms), 2))  # horizontal position of each foot geom
    lengths = np.empty((len(qpos), model.ntendon))
    own_pairs = self_contact_pairs(model)
    overlap = 0.0  # m, deepest overlap of two of the body's own colliding geoms
    fromto = np.zeros(6)
    moment_arms = np.empty((len(qpos), model.ntendon, model.nv))  # d(length)/d(qvel)
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        mujoco.mj_tendon(model, data)
        lengths[t] = data.ten_length
        mujoco.mju_sparse2dense(
            moment_arms[t], data.ten_J, model.ten_J_rownnz, model.ten_J_rowadr, model.ten_J_colind
        )
        centre[t] = data.geom_xpos[geoms, :2]
        height[t] = floor_distances(model, data, geoms, floor)
        for a, b in own_pairs:
            overlap = max(overlap, -mujoco.mj_geomDistance(model, data, a, b, 0.0, fromto))

    # Skating: how far a foot geom slides between two frames in which it touches the floor.
    touching = height < CONTACT_DISTANCE
    both = touching[1:] & touching[:-1]
    slide = np.linalg.norm(np.diff(centre, axis=0), axis=2)
    contacts = np.stack([touching[:, side_of == i].any(axis=1) for i in range(len(feet))], axis=1)
    quality = Quality(
        residual_mean_mm=float(residual.mean()),
        residual_max_mm=float(residual.max()),
        joint_limit_violation_pct=float(100.0 * outside.mean()) if limited else 0.0,
        floor_penetration_mm=float(max(0.0, -height.min()) * 1000.0),
        floating_mm=float(max(0.0, height.min(axis=1).min()) * 1000.0),
        foot_skating_mm=float(slide[both].mean() * 1000.0) if both.any() else 0.0,
        tendon_jump=tendon_jump(model, qpos, lengths, moment_arms),
        self_penetration_mm=float(overlap * 1000.0),
    )
    return quality, contacts


def tendon_jump(
    model: mujoco.MjModel, qpos: np.ndarray, lengths: np.ndarray, moment_arms: np.ndarray
) -> float:
    """Largest jump of a tendon's length between frames, relative to its rest length.

    MuscleMimic gates |dL| / L0 > 0.05 between frames to catch paths that snap across a
    wrapping surface. Fast but smooth motion changes lengths as much, so here the change the
    joints explain (the moment arms times the joint step) is taken off first; what is left
    is the discontinuity.
    """
    if len(qpos) < 2:
        return 0.0
    largest = 0.0
    step = np.empty(model.nv)
    for t in range(len(qpos) - 1):
        mujoco.mj_differentiatePos(model, step, 1.0, qpos[t], qpos[t + 1])
        explained = 0.5 * (moment_arms[t] + moment_arms[t + 1]) @ step
        unexplained = np.abs(lengths[t + 1] - lengths[t] - explained) / np.maximum(
            model.tendon_length0, 1e-6
        )
        largest = max(largest, float(unexplained.max()))
    return largest
