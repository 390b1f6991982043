"""The batched MJX backend: N worlds of one task stepped together, for training on a GPU.

Optional (`pip install -e '.[gpu]'`, and on a GPU JAX's CUDA build, docs/gpu.md). It steps
the same body, clips and protocol as `benchmark.env.ImitationEnv`, written as array
functions of one world (`reset_world`, `step_world`), vmapped over the worlds and compiled
once per task: the same control rate and substeps, action interfaces (excitation, or the
muscle-length servo run at every substep), observation layout, reward, termination rules,
random-frame resets and same-step autoreset. `MjxVectorEnv` gives them the contract of
`benchmark.vector.SharedMemoryVectorEnv`, so PPO trains on either (`--backend mjx`).

It only trains: a policy trained here is exported to ONNX and scored by `benchmark run` on
the CPU environment, as every policy is. MJX is not MuJoCo C: its Newton solver stops
after other iterations, and its collision candidates are a fixed list, so trajectories
agree to a tolerance, not to the bit (tests/test_mjx_env.py states and checks it).

One world's arithmetic is `benchmark.mjx_kernels`; here: the body on the device, the task's
tables, and the vector environment.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmark import interfaces
from benchmark.env import ImitationEnv
from benchmark.mjx_kernels import Static, Tables, World, mjx, reset_world, step_world
from benchmark.tasks import Task, get_task


class UnsupportedBody(ValueError):
    """The backend cannot simulate an element of a body's model."""


def put_model(task: Task) -> mjx.Model:
    """The task body's model on the device; an UnsupportedBody error naming the body and the
    feature when MJX cannot simulate it (raised before any training starts)."""
    body = task.body
    model = body.model()
    try:
        return mjx.put_model(model)
    except NotImplementedError as error:
        raise UnsupportedBody(f"body {body.name}: MJX cannot simulate it: {error}") from None


def build(env: ImitationEnv) -> tuple[Tables, Static]:
    """The tables and settings of the task `env` steps (a CPU environment of the same task,
    interface and termination rule)."""
    if env.action_interface not in interfaces.MJX_INTERFACES:
        raise ValueError(
            f"the MJX backend steps the interfaces {', '.join(interfaces.MJX_INTERFACES)}; "
            f"{env.action_interface!r} runs on the CPU backend only"
        )
    if env.termination_tilt is not None:
        raise ValueError("the MJX backend ends episodes without the tilt rule; CPU backend only")
    if env.pose_reward:
        raise ValueError("the MJX backend rewards without the pose term; CPU backend only")
    arrays = env.step_arrays()
    clips = env.clips
    frames = max(len(c.qpos) for c in clips)

    def padded(per_clip: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(per_clip), frames, *per_clip[0].shape[1:]))
        for i, a in enumerate(per_clip):
            out[i, : len(a)] = a
            out[i, len(a) :] = a[-1]
        return out

    model = env.model
    servo = interfaces.MuscleLengthServo(model, arrays.substeps)
    lengths = arrays.reference_lengths
    tables = Tables(
        qpos=padded([c.qpos for c in clips]),
        qvel=padded([c.qvel for c in clips]),
        keypoints=padded([c.keypoints for c in clips]),
        keypoint_velocity=padded([arrays.reference_velocity[c.name] for c in clips]),
        muscle_lengths=padded(
            [lengths.get(c.name, np.zeros((len(c.qpos), model.nu))) for c in clips]
        ),
        last=np.array([len(c.qpos) - 1 for c in clips]),
        tracked_ids=arrays.tracked_ids,
        tracked_sites=arrays.tracked_sites,
        joint_adr=arrays.joint_adr,
        body_rootid=np.asarray(model.body_rootid),
        foot_of_geom=np.append(arrays.foot_of_geom, -1),  # index -1: "no geom"
        forward=arrays.forward,
        up=arrays.up,
        length_low=arrays.length_low,
        length_span=arrays.length_span,
        peak_force=arrays.peak_force,
        lengthrange=servo.lengthrange,
        acc0=servo.acc0,
        gainprm=servo.gainprm,
        biasprm=servo.biasprm,
        kp=servo.kp,
        kd=servo.kd,
        peak=servo.peak,
        target_low=servo.low,
        target_span=servo.span,
    )
    tables = Tables(*(jnp.asarray(a) for a in tables))
    static = Static(
        interface=env.action_interface,
        residual=env.action_interface == "reference_length",
        substeps=arrays.substeps,
        pelvis_row=arrays.pelvis_row,
        root_body=arrays.root_body,
        floor=arrays.floor,
        fps=float(clips[0].fps),
        scale=float(arrays.scale),
        frames_ahead=env.frames_ahead,
        rule=env.termination,
        evaluation=env.evaluation,
    )
    return tables, static


