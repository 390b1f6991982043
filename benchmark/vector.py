"""Parallel sampling: environments stepped in worker processes, every array in shared memory.

Gymnasium's AsyncVectorEnv runs one environment per process and sends each step's actions,
rewards and flags (and, without its shared-memory option, observations) pickled through a
pipe. A control step of `human_legs_80` costs about 0.3 ms of physics, so that traffic and
the one-process-per-environment context switches cost as much as the simulation on a
2-core machine. Here each worker owns a block of environments; actions, observations,
rewards, flags and final observations are numpy views of one anonymous shared mapping made
before the workers fork; a step is one byte to each worker and one byte back. The policy
runs batched in the parent.

A worker that has sent its step polls for the next command for `spin_s` (yielding the CPU
between polls) before it blocks. While the parent runs the policy the workers would
otherwise sleep, and on a virtual machine the host halts an idle vCPU, whose next compute
then runs slower. `make bench` measures both waits side by side, and the policy pass back
to back and after 10 ms idle (docs/speed.md).

The interface is the part of Gymnasium's `VectorEnv` that training uses: `reset(seed=...)`,
`step(actions) -> (observations, rewards, terminated, truncated, info)` with same-step
autoreset (`info["final_obs"]` holds the last observation of each environment that ended,
`info["_final_obs"]` the mask; an ended environment is reset without a seed, as Gymnasium
does), `step_async(actions)` and `step_wait()` (the step in two halves), `set_attr(name, value)`
(one value for every environment, between steps), and `close()`.
`info_keys` names numeric entries of each environment's step `info` that come back as one
float64 array per key (the step's value, or NaN where an environment's info lacks it).
Needs the fork start method (Linux, macOS).
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import os
import pickle
import signal
import time
import traceback
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np

from benchmark.processes import die_with_parent

_STEP, _RESET, _SET, _CLOSE, _DONE, _FAILED = b"s", b"r", b"a", b"c", b"k", b"e"
SPIN_S = 0.002  # a control step's policy pass fits in it; longer gaps (the update) block


class SharedMemoryVectorEnv:
    """`num_envs` environments from `make_env`, stepped by `workers` processes, which poll
    for `spin_s` seconds before they block on the next command (0: block at once)."""

    def __init__(
        self,
        make_env: Callable[[], gymnasium.Env],
        num_envs: int,
        workers: int | None = None,
        *,
        spin_s: float = SPIN_S,
        info_keys: tuple[str, ...] = (),
    ) -> None:
        self.closed, self._connections, self._processes = True, [], []  # until workers run
        self._stepping = False
        if not spin_s >= 0:
            raise ValueError(f"spin_s is {spin_s!r}; expected seconds >= 0")
        workers = min(workers or os.cpu_count() or 1, num_envs)
        probe = make_env()
        self.single_observation_space = probe.observation_space
        self.single_action_space = probe.action_space
        probe.close()
        self.num_envs = num_envs
        shapes = {
            "observation": ((num_envs, *self.single_observation_space.shape), np.float32),
            "final": ((num_envs, *self.single_observation_space.shape), np.float32),
            "action": ((num_envs, *self.single_action_space.shape), np.float32),
            "reward": ((num_envs,), np.float64),
            "terminated": ((num_envs,), np.bool_),
            "truncated": ((num_envs,), np.bool_),
            "seed": ((num_envs,), np.int64),
            "seeded": ((num_envs,), np.bool_),
        }
        self.info_keys = tuple(info_keys)
        shapes.update({f"info:{key}": ((num_envs,), np.float64) for key in self.info_keys})
        sizes = {k: int(np.prod(s)) * np.dtype(t).itemsize for k, (s, t) in shapes.items()}
        # anonymous MAP_SHARED memory, inherited by the forked workers
        self._memory = mmap.mmap(-1, sum(-(-size // 64) * 64 for size in sizes.values()))
        self._arrays, offset = {}, 0
        for key, (shape, dtype) in shapes.items():
            self._arrays[key] = np.ndarray(shape, dtype, buffer=self._memory, offset=offset)
            offset += -(-sizes[key] // 64) * 64
        context = multiprocessing.get_context("fork")
        bounds = np.linspace(0, num_envs, workers + 1).round().astype(int)
        self.closed = False
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            parent, child = context.Pipe()
            process = context.Process(
                target=_worker,
                args=(make_env, int(start), int(stop), self._arrays, child, spin_s, os.getpid()),
                daemon=True,
            )  # fmt: skip
            process.start()
            child.close()
            self._connections.append(parent)
            self._processes.append(process)

    def _command(self, command: bytes) -> None:
        self._send(command)
        self._collect()

    def _send(self, command: bytes) -> None:
        for connection in self._connections:
            connection.send_bytes(command)

    def _collect(self) -> None:
        """Every worker's answer to the last command; a failure closes and raises."""
        failures = []
        for connection in self._connections:
            if connection.recv_bytes() == _FAILED:
                failures.append(connection.recv_bytes().decode())
        if failures:
            self.close()
            raise RuntimeError("an environment worker failed:\n" + "\n".join(failures))

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if options:
            raise ValueError("SharedMemoryVectorEnv.reset takes no options")
        if self._stepping:
            raise RuntimeError("reset called between step_async and step_wait")
        seeds = [None] * self.num_envs
        if isinstance(seed, int):
            seeds = [seed + k for k in range(self.num_envs)]
        elif seed is not None:
            seeds = list(seed)
        self._arrays["seeded"][:] = [s is not None for s in seeds]
        self._arrays["seed"][:] = [0 if s is None else s for s in seeds]
        self._command(_RESET)
        return self._arrays["observation"].copy(), {}

    def set_attr(self, name: str, value: Any) -> None:
        """Set attribute `name` of every environment to `value` (PPO's termination
        curriculum moves the training termination distance so)."""
        if self._stepping:
            raise RuntimeError("set_attr called between step_async and step_wait")
        payload = pickle.dumps((name, value))
        for connection in self._connections:
            connection.send_bytes(_SET)
            connection.send_bytes(payload)
        self._collect()

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        self.step_async(actions)
        return self.step_wait()

    def step_async(self, actions: np.ndarray) -> None:
        """Start a step and return at once: the caller may compute while the workers step
        (PPO evaluates its critic there). `step_wait` returns what `step` would."""
        if self._stepping:
            raise RuntimeError("step_async called twice without step_wait")
        self._arrays["action"][:] = actions
        self._send(_STEP)
        self._stepping = True

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._stepping:
            raise RuntimeError("step_wait called without step_async")
        self._stepping = False
        self._collect()
        arrays = self._arrays
        terminated, truncated = arrays["terminated"].copy(), arrays["truncated"].copy()
        ended = terminated | truncated
        info: dict[str, Any] = {key: arrays[f"info:{key}"].copy() for key in self.info_keys}
        if ended.any():
            final = np.empty(self.num_envs, dtype=object)
            for index in np.flatnonzero(ended):
                final[index] = arrays["final"][index].copy()
            info.update({"final_obs": final, "_final_obs": ended})
        return arrays["observation"].copy(), arrays["reward"].copy(), terminated, truncated, info

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for connection in self._connections:
            with contextlib.suppress(BrokenPipeError, OSError):  # a worker already gone
                connection.send_bytes(_CLOSE)
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        for connection in self._connections:
            connection.close()

    def __enter__(self) -> SharedMemoryVectorEnv:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _next_command(connection, spin_s: float) -> bytes:
    deadline = time.perf_counter() + spin_s
    while time.perf_counter() < deadline and not connection.poll():
        os.sched_yield()  # the parent, or another worker, may need this CPU
    return connection.recv_bytes()


