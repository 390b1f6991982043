"""Action interfaces: how an action in [-1, 1] per muscle becomes the muscles' excitations.

- `excitation` (protocol v1's reference interface): u = (a + 1) / 2, held for the substeps.
- `muscle_length` (Kinesis's "PD" mode, which its released results use): the action sets a
  target length per muscle, L* = (a + 1) / 2 high, from 0 to the upper end of the muscle's
  `actuator_lengthrange`. At every physics substep a force is computed by PD on the muscle's
  length and velocity, F = clip(kp (L* - L) - kd dL/dt, -F0, 0) with kp = 5 F0 per metre and
  kd = 0.1 kp (F0: peak force), and turned into the excitation that produces F at full
  activation by inverting MuJoCo's muscle gain and bias at the current length and velocity,
  u = clip((F - bias) / min(-1, gain), 0, 1). MuJoCo's activation dynamics (10 ms / 40 ms)
  still apply. The target's lower end is 0 m, as Kinesis's, below every muscle's range:
  with kp = 5 F0 per metre, a target at the range's lower end could ask a muscle of median
  range (0.1 m on MyoLeg) for only half its peak force, and the one of shortest range
  (0.022 m) for a ninth; from 0 m the median muscle reaches F0.
- `reference_length`: the same servo, its target the muscle's length in the reference pose of
  the frame being tracked plus a residual, L* = L_ref + a / 5 m: a residual of -1 asks a
  muscle at its reference length for its peak force (kp = 5 F0 per metre). The
  zero action holds the reference pose, as MASS's joint targets around the reference pose do
  (Lee et al. 2019; PD targets learn fastest in Peng & van de Panne 2017); the policy
  learns the corrections that keep the body balanced. The reference lengths are the
  `actuator_length` of each clip frame's qpos, computed once per clip.

- `joint_target` (MASS-style, Lee et al. 2019): one action per controlled joint (the body's
  scored joints), a target angle around the reference pose, q* = q_ref + 0.5 a rad. At every
  substep the desired joint torques come from PD at the acceleration level, scaled by the
  joints' effective inertia (critically damped at 15 rad/s), with gravity, Coriolis forces
  and the floor's last push on the legs added, so that a stance leg carries the body; the
  muscles' next activations are then found by bounded least squares on
  their moment arms, gains and passive forces (within what MuJoCo's activation dynamics
  reach in one substep), and the excitation that reaches them is sent. Joints that a joint
  equality ties to a controlled joint (MyoLeg's knee translations and patella) move with
  it. The zero action asks for the reference pose; the policy learns the balance.

All send only excitations to the muscles. The energy reward is computed on the excitations
actually sent: for the servo, their mean over the substeps. The arithmetic is compiled
(`benchmark.kernels`); tests/test_interfaces.py checks the gain and bias against MuJoCo's.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from benchmark import kernels

INTERFACES = {
    "excitation": "excitation (a + 1) / 2 held for the substeps (protocol v1's reference)",
    "muscle_length": "target muscle length, 0 to its range's top, PD servo at every substep",
    "reference_length": "target muscle length around the reference pose's, the same servo",
    "joint_target": "target joint angle around the reference pose's, muscles by least squares",
}
DEFAULT = "excitation"
# the interfaces the MJX backend steps: joint_target's least squares is not written in JAX
MJX_INTERFACES = ("excitation", "muscle_length", "reference_length")
SERVO_KP = 5.0  # times the muscle's peak force, per metre
SERVO_KD = 0.1  # times kp, per metre per second
RESIDUAL_M = 1.0 / SERVO_KP  # reference_length: the residual of |a| = 1, in metres
JOINT_RESIDUAL_RAD = 0.5  # joint_target: the offset of |a| = 1
# joint_target's PD: natural frequency, critically damped. With the zero action on the
# legs80-walk test clips, the root moved along the reference and no floor, 10, 15, 20 and
# 30 rad/s left mean joint errors of 0.13, 0.10, 0.18 and 0.26 rad (faster rings against
# the muscles' activation lag); weightless in the air, holding one pose, 15 settled to 0.04
# rad. On the floor the body falls at each (19-28 frames): balance is the policy's job.
JOINT_OMEGA = 15.0
# weight of |a|^2 against the torque residual, relative to a muscle's mean torque column:
# 0.001 let antagonists co-contract (ankle errors 0.7 rad), 0.1 tracked best, 0.3 sagged
JOINT_REGULARISATION = 0.1
JOINT_SWEEPS = 10  # coordinate-descent sweeps per substep, warm-started at the activations


def check(name: str) -> str:
    """The interface's name, or a ValueError that lists the known ones."""
    if name not in INTERFACES:
        known = ", ".join(f"{k} ({v})" for k, v in INTERFACES.items())
        raise ValueError(f"unknown action interface {name!r}; known: {known}")
    return name


