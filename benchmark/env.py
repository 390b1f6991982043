"""The imitation environment: a muscle-driven body tracks one reference clip at 30 Hz.

Observation (float32; dimension per body in the README):
  proprioception
    root height (1); gravity direction in the root frame (3);
    every body's position relative to the root (3 per body), the first and then the second
    column of every body's rotation matrix (3 + 3 per body), every body's linear and angular
    velocity (3 + 3 per body), all in the heading frame; foot contacts (2);
    per muscle: normalised length, length velocity, force over peak force, activation (4);
  task, for each of the next K reference frames (default K = 1)
    per tracked keypoint: reference minus body position (3), reference minus body velocity
    (3), reference position relative to the root (3), all in the heading frame.
Action: one value per muscle in [-1, 1]; excitation (a + 1) / 2, held for the substeps.
Reward (Kinesis weights): 0.6 exp(-200 e_pos) + 0.2 exp(-5 e_vel) + 0.1 exp(-3 tilt^2)
  + 0.1 exp(-0.05 (|u|_1 + |u|_2)); e_pos, e_vel are mean squared component errors of
  the tracked keypoints' positions and velocities, u the excitations.
Episodes: training resets to a random clip and frame; evaluation (`evaluation=True`) to
frame 0 of the clip named in `reset(options={"clip": ...})`, else the next clip in turn.
Activations start at zero. Terminated when the mean tracked-keypoint error exceeds
0.5 m x size scale, or the simulation diverges; truncated at the clip's last frame.
`info` carries the per-step errors and activations the metrics need.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import mujoco
import numpy as np

import morphologies
from benchmark import protocol
from benchmark.tasks import Task, get_task
from morphologies.contacts import floor_geom, foot_geoms
from retargeting.retarget import Clip


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
    ) -> None:
        self.task = get_task(task) if isinstance(task, str) else task
        self.body = morphologies.get(self.task.morphology)
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
        self.replay_reference = False  # set by the diagnostic reference agent only

        model = self.model
        tracked = self.clips[0].keypoint_names
        self.tracked = tracked
        self._pelvis_row = tracked.index("pelvis")
        index = self.body.keypoint_index()
        rows = np.array([index.row(name) for name in tracked])
        self._tracked_sites = index.is_site[rows]
        self._tracked_ids = index.ids[rows]
        root_joint = model.joint(self.body.root_joint)
        self._root_body = int(root_joint.bodyid[0])
        self._bodies = np.arange(1, model.nbody)
        self._forward = self.body.frame.forward_vector
        self._up = self.body.frame.up_vector
        low, high = model.actuator_lengthrange.T
        self._length_low, self._length_span = low, np.maximum(high - low, 1e-6)
        self._peak_force = np.maximum(np.abs(model.actuator_gainprm[:, 2]), 1.0)
        feet = foot_geoms(self.body)
        self._foot_of_geom = np.full(model.ngeom, -1)
        for column, side in enumerate(feet.values()):
            self._foot_of_geom[list(side)] = column
        self._floor = floor_geom(model)
        self._joint_adr = np.array(
            [model.jnt_qposadr[model.joint(name).id] for name in self.body.joints]
        )
        self._instability = [
            int(w)
            for w in (
                mujoco.mjtWarning.mjWARN_BADQPOS,
                mujoco.mjtWarning.mjWARN_BADQVEL,
                mujoco.mjtWarning.mjWARN_BADQACC,
            )
        ]
        self._reference_velocity = {
            clip.name: _backward_velocity(clip.keypoints, clip.fps) for clip in self.clips
        }

        self._body_roots = model.body_rootid[self._bodies]
        count = len(self._bodies)
        # proprioception blocks: height + gravity, positions, rotation columns, linear and
        # angular velocities, foot contacts, muscles; the task terms follow
        sizes = [4, 3 * count, 6 * count, 3 * count, 3 * count, 2, 4 * model.nu]
        self._cuts = np.cumsum(sizes)
        self._buffer = np.zeros(self.observation_size, np.float32)
        self._stack = np.zeros((5 * count + 3 * len(tracked) * self.frames_ahead, 3))
        self._rotation = np.eye(3)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (model.nu,), np.float32)
        size = self.observation_size
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (size,), np.float32)
        self._next = 0
        self.clip: Clip = self.clips[0]
        self.frame = 0

    @property
    def observation_size(self) -> int:
        return int(self._cuts[-1]) + self.frames_ahead * 9 * len(self.tracked)

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
        mujoco.mj_resetData(self.model, data)  # activations to zero, warnings cleared
        data.qpos[:] = self.clip.qpos[self.frame]
        data.qvel[:] = self.clip.qvel[self.frame]
        mujoco.mj_forward(self.model, data)
        self._points = self._tracked_points()
        self._velocity = self._reference_velocity[self.clip.name][self.frame].copy()
        info = {"clip": self.clip.name, "frame": self.frame, "start": self.frame}
        return self._observation(), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (self.model.nu,):
            raise ValueError(f"action must have shape ({self.model.nu},), got {action.shape}")
        excitation = 0.5 * (action + 1.0)
        if not math.isfinite(excitation.sum()):  # one reduction finds any NaN or infinity
            raise ValueError("action contains NaN or infinite values")
        np.clip(excitation, 0.0, 1.0, out=excitation)
        data, model = self.data, self.model
        previous = self._points
        self.frame += 1
        failure = None
        if self.replay_reference:
            data.qpos[:] = self.clip.qpos[self.frame]
            data.qvel[:] = self.clip.qvel[self.frame]
            mujoco.mj_forward(model, data)
        else:
            data.ctrl[:] = excitation
            mujoco.mj_step(model, data, nstep=self.body.sim.substeps)
            unstable = [w for w in self._instability if data.warning[w].number]
            if unstable or not np.all(np.isfinite(data.qpos)):
                names = ", ".join(mujoco.mjtWarning(w).name for w in unstable) or "non-finite qpos"
                failure = f"simulation diverged at clip frame {self.frame} ({names})"
        self._points = self._tracked_points()
        self._velocity = (self._points - previous) * self.clip.fps
        reference = self.clip.keypoints[self.frame]
        reference_velocity = self._reference_velocity[self.clip.name][self.frame]
        offset = self._points - reference
        squared = np.einsum("ij,ij->i", offset, offset)
        errors = np.sqrt(squared)
        count = len(errors)
        mean_error = float(errors.sum()) / count
        root_offset = offset - offset[self._pelvis_row]
        velocity_offset = self._velocity - reference_velocity
        velocity_squared = np.einsum("ij,ij->i", velocity_offset, velocity_offset)
        tilt = self._tilt()
        components = 3 * count
        effort = float(excitation.sum() + math.sqrt(excitation @ excitation))
        rewards = {
            "position": math.exp(-protocol.POSITION_SCALE * float(squared.sum()) / components),
            "velocity": math.exp(
                -protocol.VELOCITY_SCALE * float(velocity_squared.sum()) / components
            ),
            "upright": math.exp(-protocol.UPRIGHT_SCALE * tilt * tilt),
            "energy": math.exp(-protocol.ENERGY_SCALE * effort),
        }
        weights = protocol.REWARD_WEIGHTS
        reward = sum(weights[k] * v for k, v in rewards.items())
        terminated = failure is not None or (
            mean_error > protocol.TERMINATION_MEAN_ERROR * self.scale
        )
        truncated = not terminated and self.frame >= len(self.clip.qpos) - 1
        joint_offset = data.qpos[self._joint_adr] - self.clip.qpos[self.frame, self._joint_adr]
        info = {
            "clip": self.clip.name,
            "frame": self.frame,
            "keypoint_errors": errors,
            "mpjpe": mean_error,
            "mpjpe_root_relative": float(
                np.sqrt(np.einsum("ij,ij->i", root_offset, root_offset)).sum()
            )
            / count,
            "velocity_error": float(np.sqrt(velocity_squared).sum()) / count,
            "joint_error_sq": float(joint_offset @ joint_offset) / len(joint_offset),
            "activation": data.act.copy(),
            "reward_terms": rewards,
            "failure": failure,
        }
        observation = (
            self._observation() if failure is None else np.zeros(self.observation_size, np.float32)
        )
        return observation, reward, terminated, truncated, info

    # -- observation ----------------------------------------------------------------------
    def _tracked_points(self) -> np.ndarray:
        if not self._tracked_sites.any():
            return self.data.xpos[self._tracked_ids]
        points = np.empty((len(self._tracked_ids), 3))
        sites = self._tracked_sites
        points[~sites] = self.data.xpos[self._tracked_ids[~sites]]
        points[sites] = self.data.site_xpos[self._tracked_ids[sites]]
        return points

    def _heading(self) -> np.ndarray:
        """Rotation about z from the heading frame to the world (columns: forward, left, up)."""
        forward = self.data.xmat[self._root_body].reshape(3, 3) @ self._forward
        norm = math.hypot(forward[0], forward[1]) or 1.0
        c, s = forward[0] / norm, forward[1] / norm
        heading = self._rotation
        heading[0, 0], heading[0, 1], heading[1, 0], heading[1, 1] = c, -s, s, c
        return heading

    def _tilt(self) -> float:
        up = self.data.xmat[self._root_body].reshape(3, 3) @ self._up
        return math.acos(min(1.0, max(-1.0, float(up[2]))))

    def _observation(self) -> np.ndarray:
        # Every 3-vector of the observation goes into one (M, 3) stack in world axes and is
        # turned into the heading frame by a single product: fewer, larger numpy calls.
        data = self.data
        bodies = self._bodies
        root = data.xpos[self._root_body]
        xpos = data.xpos[bodies]
        stack = self._stack
        n = len(bodies)
        np.subtract(xpos, root, out=stack[:n])
        matrices = data.xmat[bodies].reshape(n, 3, 3)
        stack[n : 2 * n] = matrices[:, :, 0]  # first column of each body's rotation
        stack[2 * n : 3 * n] = matrices[:, :, 1]  # second column
        # cvel is [angular, linear] at the subtree centre of mass of each body's root
        angular = data.cvel[bodies, :3]
        stack[3 * n : 4 * n] = data.cvel[bodies, 3:] + _cross(
            angular, xpos - data.subtree_com[self._body_roots]
        )
        stack[4 * n : 5 * n] = angular
        k = len(self.tracked)
        reference, velocity = self.clip.keypoints, self._reference_velocity[self.clip.name]
        last = len(reference) - 1
        row = 5 * n
        for ahead in range(1, self.frames_ahead + 1):
            frame = min(self.frame + ahead, last)
            np.subtract(reference[frame], self._points, out=stack[row : row + k])
            np.subtract(velocity[frame], self._velocity, out=stack[row + k : row + 2 * k])
            np.subtract(reference[frame], root, out=stack[row + 2 * k : row + 3 * k])
            row += 3 * k
        turned = stack @ self._heading()

        out = self._buffer
        cut = self._cuts
        out[0] = root[2]
        out[1:4] = -data.xmat[self._root_body, 6:9]  # world -z in the root frame: row 3 of R
        out[cut[0] : cut[4]] = turned[: 5 * n].ravel()
        contacts = out[cut[4] : cut[5]]
        contacts[:] = 0.0
        if data.ncon:
            pairs = data.contact.geom[: data.ncon]
            touching = pairs == self._floor
            other = np.where(touching[:, 0], pairs[:, 1], pairs[:, 0])
            feet = self._foot_of_geom[other[touching.any(axis=1)]]
            contacts[feet[feet >= 0]] = 1.0
        muscles = out[cut[5] : cut[6]].reshape(4, self.model.nu)
        np.subtract(data.actuator_length, self._length_low, out=muscles[0])
        muscles[0] /= self._length_span
        np.divide(data.actuator_velocity, self._length_span, out=muscles[1])
        np.divide(data.actuator_force, self._peak_force, out=muscles[2])
        muscles[3] = data.act
        out[cut[6] :] = turned[5 * n :].ravel()
        return out.copy()


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # np.cross handles general shapes and costs ~10x more on these small (n, 3) arrays
    return np.stack(
        [
            a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
            a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
            a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0],
        ],
        axis=1,
    )


def _backward_velocity(points: np.ndarray, fps: float) -> np.ndarray:
    """Keypoint velocities as the body's are measured: backward differences (0 at frame 0)."""
    velocity = np.zeros_like(points)
    velocity[1:] = np.diff(points, axis=0) * fps
    return velocity
