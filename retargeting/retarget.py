"""Human motion -> reference clip of a human morphology: resample, scale, IK, measure."""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from morphologies import Morphology
from retargeting.ik import IkSettings, solve_motion
from retargeting.motion import Motion, MotionMeta
from retargeting.quality import Gates, Quality, measure
from retargeting.scaling import scale_motion

PROTOCOL_FPS = 30.0


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


def ik_keypoints(morphology: Morphology) -> tuple[str, ...]:
    """Keypoints the IK follows: the tracked ones and the hips.

    Trunk points the body cannot express (a head on MyoLeg's rigid torso) would pull the
    pelvis off its target, so only tracked keypoints and the hips are followed.
    """
    return tuple(dict.fromkeys((*morphology.tracked_keypoints, "r_hip", "l_hip")))


def retarget(
    motion: Motion,
    morphology: Morphology,
    *,
    fps: float = PROTOCOL_FPS,
    ik: IkSettings = IkSettings(),
    gates: Gates = Gates(),
) -> Clip:
    """Retarget a z-up human keypoint motion onto a human morphology."""
    targets = scale_motion(motion.resample(fps), morphology)
    wanted = [n for n in ik_keypoints(morphology) if n in targets.keypoint_names]
    targets = targets.select(tuple(wanted))
    solved = solve_motion(morphology, targets, ik)
    reached = solved.select(targets.keypoint_names)
    quality, contacts = measure(morphology, solved.qpos, targets.keypoints, reached)
    model = morphology.model()
    tracked = morphology.tracked_keypoints
    return Clip(
        name=motion.name,
        morphology=morphology.name,
        fps=fps,
        qpos=solved.qpos,
        qvel=finite_difference_qvel(model, solved.qpos, fps),
        keypoint_names=tracked,
        keypoints=solved.select(tracked),
        foot_contacts=contacts,
        quality=quality,
        rejected=tuple(gates.failures(quality)),
        meta=targets.meta,
    )


def finite_difference_qvel(model: mujoco.MjModel, qpos: np.ndarray, fps: float) -> np.ndarray:
    """Central differences of qpos on the manifold (quaternions included), one-sided at ends."""
    count = len(qpos)
    qvel = np.zeros((count, model.nv))
    dt = 1.0 / fps
    for t in range(count):
        before, after = max(t - 1, 0), min(t + 1, count - 1)
        if after > before:
            mujoco.mj_differentiatePos(
                model, qvel[t], (after - before) * dt, qpos[before], qpos[after]
            )
    return qvel
