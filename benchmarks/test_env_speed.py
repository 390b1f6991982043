"""Environment step overhead: `env.step` against the raw `mj_step` calls it contains, from the
same states and side by side, on every body that has a task (`make bench`). Goal on
`human_legs_80`: at most 1.15x."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from benchmark.env import ImitationEnv

pytestmark = pytest.mark.speed
TASKS = {  # a task per body, and a clip of it
    "human_legs_80": ("legs80-walk", "walk_1.3"),
    "human_legs_abs_86": ("legs86-walk", "walk_1.3"),
    "human_legs_back_290": ("legs290-walk", "walk_1.3"),
    "ostrich": ("ostrich-run", "run_3.2"),
}
STEPS = 30  # control steps per round: one second
ROUNDS = 150


@pytest.mark.parametrize("body", list(TASKS))
def test_env_step_beside_raw_mj_step(benchmark, side_by_side, body):
    task, clip = TASKS[body]
    env = ImitationEnv(task, split="all", evaluation=True)
    model, data, substeps = env.model, env.data, env.body.sim.substeps
    action = np.full(env.action_space.shape, -0.6, dtype=np.float32)
    benchmark.group = f"env step {body}"
    benchmark.extra_info["control_steps_per_round"] = STEPS

    def start() -> None:
        env.reset(options={"clip": clip})

    def raw() -> None:
        data.ctrl[:] = 0.5 * (action + 1.0)
        for _ in range(STEPS):
            mujoco.mj_step(model, data, nstep=substeps)

    def step() -> None:
        for _ in range(STEPS):
            env.step(action)

    side_by_side(benchmark, {"raw mj_step": (start, raw), "env.step": (start, step)}, ROUNDS)


def test_each_action_interface_beside_raw_mj_step(benchmark, side_by_side):
    """What the servo interfaces cost per control step on human_legs_80: their per-substep
    length reading, PD force and gain/bias inversion (joint_target: the torque model and its
    least squares), beside the raw physics."""
    from benchmark.interfaces import INTERFACES

    task, clip = TASKS["human_legs_80"]
    envs = {name: ImitationEnv(task, split="all", action_interface=name) for name in INTERFACES}
    model, substeps = envs["excitation"].model, envs["excitation"].body.sim.substeps
    data = envs["excitation"].data
    action = np.full(model.nu, -0.6, dtype=np.float32)
    benchmark.group = "interfaces human_legs_80"
    benchmark.extra_info["control_steps_per_round"] = STEPS

    def start(env: ImitationEnv) -> None:
        env.reset(options={"clip": clip, "start": 0})

    def raw() -> None:
        data.ctrl[:] = 0.5 * (action + 1.0)
        for _ in range(STEPS):
            mujoco.mj_step(model, data, nstep=substeps)

    def stepper(env: ImitationEnv):
        own = np.full(env.action_space.shape, -0.6, dtype=np.float32)  # joint_target: 14

        def step() -> None:
            for _ in range(STEPS):
                env.step(own)

        return step

    variants = {"raw mj_step": (lambda: start(envs["excitation"]), raw)}
    for name, env in envs.items():
        variants[name] = (lambda env=env: start(env), stepper(env))
    side_by_side(benchmark, variants, ROUNDS)
