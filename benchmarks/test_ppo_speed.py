"""PPO's update throughput: one update (5 epochs of 8 minibatches) of the default network on
a rollout of 8 x 256 legs80-walk-sized steps (observation 824, action 80), with the torch
threads training gives it (`TrainConfig.threads`), and its CPU time per sample."""

from __future__ import annotations

import time

import pytest
import torch

from baselines.config import TrainConfig
from baselines.networks import ActorCritic
from baselines.ppo import update

pytestmark = pytest.mark.speed
OBSERVATION, ACTION = 824, 80


@pytest.mark.benchmark(group="ppo update")
def test_ppo_update(benchmark):
    config = TrainConfig()
    torch.set_num_threads(config.threads)
    torch.manual_seed(0)
    batch = config.envs * config.rollout
    model = ActorCritic(OBSERVATION, ACTION, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, eps=1e-5)
    observation = torch.randn(batch, OBSERVATION)
    with torch.no_grad():
        distribution, scale = model.distribution(observation), model.scale()
        action = distribution.sample()
        logprob = distribution.log_prob(action)  # one per sample
    flat = {
        "observation": observation,
        "action": action,
        "logprob": logprob,
        "mean": distribution.mean,
        "advantage": torch.randn(batch),
        "return": torch.randn(batch),
        "policy_mask": torch.ones(batch, dtype=torch.bool),
    }
    cpu: list[float] = []

    def timed() -> None:
        began = time.process_time()
        update(model, optimizer, flat, scale, config)
        cpu.append(time.process_time() - began)

    benchmark.pedantic(timed, rounds=5, warmup_rounds=1)
    torch.set_num_threads(1)
    benchmark.extra_info["samples"] = batch
    if benchmark.enabled:  # a smoke run (--benchmark-disable) keeps no timings
        benchmark.extra_info["samples_per_s"] = round(batch / benchmark.stats.stats.mean, 1)
        per_sample = 1e3 * sum(cpu[1:]) / len(cpu[1:]) / batch  # cpu[0] is the warm-up
        benchmark.extra_info["cpu_ms_per_sample"] = round(per_sample, 4)
