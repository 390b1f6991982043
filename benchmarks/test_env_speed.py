"""Environment step overhead on human_legs_80: `env.step` against the raw `mj_step` calls
it contains, side by side from the same states (`make bench`). Goal: at most 1.15x."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from benchmark.env import ImitationEnv

ENV = ImitationEnv("legs80-walk", split="all", evaluation=True)
ACTION = np.full(ENV.action_space.shape, -0.6, dtype=np.float32)
STEPS = 30  # one second of control per round


def _start() -> tuple[tuple, dict]:
    ENV.reset(options={"clip": "walk_1.3"})
    return (), {}


@pytest.mark.benchmark(group="env step human_legs_80")
def test_raw_mj_step(benchmark):
    model, data = ENV.model, ENV.data
    substeps = ENV.body.sim.substeps

    def steps():
        data.ctrl[:] = 0.5 * (ACTION + 1.0)
        for _ in range(STEPS):
            mujoco.mj_step(model, data, nstep=substeps)

    benchmark.pedantic(steps, setup=_start, rounds=300, warmup_rounds=3)


@pytest.mark.benchmark(group="env step human_legs_80")
def test_env_step(benchmark):
    def steps():
        for _ in range(STEPS):
            ENV.step(ACTION)

    benchmark.pedantic(steps, setup=_start, rounds=300, warmup_rounds=3)
