"""Parallel sampling on legs80-walk: 16 training environments stepped by 1 and by 2 worker
processes (`benchmark.vector`), the policy (PPO's network) batched in the parent; the same
2 workers blocking at once on the next command instead of polling first; and for context
Gymnasium's AsyncVectorEnv with one process per environment. Scaling efficiency is the
2-worker throughput over twice the 1-worker throughput.

What the machine allows is measured beside it: the same environments stepped by 1 and by 2
processes that never wait for each other or for a policy, and PPO's policy pass back to
back and after the CPU has idled (a virtual machine's halted vCPU wakes up slow)."""

from __future__ import annotations

import multiprocessing
import time

import gymnasium
import numpy as np
import pytest
import torch

from baselines.config import TrainConfig
from baselines.networks import ActorCritic
from benchmark.vector import SharedMemoryVectorEnv

pytestmark = pytest.mark.speed
ENVS, STEPS, ROUNDS = 16, 32, 30


def _make_env():
    from benchmark.env import ImitationEnv

    return ImitationEnv("legs80-walk", split="train")


def _policy():
    torch.set_num_threads(1)
    probe = _make_env()
    return ActorCritic(probe.observation_size, probe.action_space.shape[0], TrainConfig())


def test_one_and_two_workers_side_by_side(benchmark, side_by_side):
    policy = _policy()
    variants, vectors = (
        {},
        {
            "1 worker": SharedMemoryVectorEnv(_make_env, ENVS, workers=1),
            "2 workers": SharedMemoryVectorEnv(_make_env, ENVS, workers=2),
            "2 workers, blocking wait": SharedMemoryVectorEnv(
                _make_env, ENVS, workers=2, spin_s=0.0
            ),
            "AsyncVectorEnv, a process each": gymnasium.vector.AsyncVectorEnv(
                [_make_env] * ENVS, autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP
            ),
        },
    )
    for name, envs in vectors.items():
        state = {"observation": envs.reset(seed=list(range(ENVS)))[0]}

        def rollout(envs=envs, state=state) -> None:
            for _ in range(STEPS):
                with torch.no_grad():
                    action = policy.distribution(torch.as_tensor(state["observation"])).sample()
                state["observation"], *_ = envs.step(np.clip(action.numpy(), -1.0, 1.0))

        variants[name] = (None, rollout)
    benchmark.group = "sampling legs80-walk, 16 environments"
    benchmark.extra_info["env_steps_per_round"] = ENVS * STEPS
    try:
        side_by_side(benchmark, variants, ROUNDS)
    finally:
        for envs in vectors.values():
            envs.close()


def _independent_stepper(connection) -> None:
    """Half the sampling's environments, stepped STEPS times per command, no policy."""
    envs = [_make_env() for _ in range(ENVS // 2)]
    for index, env in enumerate(envs):
        env.reset(seed=index)
    action = np.full(envs[0].action_space.shape, -0.6, dtype=np.float32)
    while connection.recv_bytes() == b"s":
        for _ in range(STEPS):
            for env in envs:
                *_, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()
        connection.send_bytes(b"k")


def test_independent_processes_side_by_side(benchmark, side_by_side):
    """The ceiling: each process does the same work whether it runs alone or beside the
    other, so 2 processes over 1 is twice the time alone over the time together."""
    context = multiprocessing.get_context("fork")
    pipes = [context.Pipe() for _ in range(2)]
    processes = [
        context.Process(target=_independent_stepper, args=(child,), daemon=True)
        for _, child in pipes
    ]
    for process in processes:
        process.start()

    def run(count: int):
        def go() -> None:
            for parent, _ in pipes[:count]:
                parent.send_bytes(b"s")
            for parent, _ in pipes[:count]:
                parent.recv_bytes()

        return go

    benchmark.group = "independent processes legs80-walk, 8 environments each"
    benchmark.extra_info["env_steps_per_process_round"] = ENVS // 2 * STEPS
    try:
        side_by_side(benchmark, {"1 process": (None, run(1)), "2 processes": (None, run(2))}, 20)
    finally:
        for parent, _ in pipes:
            parent.send_bytes(b"c")
        for process in processes:
            process.join(timeout=10)


def test_policy_pass_after_idle_side_by_side(benchmark, side_by_side):
    policy = _policy()
    size = policy.actor[0].in_features
    observation = torch.as_tensor(
        np.random.default_rng(0).standard_normal((ENVS, size)), dtype=torch.float32
    )

    def passes() -> None:
        with torch.no_grad():
            policy.distribution(observation).sample()

    benchmark.group = "policy pass, 16 observations"
    side_by_side(
        benchmark,
        {"back to back": (passes, passes), "after 10 ms idle": (lambda: time.sleep(0.01), passes)},
        200,
    )