# -- the vector environment ---------------------------------------------------------------------
class MjxVectorEnv:
    """`num_envs` worlds of `task` on the JAX device, with `SharedMemoryVectorEnv`'s
    contract: `reset(seed=[...])`, `step(actions)` with same-step autoreset
    (`info["final_obs"]`, `info["_final_obs"]`), `step_async` / `step_wait`, `set_attr`
    ("termination_distance" only) and `close`; arrays come back as NumPy."""

    def __init__(
        self,
        task: str | Task,
        num_envs: int,
        *,
        split: str = "train",
        action_interface: str = interfaces.DEFAULT,
        termination: str = "mean-error",
        termination_distance: float | None = None,
        frames_ahead: int = 1,
        info_keys: tuple[str, ...] = ("episode_steps", "ended_by"),
    ) -> None:
        self.task = get_task(task) if isinstance(task, str) else task
        self.model = put_model(self.task)  # refuses an unsupported body first
        probe = ImitationEnv(
            self.task,
            split=split,
            frames_ahead=frames_ahead,
            action_interface=action_interface,
            termination=termination,
            termination_distance=termination_distance,
        )
        self.termination_distance = probe.termination_distance
        self.single_observation_space = probe.observation_space
        self.single_action_space = probe.action_space
        self.num_envs = int(num_envs)
        self.info_keys = tuple(info_keys)
        self.tables, self.static = build(probe)
        self._clip_names = [c.name for c in probe.clips]  # the tables' clip order
        self._template = mjx.make_data(self.model)
        self._worlds: World | None = None
        self._actions: np.ndarray | None = None
        self._reset = jax.jit(jax.vmap(self._reset_one))
        self._step = jax.jit(jax.vmap(self._step_one, in_axes=(0, 0, None)))
        self.closed = False

    def _reset_one(self, key, clip, start):
        return reset_world(self.model, self._template, key, clip, start, self.tables, self.static)

    def _step_one(self, world, action, distance):
        world, observation, reward, terminated, truncated, info = step_world(
            self.model, world, action, distance, self.tables, self.static
        )
        done = terminated | truncated
        fresh, first = reset_world(
            self.model,
            self._template,
            world.key,
            jnp.int32(-1),
            jnp.int32(-1),
            self.tables,
            self.static,
        )
        world = jax.tree_util.tree_map(lambda a, b: jnp.where(done, a, b), fresh, world)
        info = dict(info, final_obs=observation)
        return world, jnp.where(done, first, observation), reward, terminated, truncated, info

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        """Every world at a random clip and frame, seeded per world (`seed`: one per world,
        or one seed from which each world's is derived)."""
        if seed is None:
            seed = np.random.SeedSequence().generate_state(self.num_envs).tolist()
        elif isinstance(seed, int):
            seed = np.random.SeedSequence(seed).generate_state(self.num_envs).tolist()
        if len(seed) != self.num_envs:
            raise ValueError(f"reset got {len(seed)} seeds for {self.num_envs} worlds")
        keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(np.asarray(seed) % 2**32, jnp.uint32))
        clips = np.full(self.num_envs, -1)
        starts = np.full(self.num_envs, -1)
        if options:  # {"clip": [name per world], "start": [frame per world]}
            names = self._clip_names
            clips = np.array([names.index(n) for n in options.get("clip", [])] or clips)
            starts = np.asarray(options.get("start", starts))
        self._worlds, observation = self._reset(
            keys, jnp.asarray(clips, jnp.int32), jnp.asarray(starts, jnp.int32)
        )
        return np.array(observation), {}

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, np.float32)

    def step_wait(self):
        if self._worlds is None or self._actions is None:
            raise RuntimeError("step before reset")
        worlds, observation, reward, terminated, truncated, info = self._step(
            self._worlds, jnp.asarray(self._actions), jnp.float32(self.termination_distance)
        )
        self._worlds, self._actions = worlds, None
        terminated, truncated = np.asarray(terminated), np.asarray(truncated)
        done = terminated | truncated
        final = np.asarray(info["final_obs"])
        out: dict[str, Any] = {
            "final_obs": np.array(
                [final[i] if done[i] else None for i in range(self.num_envs)], object
            ),
            "_final_obs": done,
        }
        for key in self.info_keys:
            out[key] = np.asarray(info[key], np.float64)
        return np.array(observation), np.array(reward, np.float64), terminated, truncated, out

    def step(self, actions: np.ndarray):
        self.step_async(actions)
        return self.step_wait()

    def set_attr(self, name: str, value: float) -> None:
        if name != "termination_distance":
            raise AttributeError(f"MjxVectorEnv sets only termination_distance, not {name!r}")
        self.termination_distance = float(value)

    def close(self) -> None:
        self.closed = True
