"""Record the reference DEP controller's outputs for tests/fixtures/dep_reference.npz.

Run by hand, never in CI (it needs the package registry):

    python tools/dep_reference_fixture.py

It makes a throwaway virtual environment, installs the `deprl` package (martius-lab, MIT)
there, feeds its DEP controller a fixed batch of sensor sequences with two published
parameter sets (MyoSuite legs, ostrich), and writes the inputs, parameters and outputs to
the fixture. `tests/test_dep.py` requires `baselines.dep.DEP` in its "original" mode to
reproduce them to 1e-5. Nothing from deprl is imported by crossmimic itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import numpy as np

DEPRL = "deprl==0.3.2"  # the version on PyPI; its DEP is the PyTorch port (see the reference)
# deprl 0.3.2 needs numpy < 2 and imports the old `gym` package without declaring it
EXTRA = ["numpy<2", "gym==0.26.2", "torch==2.13.0"]
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dep_reference.npz"

PRESETS = {
    "myosuite_legs": {
        "kappa": 1169.7,
        "tau": 40,
        "time_dist": 5,
        "s4avg": 2,
        "buffer_size": 200,
        "bias_rate": 0.002,
    },
    "ostrich": {
        "kappa": 20.0,
        "tau": 8,
        "time_dist": 5,
        "s4avg": 1,
        "buffer_size": 90,
        "bias_rate": 0.03,
    },
}
COMMON = {"normalization": "independent", "regularization": 32, "q_norm_selector": "l2"}

# Runs inside the throwaway environment: reads inputs.npz, writes outputs.npz.
RUNNER = """
import json, sys
import numpy as np
from deprl.dep_controller import DEP
import gym

folder = sys.argv[1]
inputs = np.load(folder + "/inputs.npz")
presets = json.loads(open(folder + "/presets.json").read())
outputs = {}
for name, params in presets.items():
    sensors = inputs["sensors"]
    steps, batch, n = sensors.shape
    dep = DEP()
    dep.params.update(params)
    space = gym.spaces.Box(low=-1.0, high=1.0, shape=(n,))
    dep.initialize(space, space)
    outputs[name] = np.stack([dep.step(sensors[t]) for t in range(steps)])
np.savez(folder + "/outputs.npz", **outputs)
"""


def sensor_sequences(steps: int = 160, batch: int = 3, n: int = 12) -> np.ndarray:
    """Smooth, distinct per-muscle oscillations with noise, in the sensor's [-1, 1] range."""
    rng = np.random.default_rng(20261121)
    t = np.arange(steps)[:, None, None] / 30.0
    frequency = rng.uniform(0.5, 2.5, (1, batch, n))
    phase = rng.uniform(0.0, 2.0 * np.pi, (1, batch, n))
    signal = 0.7 * np.sin(2.0 * np.pi * frequency * t + phase)
    signal += 0.05 * rng.standard_normal((steps, batch, n))
    return signal.astype(np.float32)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        environment = Path(folder) / "venv"
        venv.create(environment, with_pip=True)
        python = str(environment / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", DEPRL, *EXTRA], check=True)
        sensors = sensor_sequences()
        presets = {name: {**COMMON, **params} for name, params in PRESETS.items()}
        np.savez(Path(folder) / "inputs.npz", sensors=sensors)
        (Path(folder) / "presets.json").write_text(json.dumps(presets))
        subprocess.run([python, "-c", RUNNER, folder], check=True)
        outputs = dict(np.load(Path(folder) / "outputs.npz"))
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        FIXTURE,
        sensors=sensors,
        presets=json.dumps(presets),
        deprl=DEPRL,
        **{f"actions_{name}": actions for name, actions in outputs.items()},
    )
    print(f"wrote {FIXTURE.name}: {', '.join(outputs)}; sensors {sensors.shape}")


if __name__ == "__main__":
    sys.exit(main())
