"""Inverse kinematics of a keypoint motion onto a morphology, with mink.

Per frame: position tasks on the keypoints, a light posture task toward the standing pose,
the model's joint-coupling equalities (MyoLeg's knee) as a stiff task, joint limits, feet
above the floor and the body's own colliding geoms (MyoLeg's legs) apart as inequality
constraints; warm-started from the previous frame's solution.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import mink
import mujoco
import numpy as np

from morphologies import Morphology
from morphologies.contacts import floor_distances, floor_geom, foot_geoms, self_contact_pairs
from retargeting.motion import Motion

# Relative weights of the keypoint tasks. The head is a trunk point whose place depends on a
# spine the legs models do not have, so it guides the trunk without pulling the legs.
KEYPOINT_WEIGHTS = {"head": 0.1, "neck_base": 0.1, "torso": 0.1}


@dataclass(frozen=True)
class IkSettings:
    iterations: int = 4  # solver iterations per frame (warm-started)
    first_frame_iterations: int = 60  # the first frame starts from the standing pose...
    first_frame_stages: int = 20  # ...and moves to its targets in this many steps
    posture_cost: float = 1e-3
    coupling_cost: float = 10.0  # joint-coupling equalities; stiffer locks the knee (above)
    damping: float = 1e-4
    solver: str = "daqp"
    floor_clearance: float = 0.002  # m: the least distance kept between a foot geom and the floor
    floor_gain: float = 0.85  # fraction of the remaining gap a foot may close in one iteration
    # feet further than this from the floor are not held by the floor limit; a foot must not
    # fall further in one frame
    floor_detection: float = 0.1
    self_clearance: float = 0.005  # m: the least distance kept between two colliding body geoms
    self_detection: float = 0.05  # m: body geoms further apart than this are not held apart

    @classmethod
    def for_body(cls, morphology: Morphology) -> IkSettings:
        """The defaults, with the floor limit looking as far as the body's feet fall in a
        frame (`Morphology.foot_fall_per_frame`)."""
        return cls(floor_detection=morphology.foot_fall_per_frame)


@dataclass(frozen=True)
class IkResult:
    qpos: np.ndarray  # (T, nq)
    keypoints: np.ndarray  # (T, K, 3) all the body's keypoints after IK, in the body's order
    keypoint_names: tuple[str, ...]  # the body's keypoint names

    def select(self, names: tuple[str, ...]) -> np.ndarray:
        """(T, len(names), 3) positions of the named keypoints."""
        return self.keypoints[:, [self.keypoint_names.index(n) for n in names]]


def solve_motion(
    morphology: Morphology,
    targets: Motion,
    settings: IkSettings = IkSettings(),
    weights: dict[str, float] | None = None,
) -> IkResult:
    """Joint trajectories that put the body's keypoints on `targets` (already scaled).

    `weights` override `KEYPOINT_WEIGHTS` per keypoint name (others weigh 1).
    """
    weights = {**KEYPOINT_WEIGHTS, **(weights or {})}
    model = morphology.model()
    configuration = mink.Configuration(model, morphology.standing_qpos())
    known = {k.name: k for k in morphology.keypoints}
    names = tuple(n for n in targets.keypoint_names if n in known)
    tasks = [
        mink.FrameTask(
            frame_name=known[n].target,
            frame_type=known[n].element,
            position_cost=weights.get(n, 1.0),
            orientation_cost=0.0,
        )
        for n in names
    ]
    posture = mink.PostureTask(model, cost=settings.posture_cost)
    posture.set_target(morphology.standing_qpos())
    # The couplings enter as a stiff task, not as hard QP equalities: MyoLeg's dependent knee
    # joints sit on their limits at full extension, and hard equalities plus those limits
    # leave the QP no way to bend a straight knee (seen: the knee stays locked at 0).
    couplings = (
        [mink.EqualityConstraintTask(model, cost=settings.coupling_cost)] if model.neq else []
    )
    limits = [mink.ConfigurationLimit(model), floor_limit(morphology, settings)]
    limits += self_collision_limits(model, settings)
    rows = [targets.keypoint_names.index(n) for n in names]
    index = morphology.keypoint_index()

    qpos = np.empty((targets.num_frames, model.nq))
    reached = np.empty((targets.num_frames, len(index.names), 3))

    def follow(points: np.ndarray, iterations: int) -> None:
        for task, point in zip(tasks, points, strict=True):
            task.set_target(mink.SE3.from_translation(point))
        for _ in range(iterations):
            velocity = mink.solve_ik(
                configuration,
                [*tasks, posture, *couplings],
                1.0,
                settings.solver,
                damping=settings.damping,
                limits=limits,
            )
            configuration.integrate_inplace(velocity, 1.0)

    for frame in range(targets.num_frames):
        goal = targets.keypoints[frame, rows]
        if frame == 0:
            # From the standing pose to the first frame in small steps: one large step
            # linearises the floor limit badly and can put a foot through the floor.
            _place_root(configuration, morphology, goal, names)
            start = index.positions(configuration.data, names)
            stages = settings.first_frame_stages
            for fraction in np.arange(1, stages + 1) / stages:
                follow(start + fraction * (goal - start), settings.first_frame_iterations // stages)
        else:
            follow(goal, settings.iterations)
        qpos[frame] = configuration.q
        reached[frame] = index.positions(configuration.data)
    return IkResult(qpos=qpos, keypoints=reached, keypoint_names=index.names)


def floor_limit(morphology: Morphology, settings: IkSettings) -> mink.CollisionAvoidanceLimit:
    """Feet kept on or above the floor, as a velocity inequality on every foot geom.

    The IK starts from the standing pose (feet on the floor), and the limit lets no step
    move a foot geom below `floor_clearance`; a toe-down push-off bends the MTP joint
    instead of pushing the toes into the ground.
    """
    model = morphology.model()
    feet = [g for geoms in foot_geoms(morphology).values() for g in geoms]
    return mink.CollisionAvoidanceLimit(
        model,
        geom_pairs=[([model.geom(g).name for g in feet], [model.geom(floor_geom(model)).name])],
        gain=settings.floor_gain,
        minimum_distance_from_collisions=settings.floor_clearance,
        collision_detection_distance=settings.floor_detection,
    )


def self_collision_limits(
    model: mujoco.MjModel, settings: IkSettings
) -> list[mink.CollisionAvoidanceLimit]:
    """The body's own colliding geoms kept apart (`self_contact_pairs`): a source whose legs
    pass close (a narrow gait, a turn) would otherwise put one leg through the other, which
    the body's legs, colliding in simulation, cannot follow. mink's limit only stops geoms
    from closing: an overlap that one linearised step makes stays (measured on CMU 16_27: a
    foot 26 mm inside the other's toes in one frame), so the quality reports the overlap.

    mink pairs only geoms whose contype/conaffinity bits match; MyoLeg's legs collide through
    explicit contact pairs instead, so the limit works on a copy of the model whose geoms in
    such pairs match each other. The IK only measures distances on it, never simulates.
    """
    pairs = self_contact_pairs(model)
    if not pairs:
        return []
    matched = copy.copy(model)
    for geom in {g for pair in pairs for g in pair}:
        matched.geom_conaffinity[geom] |= matched.geom_contype[geom] or 1
        matched.geom_contype[geom] |= matched.geom_conaffinity[geom]
    return [
        mink.CollisionAvoidanceLimit(
            matched,
            geom_pairs=[([_geom_name(model, a)], [_geom_name(model, b)]) for a, b in pairs],
            gain=settings.floor_gain,
            minimum_distance_from_collisions=settings.self_clearance,
            collision_detection_distance=settings.self_detection,
        )
    ]


def _geom_name(model: mujoco.MjModel, geom: int) -> str:
    name = model.geom(geom).name
    if not name:
        raise ValueError(f"geom {geom} of the model collides with the body but has no name")
    return name


def _place_root(
    configuration: mink.Configuration,
    morphology: Morphology,
    points: np.ndarray,
    names: tuple[str, ...],
) -> None:
    """Start the first frame with the root under the target pelvis, facing the target way."""
    model = configuration.model
    q = morphology.standing_qpos()
    adr = model.jnt_qposadr[model.joint(morphology.root_joint).id]
    target = dict(zip(names, points, strict=True))
    left = target["l_hip"] - target["r_hip"]
    heading = np.arctan2(left[1], left[0])  # yaw of the target's left axis
    body_left = morphology.frame.left_vector
    body_heading = np.arctan2(body_left[1], body_left[0])
    yaw = heading - body_heading
    quat = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
    q[adr + 3 : adr + 7] = quat
    data = mujoco.MjData(model)
    data.qpos[:] = q
    mujoco.mj_kinematics(model, data)
    body_pelvis = morphology.keypoint_positions(data, ("pelvis",))[0]
    q[adr : adr + 3] += target["pelvis"] - body_pelvis
    # A crouched first frame would start with the feet in the floor, where the floor limit
    # can only push them out slowly; start above it instead.
    data.qpos[:] = q
    mujoco.mj_kinematics(model, data)
    feet = [g for geoms in foot_geoms(morphology).values() for g in geoms]
    depth = floor_distances(model, data, feet, floor_geom(model)).min()
    q[adr + 2] += max(0.0, -depth)
    configuration.update(q)
