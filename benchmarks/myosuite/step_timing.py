"""MyoSuite 3's MyoLeg environment per control step, against the raw `mj_step` calls it
contains: run by `benchmarks/test_myosuite_speed.py` in the MyoSuite virtual environment
(`.venv-myosuite`, made by `scripts/setup_myosuite.sh`), because MyoSuite pins other
versions of MuJoCo, myo-sim, Gymnasium and onnxruntime than crossmimic does.

The environment (`myoLegWalk-v0`) is set to crossmimic's protocol-v1 physics (1/150 s, 5
substeps per control step) so both do the same physics per control step on the same
MyoLeg model. Prints one JSON object: seconds per round of `STEPS` control steps, for the
environment and for the raw physics, and the versions used.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version

import numpy as np

STEPS, ROUNDS = 30, 200


def main() -> None:
    import mujoco
    from myosuite.utils import gym

    env = gym.make("myoLegWalk-v0").unwrapped
    env.model.opt.timestep = 1.0 / 150.0
    env.frame_skip = 5
    action = np.full(env.action_space.shape, -0.6, dtype=np.float32)
    env.reset(seed=0)
    start = (env.data.qpos.copy(), env.data.qvel.copy(), env.data.act.copy())

    def restart() -> None:
        env.reset(seed=0)
        env.data.qpos[:], env.data.qvel[:], env.data.act[:] = start
        mujoco.mj_forward(env.model, env.data)

    env_rounds, raw_rounds = [], []
    for _ in range(ROUNDS + 3):  # environment and raw physics alternate: load hits both alike
        restart()
        began = time.perf_counter()
        for _ in range(STEPS):
            env.step(action)
        env_rounds.append(time.perf_counter() - began)
        restart()
        began = time.perf_counter()
        env.data.ctrl[:] = 1.0 / (1.0 + np.exp(-5.0 * (action - 0.5)))  # MyoSuite's mapping
        for _ in range(STEPS):
            mujoco.mj_step(env.model, env.data, nstep=5)
        raw_rounds.append(time.perf_counter() - began)
    json.dump(
        {
            "steps_per_round": STEPS,
            "env_s": env_rounds[3:],
            "raw_s": raw_rounds[3:],
            "nu": int(env.model.nu),
            "versions": {p: version(p) for p in ("myosuite", "mujoco", "myo-sim", "gymnasium")},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
