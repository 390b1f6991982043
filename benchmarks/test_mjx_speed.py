"""The MJX backend's batched control steps per second against the number of worlds, beside
the CPU environment's single-world step, in one run (`make bench`; needs the `gpu` extra).

On whatever JAX device is present: the CPU in CI and on the development machine, a GPU where
JAX's CUDA build is installed. World counts from CROSSMIMIC_MJX_WORLDS (default "1": on the
CPU, 4 vmapped worlds did not finish three rounds in 15 minutes; on a GPU, e.g.
"1024,4096,16384"). Compilation is outside the timed rounds.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

jax = pytest.importorskip("jax")
from benchmark.env import ImitationEnv  # noqa: E402
from benchmark.mjx_env import MjxVectorEnv  # noqa: E402

pytestmark = pytest.mark.speed
TASK = "legs80-walk"
WORLDS = [int(n) for n in os.environ.get("CROSSMIMIC_MJX_WORLDS", "1").split(",")]
STEPS = 3  # control steps per round
ROUNDS = 3


@pytest.mark.parametrize("worlds", WORLDS)
def test_batched_steps_beside_the_cpu_env(benchmark, side_by_side, worlds):
    envs = MjxVectorEnv(TASK, worlds, termination="any-keypoint")
    cpu = ImitationEnv(TASK, termination="any-keypoint")
    actions = np.zeros((worlds, cpu.action_space.shape[0]), np.float32)
    envs.reset(seed=list(range(worlds)))
    envs.step(actions)  # compiles
    benchmark.group = f"mjx {TASK} {worlds} worlds on {jax.default_backend()}"
    benchmark.extra_info.update(worlds=worlds, control_steps_per_round=STEPS * worlds)

    def batched() -> None:
        for _ in range(STEPS):
            envs.step(actions)

    def single() -> None:
        cpu.reset(seed=0)
        for _ in range(STEPS):
            cpu.step(actions[0])

    times = side_by_side(benchmark, {"cpu env": (None, single), "mjx": (None, batched)}, ROUNDS, 1)
    rate = STEPS * worlds / np.median(times["mjx"])
    benchmark.extra_info["mjx_control_steps_per_s"] = rate
    benchmark.extra_info["cpu_control_steps_per_s"] = STEPS / np.median(times["cpu env"])
    print(
        f"\n{worlds} worlds on {jax.default_backend()}: mjx {rate:.1f} control steps/s, "
        f"CPU env (one world) {benchmark.extra_info['cpu_control_steps_per_s']:.0f}"
    )