def _worker(
    make_env,
    start: int,
    stop: int,
    arrays: dict[str, np.ndarray],
    connection,
    spin_s: float,
    parent: int,
) -> None:

    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and closes us
    envs = {index: make_env() for index in range(start, stop)}
    info_keys = [key.removeprefix("info:") for key in arrays if key.startswith("info:")]
    while True:
        command = _next_command(connection, spin_s)
        if command == _CLOSE:
            break
        try:
            if command == _SET:
                name, value = pickle.loads(connection.recv_bytes())
                for env in envs.values():
                    setattr(env, name, value)
            else:
                _step_or_reset(command, envs, arrays, info_keys)
        except Exception:  # reported to the parent, which raises it
            connection.send_bytes(_FAILED)
            connection.send_bytes(traceback.format_exc().encode())
            continue
        connection.send_bytes(_DONE)
    for env in envs.values():
        env.close()
    connection.close()


def _step_or_reset(
    command: bytes, envs: dict[int, Any], arrays: dict[str, np.ndarray], info_keys: list[str]
) -> None:
    observation, final = arrays["observation"], arrays["final"]
    for index, env in envs.items():
        if command == _RESET:
            seed = int(arrays["seed"][index]) if arrays["seeded"][index] else None
            observation[index], _ = env.reset(seed=seed)
            continue
        obs, reward, terminated, truncated, info = env.step(arrays["action"][index])
        for key in info_keys:
            arrays[f"info:{key}"][index] = info.get(key, np.nan)
        arrays["reward"][index] = reward
        arrays["terminated"][index] = terminated
        arrays["truncated"][index] = truncated
        if terminated or truncated:
            final[index] = obs
            obs, _ = env.reset()
        observation[index] = obs
