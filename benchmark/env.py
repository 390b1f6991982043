"""The imitation environment: a muscle-driven body tracks one reference clip at 30 Hz.

Observation (float32; dimension per body in docs/protocol.md):
  proprioception
    root height (1); gravity direction in the root frame (3);
    every body's position relative to the root (3 per body), the first and then the second
    column of every body's rotation matrix (3 + 3 per body), every body's linear and angular
    velocity at its origin (3 + 3 per body), all in the heading frame; foot contacts (2);
    per muscle: normalised length, length velocity, force over peak force, activation (4);
  task, for each of the next K reference frames (default K = 1)
    per tracked keypoint: reference minus body position (3), reference minus body velocity
    (3), reference position relative to the root (3), all in the heading frame; keypoint
    velocities are backward differences over the control step, for body and reference.
The heading frame turns the world about z so that x is the root's forward direction.
The arithmetic is compiled (`benchmark.kernels`); `tests/test_observation.py` checks it.
Action: one value per muscle in [-1, 1], read by the task's action interface
(`benchmark.interfaces`): `excitation` (a + 1) / 2 held for the substeps (protocol v1's
reference), `muscle_length`, a target length per muscle held by a servo at every substep, or
`reference_length`, the same servo around the muscle lengths of the reference pose; or, one
value per controlled joint, `joint_target`, a target angle around the reference pose.
Reward (Kinesis weights): 0.6 exp(-200 e_pos) + 0.2 exp(-5 e_vel) + 0.1 exp(-3 tilt^2)
  + 0.1 exp(-0.05 (|u|_1 + |u|_2)); e_pos, e_vel are mean squared component errors of
  the tracked keypoints' positions and velocities, u the excitations.
Episodes: training resets to a random clip and frame; evaluation (`evaluation=True`) to
frame 0 of the clip named in `reset(options={"clip": ...})`, else the next clip in turn.
Activations start at zero. Terminated when the simulation diverges or by the termination
rule: `mean-error` (protocol v1, always in evaluation), the mean tracked-keypoint error over
0.5 m x size scale; or, for training only, `any-keypoint` (Kinesis's), any tracked keypoint
farther than `termination_distance` (0.15 m by default) x size scale; and, for training only,
when `termination_tilt` (radians) is set, the root tilted more than that from upright.
For training only, `pose_reward` w in [0, 1) mixes DeepMimic's pose term into the reward:
(1 - w) r + w exp(-2 (root angle^2 + sum of squared joint-angle errors)), the root's angle
from the reference root's orientation and the scored joints' errors in radians.
For training only, `assist` s in [0, 1] (settable between episodes, as a curriculum lowers
it) puts a torque on the root toward the reference root's orientation, held for the step:
s (K angle - D (w - w_ref)), K = ASSIST_STIFFNESS m g h per radian (m the body's mass, h
its standing hip height), D = ASSIST_DAMPING K seconds: a hand that holds the trunk up
while the policy learns to track, withdrawn as it learns to balance (Yu, Turk & Liu,
"Learning symmetric and low-energy locomotion", SIGGRAPH 2018, assist a body the same way).
Truncated at the clip's last frame. `info` carries the per-step errors and activations the
metrics need, the steps since the episode began (`episode_steps`) and, on termination, the
index of the tracked keypoint farthest off (`ended_by`; -1 otherwise, len(tracked) when the
tilt rule alone ended it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium
import mujoco
import numpy as np

import morphologies
from benchmark import interfaces, kernels, protocol
from benchmark.tasks import Task, get_task
from morphologies.contacts import floor_geom, foot_geoms
from retargeting.datasets.clip import Clip

# termination rules and their default distances (metres at size scale 1)
TERMINATION_RULES = {
    "mean-error": protocol.TERMINATION_MEAN_ERROR,
    "any-keypoint": protocol.STRICT_ERROR,
}


def resolve_termination_distance(rule: str, distance: float | None = None) -> float:
    """The distance (metres at size scale 1) a termination rule ends episodes at: `distance`,
    or the rule's default; a ValueError for an unknown rule or a distance that is not one."""
    if rule not in TERMINATION_RULES:
        raise ValueError(
            f"unknown termination rule {rule!r}; known: {', '.join(TERMINATION_RULES)}"
        )
    value = TERMINATION_RULES[rule] if distance is None else float(distance)
    if not 0 < value < math.inf:
        raise ValueError(
            f"termination_distance must be a positive distance in metres, got {value!r}"
        )
    return value


