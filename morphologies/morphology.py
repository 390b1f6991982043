"""The morphology: everything the rest of crossmimic needs to know about one body.

A morphology is data plus one builder function. Retargeting, tasks and metrics read the
keypoints, the frame convention, the size and the simulation settings from here, so none of
them guesses a body name, an axis or a scale.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import mujoco
import numpy as np

from morphologies.keypoints import FrameConvention, Keypoint, KeypointIndex
from morphologies.model_hash import model_hash
from morphologies.mujoco_warnings import mujoco_warnings_as_python


@dataclass(frozen=True)
class SimSettings:
    """Physics step and control decimation. Protocol v1 controls at 30 Hz."""

    timestep: float
    substeps: int

    @property
    def control_dt(self) -> float:
        return self.timestep * self.substeps

    @property
    def control_hz(self) -> float:
        return 1.0 / self.control_dt


@dataclass(frozen=True)
class MuscleReadings:
    """Per-muscle state at one instant, in actuator order (copies, safe to keep).

    - length: musculotendon length, m (`actuator_length`)
    - velocity: its rate of change, m/s (`actuator_velocity`)
    - force: `actuator_force`, N; MuJoCo muscles pull, so this is <= 0
    - activation: activation state in [0, 1] (`act`)
    """

    length: np.ndarray
    velocity: np.ndarray
    force: np.ndarray
    activation: np.ndarray


@dataclass(frozen=True)
class BodyMeasures:
    """Sizes measured on the compiled model at its standing pose."""

    hip_height: float  # mean height of the hip keypoints above the floor (z = 0), m
    leg_length: float  # along `leg_chain` joint to joint, plus the last joint's height, m
    total_mass: float  # kg


@dataclass(frozen=True)
class Morphology:
    """One body of the suite.

    `build_spec` returns a fresh, uncompiled `mujoco.MjSpec` holding a keyframe named
    `standing`; `model()` compiles it once per process with the simulation settings applied.
    """

    name: str
    description: str
    provenance: str
    build_spec: Callable[[], mujoco.MjSpec] = field(repr=False)
    keypoints: tuple[Keypoint, ...]
    tracked_keypoints: tuple[str, ...]
    frame: FrameConvention
    sim: SimSettings
    species: str = "human"  # retargeting picks its method by source and target species
    root_joint: str = "root"
    standing_key: str = "standing"
    # Leg joints from hip down whose segment lengths, plus the last one's height above the
    # floor, make the leg length (digitigrade bodies add "mtp").
    leg_chain: tuple[str, ...] = ("hip", "knee", "ankle")
    # m: the most a foot falls in one frame of a retargeted clip; retargeting's floor limit
    # must see a foot from this far above the floor (a human's feet fall a few cm at 30 fps)
    foot_fall_per_frame: float = 0.1

    def __post_init__(self) -> None:
        names = [k.name for k in self.keypoints]
        if len(set(names)) != len(names):
            raise ValueError(f"morphology {self.name!r}: duplicate keypoint names in {names}")
        missing = [k for k in self.tracked_keypoints if k not in names]
        if missing:
            raise ValueError(
                f"morphology {self.name!r}: tracked keypoints {missing} are not among its "
                f"keypoints {names}"
            )

    # -- the model ----------------------------------------------------------------------------

    def build_model(self) -> mujoco.MjModel:
        """Compile a fresh model (not cached): the builder, then the simulation settings."""
        return self.compile(self.build_spec())

    def compile(self, spec: mujoco.MjSpec) -> mujoco.MjModel:
        """Compile a (possibly edited) spec of this body with its simulation settings applied.

        MuJoCo's compile-time warnings become Python warnings instead of lines on stdout.
        """
        with mujoco_warnings_as_python():
            spec.option.timestep = self.sim.timestep
            return spec.compile()

    def model(self) -> mujoco.MjModel:
        """The compiled model, built once per process and shared: copy it before editing."""
        return _compiled(self).model

    @property
    def model_hash(self) -> str:
        return _compiled(self).model_hash

    def model_mismatch(self, stored: str) -> str | None:
        """None when `stored` (a file's model hash) is this body's, else the one message every
        reader of a file made for a body gives: what the file was made for and what is here."""
        if stored == self.model_hash:
            return None
        return f"made for model {stored[:12]}, the installed {self.name} is {self.model_hash[:12]}"

    @property
    def build_seconds(self) -> float:
        """Wall time of the first (uncached) build in this process."""
        return _compiled(self).build_seconds

    # -- what the model holds -----------------------------------------------------------------

    @property
    def muscles(self) -> tuple[str, ...]:
        model = self.model()
        return tuple(model.actuator(i).name for i in range(model.nu))

    @property
    def num_muscles(self) -> int:
        return self.model().nu

    @property
    def joints(self) -> tuple[str, ...]:
        """Independent joints measured by the joint-angle error.

        Every hinge and slide joint except the dependent side of a joint-coupling equality
        (MyoLeg's knee translations follow `knee_angle` through polynomials) and except
        joints that an equality locks in place.
        """
        return _compiled(self).joints

    @property
    def dof(self) -> int:
        """Independent degrees of freedom: 6 for the free root plus the measured joints."""
        return 6 + len(self.joints)

    def standing_qpos(self) -> np.ndarray:
        return self.model().key(self.standing_key).qpos.copy()

    @property
    def measures(self) -> BodyMeasures:
        return _compiled(self).measures

    # -- readings from a simulation -----------------------------------------------------------

    def keypoint_index(self) -> KeypointIndex:
        return _compiled(self).keypoint_index

    def keypoint_positions(self, data: mujoco.MjData, names: tuple[str, ...] = ()) -> np.ndarray:
        """World positions (K, 3) of the named keypoints (all keypoints by default)."""
        return self.keypoint_index().positions(data, names or None)

    def muscle_readings(self, data: mujoco.MjData) -> MuscleReadings:
        """Muscle length, velocity, force and activation for `data` of this morphology's model.

        The observation's muscle block holds these, normalised; `ImitationEnv.muscle_readings`
        decodes them from observations (DEP's sensor reads through it).
        """
        act_index = _compiled(self).activation_index
        return MuscleReadings(
            length=data.actuator_length.copy(),
            velocity=data.actuator_velocity.copy(),
            force=data.actuator_force.copy(),
            activation=data.act[act_index].copy(),
        )


@dataclass(frozen=True)
class _Compiled:
    model: mujoco.MjModel
    model_hash: str
    build_seconds: float
    joints: tuple[str, ...]
    keypoint_index: KeypointIndex
    activation_index: np.ndarray
    measures: BodyMeasures


@functools.cache
def _compiled(morphology: Morphology) -> _Compiled:
    start = time.perf_counter()
    model = morphology.build_model()
    seconds = time.perf_counter() - start
    index = KeypointIndex.resolve(model, morphology.keypoints)
    return _Compiled(
        model=model,
        model_hash=model_hash(model),
        build_seconds=seconds,
        joints=_independent_joints(model),
        keypoint_index=index,
        activation_index=_activation_index(model),
        measures=_measure(model, morphology, index),
    )


def _independent_joints(model: mujoco.MjModel) -> tuple[str, ...]:
    dependent = set()
    for i in range(model.neq):
        if model.eq_type[i] == int(mujoco.mjtEq.mjEQ_JOINT):
            dependent.add(int(model.eq_obj1id[i]))
    scalar = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    return tuple(
        model.joint(j).name
        for j in range(model.njnt)
        if model.jnt_type[j] in scalar and j not in dependent
    )


def _activation_index(model: mujoco.MjModel) -> np.ndarray:
    adr = np.asarray(model.actuator_actadr)
    if (adr < 0).any():
        missing = [model.actuator(i).name for i in np.flatnonzero(adr < 0)]
        raise ValueError(f"actuators without activation state are not muscles: {missing}")
    return adr.astype(np.int64)


def _measure(model: mujoco.MjModel, morphology: Morphology, index: KeypointIndex) -> BodyMeasures:
    data = mujoco.MjData(model)
    data.qpos[:] = model.key(morphology.standing_key).qpos
    mujoco.mj_kinematics(model, data)
    up = morphology.frame.up_vector
    hip_heights, leg_lengths = [], []
    for side in ("r", "l"):
        chain = index.positions(data, tuple(f"{side}_{joint}" for joint in morphology.leg_chain))
        hip_heights.append(chain[0] @ up)
        segments = np.linalg.norm(np.diff(chain, axis=0), axis=1)
        leg_lengths.append(segments.sum() + chain[-1] @ up)
    hip_height, leg_length = np.mean(hip_heights), np.mean(leg_lengths)
    return BodyMeasures(
        hip_height=float(hip_height),
        leg_length=float(leg_length),
        total_mass=float(np.sum(model.body_mass)),
    )