class Excitation:
    """(a + 1) / 2, held for the substeps."""

    uses_reference = False

    def __init__(self, model: mujoco.MjModel, substeps: int) -> None:
        self.substeps = substeps
        self.action_size = model.nu
        self.excitation = np.zeros(model.nu)

    def references(self, model: mujoco.MjModel, qpos: np.ndarray, qvel: np.ndarray) -> None:
        return None

    def step(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        action: np.ndarray,
        reference: np.ndarray | None = None,
    ) -> float:
        """Advance one control step; returns the effort |u|_1 + |u|_2, NaN (and no step)
        for an action with NaN or infinite values."""
        effort = kernels.excite(action, self.excitation)
        if math.isfinite(effort):
            data.ctrl[:] = self.excitation
            mujoco.mj_step(model, data, nstep=self.substeps)
        return effort


class MuscleLengthServo:
    """Target lengths from the action, a PD servo on length at every substep; with
    `residual`, the targets are the reference's lengths plus the action's residual."""

    def __init__(self, model: mujoco.MjModel, substeps: int, residual: bool = False) -> None:
        self.substeps = substeps
        self.action_size = model.nu
        self.uses_reference = residual
        self.lengthrange = np.ascontiguousarray(model.actuator_lengthrange)
        self.low = np.zeros(model.nu)  # the targets' range: 0 to the range's upper end
        self.span = self.lengthrange[:, 1].copy()
        self.acc0 = np.ascontiguousarray(model.actuator_acc0)
        self.gainprm = np.ascontiguousarray(model.actuator_gainprm[:, :9])
        self.biasprm = np.ascontiguousarray(model.actuator_biasprm[:, :9])
        scale = self.gainprm[:, 3] / np.maximum(self.acc0, 1e-15)
        self.peak = np.where(self.gainprm[:, 2] >= 0, self.gainprm[:, 2], scale)
        self.kp = SERVO_KP * self.peak
        self.kd = SERVO_KD * self.kp
        self.targets = np.zeros(model.nu)
        self.excitation_sum = np.zeros(model.nu)
        # the residual's range around a reference length, kept to spare allocations per step
        self._residual_low = np.zeros(model.nu)
        self._residual_span = np.full(model.nu, 2 * RESIDUAL_M)

    def references(
        self, model: mujoco.MjModel, qpos: np.ndarray, qvel: np.ndarray
    ) -> np.ndarray | None:
        """Per clip frame, the muscle lengths of the reference pose (residual targets only)."""
        return reference_lengths(model, qpos) if self.uses_reference else None

    def step(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        action: np.ndarray,
        reference: np.ndarray | None = None,
    ) -> float:
        """Advance one control step; returns the effort of the mean excitation sent, NaN (and
        no step) for an action with NaN or infinite values. `reference`: the muscle lengths
        of the reference frame being tracked (residual targets only)."""
        if self.uses_reference:
            low, span = (
                np.subtract(reference, RESIDUAL_M, out=self._residual_low),
                self._residual_span,
            )
        else:
            low, span = self.low, self.span
        if not kernels.length_targets(action, low, span, self.targets):
            return math.nan
        self.excitation_sum[:] = 0.0
        for _ in range(self.substeps):
            # step1 computes the lengths and velocities of the current state, step2 the
            # rest of the step with the excitation computed from them (the same as mj_step)
            mujoco.mj_step1(model, data)
            kernels.servo(
                self.targets,
                data.actuator_length,
                data.actuator_velocity,
                self.lengthrange,
                self.acc0,
                self.gainprm,
                self.biasprm,
                self.kp,
                self.kd,
                self.peak,
                data.ctrl,
                self.excitation_sum,
            )
            mujoco.mj_step2(model, data)
        return kernels.effort(self.excitation_sum / self.substeps)


