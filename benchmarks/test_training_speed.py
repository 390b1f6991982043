"""Whole-training throughput of PPO on legs80-walk beside what the machine can step: short
`baselines.ppo.train` runs (their steps/s counts rollouts and updates, as `benchmark train`
reports it) alternated with the sampling ceiling, the same 8 training environments stepped
with random actions by 2 processes that never wait for each other or for a policy, under the
same training termination (reset at episode ends). The summary row is the fraction of the
ceiling training reaches; one per action interface, since the servo interfaces cost more per
step, and per rollout width: with 16 environments the parent's policy pass, paid once per step
for all of them, weighs half as much per sample as with 8. Each runs serially and with overlap
(the next rollout collected while the learner updates, `TrainConfig.overlap`), side by side."""

from __future__ import annotations

import multiprocessing
import resource
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from baselines.config import TrainConfig
from baselines.ppo import train

pytestmark = pytest.mark.speed
ITERATIONS, ROUNDS = 8, 3
INTERFACES = ("excitation", "reference_length")


def _ceiling_worker(connection, config: TrainConfig, envs: int) -> None:
    from benchmark.env import ImitationEnv

    batch = [
        ImitationEnv(
            config.task,
            split="train",
            action_interface=config.action_interface,
            termination=config.termination,
            termination_distance=config.termination_distance,
        )
        for _ in range(envs)
    ]
    rng = np.random.default_rng(0)
    for index, env in enumerate(batch):
        env.reset(seed=index)
    while connection.recv_bytes() == b"s":
        began = time.process_time()
        for _ in range(config.rollout):
            for env in batch:
                action = rng.uniform(-1.0, 1.0, env.action_space.shape).astype(np.float32)
                *_, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()
        connection.send_bytes(struct.pack("d", time.process_time() - began))


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (a run's workers)."""
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


@pytest.mark.parametrize("envs", (8, 16))
@pytest.mark.parametrize("interface", INTERFACES)
def test_training_beside_the_sampling_ceiling(benchmark, side_by_side, interface, envs):
    config = TrainConfig(
        envs=envs,
        steps=ITERATIONS * envs * 256,
        eval_every=10**9,
        action_interface=interface,
        termination="any-keypoint",
    )
    per_process = config.envs // 2
    context = multiprocessing.get_context("fork")
    pipes = [context.Pipe() for _ in range(2)]
    processes = [
        context.Process(
            target=_ceiling_worker,
            args=(child, config, per_process),
            daemon=True,
        )
        for _, child in pipes
    ]
    for process in processes:
        process.start()
    variants = {"training": config, "training, overlap": replace(config, overlap=True)}
    throughput: dict[str, list[float]] = {name: [] for name in variants}
    ceiling_cpu: list[float] = []  # CPU seconds of both ceiling processes per round

    def ceiling() -> None:
        for parent, _ in pipes:
            parent.send_bytes(b"s")
        ceiling_cpu.append(sum(struct.unpack("d", p.recv_bytes())[0] for p, _ in pipes))

    def cpu_of(name: str, run_config: TrainConfig) -> float:
        """CPU seconds of a training run, its own and its (finished) workers'."""
        before = _cpu_seconds()
        with tempfile.TemporaryDirectory() as folder:
            final = train(run_config, Path(folder) / "run", progress=False)
        spent = _cpu_seconds() - before
        if run_config.steps:
            throughput[name].append(final["steps_per_s"])
        return spent

    # what a run spends besides its iterations (workers started, two evaluations, export)
    setup_cpu = cpu_of("training", replace(config, steps=0))
    training_cpu: dict[str, list[float]] = {name: [] for name in variants}

    def timed(name: str) -> tuple[None, Callable[[], None]]:
        return None, lambda: training_cpu[name].append(cpu_of(name, variants[name]) - setup_cpu)

    benchmark.group = f"training legs80-walk {interface}, {envs} envs"
    benchmark.extra_info["ceiling_steps_per_round"] = config.envs * config.rollout
    try:
        times = side_by_side(
            benchmark,
            {"ceiling": (None, ceiling), **{name: timed(name) for name in variants}},
            ROUNDS,
            1,
        )
    finally:
        for parent, _ in pipes:
            parent.send_bytes(b"c")
        for process in processes:
            process.join(timeout=10)
    rounds = len(times["ceiling"])
    benchmark.extra_info["training_steps_per_s"] = {n: v[-rounds:] for n, v in throughput.items()}
    benchmark.extra_info["ceiling_steps_per_s"] = [
        config.envs * config.rollout / t for t in times["ceiling"]
    ]
    # CPU milliseconds per environment step: training's (physics, policy passes, update) and
    # the ceiling's (physics alone); their ratio is what training could reach with both
    # cores busy all the time, the bound left to overlapping the learner and the samplers
    benchmark.extra_info["training_cpu_ms_per_step"] = {
        name: [1e3 * c / config.steps for c in spent[-rounds:]]
        for name, spent in training_cpu.items()
    }
    benchmark.extra_info["ceiling_cpu_ms_per_step"] = [
        1e3 * c / (config.envs * config.rollout) for c in ceiling_cpu[-rounds:]
    ]
