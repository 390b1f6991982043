"""Our environment against MyoSuite 3's per control step, on the MyoLeg model with the same
physics (1/150 s, 5 substeps): MyoSuite runs in its own virtual environment
(`.venv-myosuite`, `scripts/setup_myosuite.sh`; it pins other MuJoCo, myo-sim, Gymnasium and
onnxruntime versions), timed by `benchmarks/myosuite/step_timing.py` with its raw physics
beside it; ours is timed here the same way. The summary table puts the two side by side."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from benchmark.env import ImitationEnv

pytestmark = pytest.mark.speed
ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv-myosuite" / "bin" / "python"
SCRIPT = Path(__file__).parent / "myosuite" / "step_timing.py"


@pytest.fixture(scope="module")
def myosuite_timing() -> dict:
    if not PYTHON.exists():
        pytest.skip("MyoSuite's environment is missing: bash scripts/setup_myosuite.sh")
    done = subprocess.run(
        [str(PYTHON), str(SCRIPT)], capture_output=True, text=True, check=True, cwd="/"
    )
    return json.loads(done.stdout)


def test_our_env_beside_myosuite(benchmark, side_by_side, myosuite_timing):
    import mujoco

    env = ImitationEnv("legs80-walk", split="all", evaluation=True)
    model, data = env.model, env.data
    action = np.full(env.action_space.shape, -0.6, dtype=np.float32)
    steps = myosuite_timing["steps_per_round"]
    benchmark.group = "per control step, MyoLeg: crossmimic vs MyoSuite"
    benchmark.extra_info["myosuite"] = myosuite_timing

    def start() -> None:
        env.reset(options={"clip": "walk_1.3"})

    def raw() -> None:
        data.ctrl[:] = 0.5 * (action + 1.0)
        for _ in range(steps):
            mujoco.mj_step(model, data, nstep=5)

    def step() -> None:
        for _ in range(steps):
            env.step(action)

    variants = {"raw mj_step": (start, raw), "env.step": (start, step)}
    side_by_side(benchmark, variants, len(myosuite_timing["env_s"]))