class JointTarget:
    """Target joint angles around the reference pose; desired torques by PD, excitations by
    bounded least squares on the muscles at every substep (see the module docstring)."""

    uses_reference = True

    def __init__(self, model: mujoco.MjModel, substeps: int, joints: tuple[str, ...]) -> None:
        if not joints:
            raise ValueError("joint_target needs the body's controlled joints; none given")
        kinds = {int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)}
        ids = [model.joint(name).id for name in joints]
        for name, i in zip(joints, ids, strict=True):
            if int(model.jnt_type[i]) not in kinds:
                raise ValueError(f"joint_target controls one-dof joints; {name} is not one")
        muscles = model.actuator_dyntype == mujoco.mjtDyn.mjDYN_MUSCLE
        if model.na != model.nu or not muscles.all():
            raise ValueError("joint_target drives models whose every actuator is a muscle")
        self.substeps = substeps
        self.action_size = len(joints)
        self.qadr = np.array([model.jnt_qposadr[i] for i in ids], np.int64)
        self.dof = np.array([model.jnt_dofadr[i] for i in ids], np.int64)
        # joint equalities y = poly(x) whose x is a controlled joint: y follows it
        rows = [
            (e, ids.index(int(model.eq_obj2id[e])))
            for e in range(model.neq)
            if model.eq_type[e] == mujoco.mjtEq.mjEQ_JOINT and int(model.eq_obj2id[e]) in ids
        ]
        self.coupled_dof = np.array(
            [model.jnt_dofadr[model.eq_obj1id[e]] for e, _ in rows], np.int64
        )
        self.coupled_joint = np.array([k for _, k in rows], np.int64)
        self.coupled_qadr = self.qadr[self.coupled_joint]
        self.coupled_x0 = model.qpos0[self.coupled_qadr].copy()
        self.coupled_coef = np.array([model.eq_data[e, :5] for e, _ in rows]).reshape(-1, 5)
        self.lengthrange = np.ascontiguousarray(model.actuator_lengthrange)
        self.acc0 = np.ascontiguousarray(model.actuator_acc0)
        self.gainprm = np.ascontiguousarray(model.actuator_gainprm[:, :9])
        self.biasprm = np.ascontiguousarray(model.actuator_biasprm[:, :9])
        self.dynprm = np.ascontiguousarray(model.actuator_dynprm[:, :3])
        self.timestep = float(model.opt.timestep)
        self.coupling = np.zeros((model.nv, len(joints)))
        self.full_mass = np.zeros((model.nv, model.nv))
        self.bias_force = np.zeros(model.nv)
        self.contact_load = np.zeros(model.nv)
        self.targets = np.zeros(len(joints))
        self.excitation = np.zeros(model.nu)
        self.excitation_sum = np.zeros(model.nu)
        self.torque_miss = 0.0  # the last substep's relative torque residual

    def update_coupling(self, qpos: np.ndarray) -> np.ndarray:
        """`coupling` at the pose qpos: (nv, joints) dof velocities per joint velocity."""
        kernels.joint_coupling(
            qpos,
            self.dof,
            self.coupled_dof,
            self.coupled_joint,
            self.coupled_qadr,
            self.coupled_x0,
            self.coupled_coef,
            self.coupling,
        )
        return self.coupling

    def references(self, model: mujoco.MjModel, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """Per clip frame, the controlled joints' angles and velocities (frames, 2 joints)."""
        return np.concatenate([qpos[:, self.qadr], qvel[:, self.dof]], axis=1)

    def step(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        action: np.ndarray,
        reference: np.ndarray | None = None,
    ) -> float:
        """Advance one control step; returns the effort of the mean excitation sent, NaN (and
        no step) for an action with NaN or infinite values. `reference`: the controlled
        joints' angles and velocities in the reference frame being tracked."""
        joints = self.action_size
        offsets = np.asarray(action, dtype=np.float64)
        if not np.all(np.isfinite(offsets)):
            return math.nan
        np.add(
            reference[:joints], JOINT_RESIDUAL_RAD * np.clip(offsets, -1.0, 1.0), out=self.targets
        )
        velocity = reference[joints:]
        self.excitation_sum[:] = 0.0
        for _ in range(self.substeps):
            # the floor's push on the joints, from the last solved constraints (before step1
            # replaces them): a stance leg's torque must carry the body as well as the leg
            contact = np.where(data.efc_type >= _FIRST_CONTACT, data.efc_force, 0.0)
            mujoco.mj_mulJacTVec(model, data, self.contact_load, contact)
            mujoco.mj_step1(model, data)
            mujoco.mj_fullM(model, data, self.full_mass)
            np.subtract(data.qfrc_bias, data.qfrc_passive, out=self.bias_force)
            self.bias_force -= self.contact_load
            self.update_coupling(data.qpos)
            self.torque_miss = kernels.joint_servo(
                self.targets,
                velocity,
                data.qpos,
                data.qvel,
                self.qadr,
                self.dof,
                self.coupling,
                self.full_mass,
                self.bias_force,
                data.moment_rownnz,
                data.moment_rowadr,
                data.moment_colind,
                data.actuator_moment,
                data.actuator_length,
                data.actuator_velocity,
                self.lengthrange,
                self.acc0,
                self.gainprm,
                self.biasprm,
                data.act,
                self.dynprm,
                JOINT_OMEGA,
                JOINT_REGULARISATION,
                self.timestep,
                JOINT_SWEEPS,
                self.excitation,
                self.excitation_sum,
            )
            data.ctrl[:] = self.excitation
            mujoco.mj_step2(model, data)
        return kernels.effort(self.excitation_sum / self.substeps)


Interface = Excitation | MuscleLengthServo | JointTarget
_FIRST_CONTACT = int(mujoco.mjtConstraint.mjCNSTR_CONTACT_FRICTIONLESS)  # contact rows follow


def make(
    name: str, model: mujoco.MjModel, substeps: int, joints: tuple[str, ...] = ()
) -> Interface:
    """The interface `name` for a model stepped `substeps` times per control step;
    `joints`: the body's controlled joints (joint_target's actions)."""
    if check(name) == "excitation":
        return Excitation(model, substeps)
    if name == "joint_target":
        return JointTarget(model, substeps, joints)
    return MuscleLengthServo(model, substeps, residual=name == "reference_length")


def reference_lengths(model: mujoco.MjModel, qpos: np.ndarray) -> np.ndarray:
    """(frames, muscles): each muscle's length in each reference pose."""
    data = mujoco.MjData(model)
    lengths = np.empty((len(qpos), model.nu))
    for frame, pose in enumerate(qpos):
        data.qpos[:] = pose
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        mujoco.mj_tendon(model, data)
        mujoco.mj_transmission(model, data)
        lengths[frame] = data.actuator_length
    return lengths