# DeepMimic's pose reward scale (Peng et al. 2018): exp(-2 * sum of squared angle errors, rad^2)
POSE_SCALE = 2.0


def check_pose_reward(weight: float) -> float:
    """A training pose-reward weight in [0, 1), or a ValueError."""
    value = float(weight)
    if not 0 <= value < 1:
        raise ValueError(f"pose_reward must be a weight in [0, 1), got {weight!r}")
    return value


# The training assist's gains (module docstring): half the torque that gravity puts on the
# body tilted about its feet, and damping Kinesis's 0.1 s; held for a control step (1/30 s),
# a stiffer or more damped torque overshoots where the trunk swings on a slack hip.
ASSIST_STIFFNESS = 0.5
ASSIST_DAMPING = 0.1


def check_assist(scale: float) -> float:
    """A training assist scale in [0, 1], or a ValueError."""
    value = float(scale)
    if not 0 <= value <= 1:
        raise ValueError(f"assist must be a scale in [0, 1], got {scale!r}")
    return value


def check_tilt(tilt: float | None) -> float | None:
    """A training tilt limit in radians (None: no limit), or a ValueError."""
    if tilt is None:
        return None
    value = float(tilt)
    if not 0 < value < math.pi:
        raise ValueError(f"termination_tilt must be an angle in (0, pi) radians, got {tilt!r}")
    return value


@dataclass(frozen=True)
class StepArrays:
    """What a step reads besides MuJoCo's data, for a backend that steps the same task
    (`benchmark.mjx_env`): the rows and ids it reads, the muscle normalisation, the
    references of every clip by name."""

    tracked_ids: np.ndarray  # body or site id of each tracked keypoint
    tracked_sites: np.ndarray  # True where the keypoint is a site
    pelvis_row: int
    root_body: int
    forward: np.ndarray  # the body's forward axis in its root frame
    up: np.ndarray
    length_low: np.ndarray
    length_span: np.ndarray
    peak_force: np.ndarray
    foot_of_geom: np.ndarray  # 0 (right foot), 1 (left) or -1 per geom
    floor: int
    joint_adr: np.ndarray  # qpos address of each scored joint
    substeps: int
    scale: float  # the body's size scale
    reference_velocity: dict[str, np.ndarray]  # keypoint velocities per clip, (T, K, 3)
    reference_lengths: dict[str, np.ndarray]  # muscle lengths per clip (reference_length)


