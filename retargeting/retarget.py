"""Motion -> reference clip of a morphology: targets, IK, quality.

The targets depend on whose motion it is and whose body receives it:
- human -> human body: segment-length scaling (`retargeting.scaling`);
- ostrich -> ostrich: the keypoints as they are, on the floor (same skeleton lengths);
- human -> ostrich: dynamic similarity, contacts kept, a posture prior (`cross_species`).
"""

from __future__ import annotations

from dataclasses import replace

import mujoco
import numpy as np

from morphologies import Morphology
from retargeting.cross_species import GUIDE_WEIGHT, human_to_ostrich
from retargeting.datasets.clip import Clip
from retargeting.grounding import ground_stance
from retargeting.ik import IkResult, IkSettings, solve_motion
from retargeting.motion import Motion
from retargeting.quality import Gates, measure
from retargeting.scaling import scale_motion
from retargeting.sources.ostrich import ground

PROTOCOL_FPS = 30.0
# The method's version, recorded in every dataset built: bump it with any change that alters
# the clips retargeting makes, so that datasets built before it count as out of date (2: the
# ostrich methods and the cadence prior; 3: the procedural source's pelvis made continuous,
# where it stepped down by up to 17 cm in one frame at each new stance; 4: the stance feet of
# human clips put on the floor, `retargeting.grounding`; 5: the procedural source's hip
# joints, step width and lateral sway, where its legs passed through each other, and the
# IK's limit that keeps the body's own colliding geoms apart); 6: the procedural source's
# walking pelvis rises and falls as people's do, and its toe keypoint is the MTP joint).
RETARGET_VERSION = 6


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
    ik: IkSettings | None = None,
    gates: Gates = Gates(),
    cadence: float | None = None,
) -> Clip:
    """Retarget a z-up keypoint motion onto a morphology (see the module docstring).

    The quality's residual is over the targets proper; the posture prior's guides, which
    IK follows only lightly, are left out of it. Human clips have their stance feet put on
    the floor after IK (`retargeting.grounding`); the targets move by the same vertical
    shifts, so the residual stays what the body's joints cannot express, and the clip's
    notes record the shifts. `ik` defaults to `IkSettings.for_body`.
    `cadence` is for human -> ostrich only (`cross_species`; 1 = Froude scaling alone).
    """
    targets, guides = reference_targets(motion, morphology, fps, cadence)
    weights = dict.fromkeys(guides, GUIDE_WEIGHT)
    settings = ik or IkSettings.for_body(morphology)
    solved = solve_motion(morphology, targets, settings, weights)
    if (motion.meta.species, morphology.species) == ("human", "human"):
        solved, targets = _grounded(morphology, solved, targets, settings.floor_clearance)
    judged = tuple(n for n in targets.keypoint_names if n not in guides)
    quality, contacts = measure(
        morphology, solved.qpos, targets.select(judged).keypoints, solved.select(judged)
    )
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


def _grounded(
    morphology: Morphology, solved: IkResult, targets: Motion, clearance: float
) -> tuple[IkResult, Motion]:
    """The IK's result with its stance feet on the floor, and the targets moved alike."""
    qpos, shifts = ground_stance(morphology, solved.qpos, targets, clearance)
    up = shifts[:, None, None] * np.array([0.0, 0.0, 1.0])
    note = (
        f"stance feet grounded: vertical shift {np.abs(shifts).mean() * 1000:.1f} mm mean, "
        f"{np.abs(shifts).max() * 1000:.1f} mm at most"
    )
    moved = replace(
        targets,
        keypoints=targets.keypoints + up,
        meta=replace(targets.meta, notes=(*targets.meta.notes, note)),
    )
    return IkResult(qpos, solved.keypoints + up, solved.keypoint_names), moved


def reference_targets(
    motion: Motion,
    morphology: Morphology,
    fps: float = PROTOCOL_FPS,
    cadence: float | None = None,
) -> tuple[Motion, tuple[str, ...]]:
    """Keypoint targets at `fps` for `morphology`, and which of them are only guides."""
    pair = (motion.meta.species, morphology.species)
    if cadence is not None and pair != ("human", "ostrich"):
        raise ValueError(f"cadence applies to human -> ostrich only, not {pair[0]} -> {pair[1]}")
    if pair == ("human", "ostrich"):
        return human_to_ostrich(motion, morphology, fps, cadence)
    if pair == ("human", "human"):
        targets = scale_motion(motion.resample(fps), morphology)
    elif pair == ("ostrich", "ostrich"):
        targets = ground(motion).resample(fps)
    else:
        raise ValueError(
            f"no retargeting of {pair[0]} motion {motion.name!r} onto {morphology.name} "
            f"({pair[1]}); the methods are human -> human, human -> ostrich, ostrich -> ostrich"
        )
    wanted = tuple(n for n in ik_keypoints(morphology) if n in targets.keypoint_names)
    return targets.select(wanted), ()


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
