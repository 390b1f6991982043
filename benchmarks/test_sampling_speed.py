"""Parallel sampling on legs80-walk: 16 training environments stepped by 1 and by 2 worker
processes (`benchmark.vector`), the policy (PPO's network) batched in the parent, and for
context Gymnasium's AsyncVectorEnv with one process per environment. Scaling efficiency is
the 2-worker throughput over twice the 1-worker throughput."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import torch

from baselines.ppo import ActorCritic, TrainConfig
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