class ImitationEnv(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(
        self,
        task: str | Task = "legs80-walk",
        *,
        split: str = "train",
        evaluation: bool = False,
        frames_ahead: int = 1,
        clips: list[Clip] | None = None,
        action_interface: str = interfaces.DEFAULT,
        termination: str = "mean-error",
        termination_distance: float | None = None,
        termination_tilt: float | None = None,
        pose_reward: float = 0.0,
        assist: float = 0.0,
        replay_reference: bool = False,
    ) -> None:
        self.task = get_task(task) if isinstance(task, str) else task
        distance = resolve_termination_distance(termination, termination_distance)
        rule = (termination, distance, termination_tilt)
        if evaluation and rule != ("mean-error", TERMINATION_RULES[termination], None):
            raise ValueError("evaluation ends episodes by protocol v1's rule only (mean-error)")
        self.termination, self.termination_distance = termination, distance
        self.termination_tilt = check_tilt(termination_tilt)
        self.pose_reward = check_pose_reward(pose_reward)
        if evaluation and self.pose_reward:
            raise ValueError("evaluation rewards by protocol v1's terms only (pose_reward 0)")
        self._assist = check_assist(assist)
        if evaluation and self._assist:
            raise ValueError("evaluation applies no outside force (assist 0)")
        self.action_interface = interfaces.check(action_interface)
        self.body = self.task.body
        self.model = self.body.model()
        self.data = mujoco.MjData(self.model)
        self.clips = clips if clips is not None else self.task.load_clips(split)
        if not self.clips:
            raise ValueError(f"task {self.task.id}: no clips in split {split!r}")
        for clip in self.clips:
            if abs(clip.fps - self.body.sim.control_hz) > 1e-6:
                raise ValueError(
                    f"clip {clip.name} is at {clip.fps} Hz; the body is controlled at "
                    f"{self.body.sim.control_hz} Hz"
                )
        self.evaluation = evaluation
        self.frames_ahead = int(frames_ahead)
        self.scale = protocol.size_scale(self.body)
        # the diagnostic reference agent's episodes: each step sets the clip's next frame
        self.replay_reference = bool(replay_reference)

        model = self.model
        tracked = self.clips[0].keypoint_names
        self.tracked = tracked
        self._pelvis_row = tracked.index("pelvis")
        index = self.body.keypoint_index()
        rows = np.array([index.row(name) for name in tracked])
        self._tracked_sites = np.ascontiguousarray(index.is_site[rows], dtype=np.bool_)
        self._tracked_ids = np.ascontiguousarray(index.ids[rows], dtype=np.int64)
        root_joint = model.joint(self.body.root_joint)
        self._root_body = int(root_joint.bodyid[0])
        self._root_quat = int(model.jnt_qposadr[root_joint.id]) + 3  # qpos of its orientation
        self._root_spin = int(model.jnt_dofadr[root_joint.id]) + 3  # qvel of its rotation
        self._forward = np.asarray(self.body.frame.forward_vector, dtype=np.float64)
        self._up = np.asarray(self.body.frame.up_vector, dtype=np.float64)
        # muscle normalisation of the observation (and of DEP's sensor): length range, peak force
        low, high = model.actuator_lengthrange.T
        self._length_low, self._length_span = low, np.maximum(high - low, 1e-6)
        self._peak_force = np.maximum(np.abs(model.actuator_gainprm[:, 2]), 1.0)
        feet = foot_geoms(self.body)
        self._foot_of_geom = np.full(model.ngeom, -1)
        for column, side in enumerate(feet.values()):
            self._foot_of_geom[list(side)] = column
        self._floor = floor_geom(model)
        self._joint_adr = np.array(
            [model.jnt_qposadr[model.joint(name).id] for name in self.body.joints], np.int64
        )
        self._substeps = self.body.sim.substeps
        measures, gravity = self.body.measures, float(np.linalg.norm(model.opt.gravity))
        weight = measures.total_mass * gravity
        self._assist_stiffness = ASSIST_STIFFNESS * weight * measures.hip_height
        # MuJoCo counts bad qpos, qvel and qacc (NaN or huge) in consecutive warning slots;
        # a view of those counts (cleared by mj_resetData) tells a diverging simulation
        first, last = mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQACC
        self._divergence_counts = self.data.warning.number[int(first) : int(last) + 1]
        self._reference_velocity = {
            clip.name: backward_velocity(clip.keypoints, clip.fps) for clip in self.clips
        }

        count = model.nbody - 1  # every body but the world
        # proprioception blocks: height + gravity, positions, rotation columns, linear and
        # angular velocities, foot contacts, muscles; the task terms follow
        sizes = [4, 3 * count, 6 * count, 3 * count, 3 * count, 2, 4 * model.nu]
        self._proprioception_size = sum(sizes)
        self._actuation = interfaces.make(
            action_interface, model, self._substeps, tuple(self.body.joints)
        )
        # what the interface reads of each clip frame (reference lengths, joint states)
        self._references = {
            clip.name: self._actuation.references(model, clip.qpos, clip.qvel)
            for clip in (self.clips if self._actuation.uses_reference else [])
        }
        size = self._actuation.action_size
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (size,), np.float32)
        size = self.observation_size
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (size,), np.float32)
        self._next = 0
        self.clip: Clip = self.clips[0]
        self.frame = 0

    def muscle_readings(
        self, observations: np.ndarray, *, normalised: bool = False
    ) -> morphologies.MuscleReadings:
        """The muscles' state held in `observations` (rows of this environment's observations),
        arrays of (rows, muscles): length, velocity and force in the units
        `Morphology.muscle_readings` reads from MuJoCo (m, m/s, N), and activation; with
        `normalised`, as the observation holds them (length over the muscle's length range,
        0 at its low end; velocity per span; force over peak force). The one call DEP's
        sensor reads through."""
        rows = np.atleast_2d(observations)
        end = self._proprioception_size
        block = rows[:, end - 4 * self.model.nu : end].reshape(len(rows), 4, self.model.nu)
        length, velocity, force, activation = block.astype(np.float64).transpose(1, 0, 2)
        if not normalised:
            length = self._length_low + length * self._length_span
            velocity = velocity * self._length_span
            force = force * self._peak_force
        return morphologies.MuscleReadings(length, velocity, force, activation)

    def step_arrays(self) -> StepArrays:
        """The arrays this environment's steps read besides MuJoCo's data."""
        return StepArrays(
            self._tracked_ids,
            self._tracked_sites,
            self._pelvis_row,
            self._root_body,
            self._forward,
            self._up,
            self._length_low,
            self._length_span,
            self._peak_force,
            self._foot_of_geom,
            self._floor,
            self._joint_adr,
            self._substeps,
            self.scale,
            self._reference_velocity,
            self._references if self.action_interface == "reference_length" else {},
        )

    @property
    def observation_size(self) -> int:
        return self._proprioception_size + self.frames_ahead * 9 * len(self.tracked)

    # -- episode control ------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        if "clip" in options:
            names = [c.name for c in self.clips]
            if options["clip"] not in names:
                raise KeyError(f"no clip {options['clip']!r} in this environment; it has {names}")
            self.clip = self.clips[names.index(options["clip"])]
        elif self.evaluation:
            self.clip = self.clips[self._next % len(self.clips)]
            self._next += 1
        else:
            self.clip = self.clips[int(self.np_random.integers(len(self.clips)))]
        last = len(self.clip.qpos) - 1
        if "start" in options:
            self.frame = int(options["start"])
        elif self.evaluation:
            self.frame = 0
        else:
            self.frame = int(self.np_random.integers(0, max(last, 1)))
        data = self.data
        self._start = self.frame
        mujoco.mj_resetData(self.model, data)  # activations to zero, warnings cleared
        data.qpos[:] = self.clip.qpos[self.frame]
        data.qvel[:] = self.clip.qvel[self.frame]
        mujoco.mj_forward(self.model, data)
        self._points = self.tracked_points()
        self._velocity = self._reference_velocity[self.clip.name][self.frame].copy()
        info = {"clip": self.clip.name, "frame": self.frame, "start": self.frame}
        return self._observation(), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = np.asarray(action)
        if action.dtype.kind not in "iuf":
            raise ValueError(f"action must be real numbers, got an array of {action.dtype}")
        if action.shape != self.action_space.shape:
            shape = self.action_space.shape
            raise ValueError(f"action must have shape {shape}, got {action.shape}")
        data, model, clip = self.data, self.model, self.clip
        failure = None
        if self.replay_reference:
            if not np.all(np.isfinite(action)):
                raise ValueError("action contains NaN or infinite values")
            effort = kernels.excite(action, np.zeros(len(action)))
            data.qpos[:] = clip.qpos[self.frame + 1]
            data.qvel[:] = clip.qvel[self.frame + 1]
            mujoco.mj_forward(model, data)
        else:
            reference = self._references.get(clip.name)
            if reference is not None:
                reference = reference[self.frame + 1]
            if self._assist:
                data.xfrc_applied[self._root_body, 3:] = self._assist_torque(self.frame + 1)
            effort = self._actuation.step(model, data, action, reference)
            if not math.isfinite(effort):
                raise ValueError("action contains NaN or infinite values")
            if self._divergence_counts.any():
                failure = self._divergence(self.frame + 1)
        self.frame += 1
        previous = self._points
        self._points = self.tracked_points()
        (
            self._velocity,
            errors,
            mpjpe,
            mpjpe_root_relative,
            velocity_error,
            position_sq,
            velocity_sq,
            joint_error_sq,
            tilt,
        ) = kernels.score(
            self._points,
            previous,
            clip.keypoints[self.frame],
            self._reference_velocity[clip.name][self.frame],
            self._pelvis_row,
            clip.fps,
            data.qpos,
            clip.qpos[self.frame],
            self._joint_adr,
            data.xmat[self._root_body],
            self._up,
        )
        rewards = {
            "position": math.exp(-protocol.POSITION_SCALE * position_sq),
            "velocity": math.exp(-protocol.VELOCITY_SCALE * velocity_sq),
            "upright": math.exp(-protocol.UPRIGHT_SCALE * tilt * tilt),
            "energy": math.exp(-protocol.ENERGY_SCALE * effort),
        }
        weights = protocol.REWARD_WEIGHTS
        reward = sum(weights[k] * v for k, v in rewards.items())
        if self.pose_reward:
            rewards["pose"] = math.exp(-POSE_SCALE * self._pose_error_sq(clip.qpos[self.frame]))
            reward = (1 - self.pose_reward) * reward + self.pose_reward * rewards["pose"]
        off = mpjpe if self.termination == "mean-error" else errors.max()
        too_far = off > self.termination_distance * self.scale
        tilted = self.termination_tilt is not None and tilt > self.termination_tilt
        ended = failure is None and (too_far or tilted)
        terminated = failure is not None or ended
        truncated = not terminated and self.frame >= len(clip.qpos) - 1
        info = {
            "clip": clip.name,
            "frame": self.frame,
            "keypoint_errors": errors,
            "mpjpe": mpjpe,
            "mpjpe_root_relative": mpjpe_root_relative,
            "velocity_error": velocity_error,
            "joint_error_sq": joint_error_sq,
            "activation": data.act.copy(),
            "reward_terms": rewards,
            "failure": failure,
            "episode_steps": self.frame - self._start,
            "ended_by": (
                -1 if not ended else int(np.argmax(errors)) if too_far else len(self.tracked)
            ),
        }
        observation = (
            self._observation() if failure is None else np.zeros(self.observation_size, np.float32)
        )
        return observation, reward, terminated, truncated, info

    @property
    def assist(self) -> float:
        """The training assist's scale (module docstring); set it to change it."""
        return self._assist

    @assist.setter
    def assist(self, scale: float) -> None:
        value = check_assist(scale)
        if self.evaluation and value:
            raise ValueError("evaluation applies no outside force (assist 0)")
        self._assist = value
        if not value:
            self.data.xfrc_applied[self._root_body, 3:] = 0.0

    def _assist_torque(self, frame: int) -> np.ndarray:
        """World torque on the root toward the reference root's orientation at `frame`."""
        data, at, spin_at = self.data, self._root_quat, self._root_spin
        target = self.clip.qpos[frame, at : at + 4]
        inverse, turn = np.empty(4), np.empty(4)
        mujoco.mju_negQuat(inverse, data.qpos[at : at + 4])
        mujoco.mju_mulQuat(turn, target, inverse)
        angle = np.empty(3)
        mujoco.mju_quat2Vel(angle, turn, 1.0)  # world axis x angle, body -> reference
        # a free joint's angular velocity is in the body's frame
        spin = data.xmat[self._root_body].reshape(3, 3) @ data.qvel[spin_at : spin_at + 3]
        reference = np.empty(9)
        mujoco.mju_quat2Mat(reference, target)
        spin_ref = reference.reshape(3, 3) @ self.clip.qvel[frame, spin_at : spin_at + 3]
        stiffness = self._assist * self._assist_stiffness
        return stiffness * (angle - ASSIST_DAMPING * (spin - spin_ref))

    def _divergence(self, frame: int) -> str:
        first = int(mujoco.mjtWarning.mjWARN_BADQPOS)
        raised = np.flatnonzero(self._divergence_counts) + first
        names = ", ".join(mujoco.mjtWarning(int(w)).name for w in raised)
        return f"simulation diverged at clip frame {frame} ({names})"

    def _pose_error_sq(self, reference: np.ndarray) -> float:
        """Squared angle of the root from the reference root's orientation plus the scored
        joints' squared errors (rad^2): DeepMimic's pose error."""
        at, qpos = self._root_quat, self.data.qpos
        cosine = abs(float(qpos[at : at + 4] @ reference[at : at + 4]))
        root = 2.0 * math.acos(min(1.0, cosine))
        joints = qpos[self._joint_adr] - reference[self._joint_adr]
        return root * root + float(joints @ joints)

    # -- observation ----------------------------------------------------------------------
    def tracked_points(self) -> np.ndarray:
        """World positions of the tracked keypoints in the present state, (K, 3)."""
        data = self.data
        return kernels.tracked_points(
            data.xpos, data.site_xpos, self._tracked_ids, self._tracked_sites
        )

    def _observation(self) -> np.ndarray:
        data = self.data
        return kernels.observe(
            self.observation_size,
            self._root_body,
            self._forward,
            data.xpos,
            data.xmat,
            data.cvel,
            data.subtree_com,
            self.model.body_rootid,
            data.contact.geom,
            self._foot_of_geom,
            self._floor,
            data.actuator_length,
            self._length_low,
            self._length_span,
            data.actuator_velocity,
            data.actuator_force,
            self._peak_force,
            data.act,
            self._points,
            self._velocity,
            self.clip.keypoints,
            self._reference_velocity[self.clip.name],
            self.frame,
            self.frames_ahead,
        )


def backward_velocity(points: np.ndarray, fps: float) -> np.ndarray:
    """Keypoint velocities as the body's are measured: backward differences (0 at frame 0)."""
    velocity = np.zeros_like(points)
    velocity[1:] = np.diff(points, axis=0) * fps
    return velocity
