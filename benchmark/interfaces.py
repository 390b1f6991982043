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

Both send only excitations to the muscles. The energy reward is computed on the excitations
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
}
DEFAULT = "excitation"
SERVO_KP = 5.0  # times the muscle's peak force, per metre
SERVO_KD = 0.1  # times kp, per metre per second
RESIDUAL_M = 1.0 / SERVO_KP  # reference_length: the residual of |a| = 1, in metres


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
        self.excitation = np.zeros(model.nu)

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


def make(name: str, model: mujoco.MjModel, substeps: int) -> Excitation | MuscleLengthServo:
    """The interface `name` for a model stepped `substeps` times per control step."""
    if check(name) == "excitation":
        return Excitation(model, substeps)
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
