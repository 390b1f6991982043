"""The shipped baseline policy: `benchmark run --agent baselines:pretrained`.

An ONNX policy (observation normaliser inside the graph) run with onnxruntime, and a JSON
file saying which task, body model and training run it comes from (see docs/results.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

POLICIES = Path(__file__).parent / "policies"


class OnnxPolicyAgent:
    """A deterministic policy exported by `benchmark train` (policy.onnx + policy.json)."""

    def __init__(self, onnx_path: Path, meta: dict[str, Any]) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one episode per process; runs parallelise by process
        self.session = onnxruntime.InferenceSession(str(onnx_path), options)
        self.meta = meta
        self.name = meta["name"]
        self.tasks = (meta["task"],)

    def reset(self, task_info: dict[str, Any]) -> None:
        if task_info["task"] not in self.tasks:
            raise ValueError(
                f"{self.name} was trained for {self.meta['task']}, not {task_info['task']}"
            )
        if task_info["observation_size"] != self.meta["observation_size"]:
            raise ValueError(
                f"{self.name} expects observations of size {self.meta['observation_size']}, "
                f"the task gives {task_info['observation_size']}"
            )

    def act(self, observation: np.ndarray) -> np.ndarray:
        batch = np.asarray(observation, dtype=np.float32)[None]
        (action,) = self.session.run(None, {"observation": batch})
        return action[0]


def load(name: str) -> OnnxPolicyAgent:
    """A shipped policy by name (a file stem in baselines/policies/)."""
    meta_path = POLICIES / f"{name}.json"
    if not meta_path.is_file():
        known = sorted(p.stem for p in POLICIES.glob("*.json"))
        raise FileNotFoundError(f"no shipped policy {name!r}; shipped: {', '.join(known)}")
    meta = json.loads(meta_path.read_text())
    import morphologies
    from benchmark.tasks import get_task

    body = morphologies.get(get_task(meta["task"]).morphology)
    if meta["model_hash"] != body.model_hash:
        raise ValueError(
            f"{meta_path}: field 'model_hash' is {meta['model_hash'][:12]}, the installed "
            f"{body.name} is {body.model_hash[:12]}: the policy was trained on another model"
        )
    return OnnxPolicyAgent(POLICIES / f"{name}.onnx", meta)


def pretrained() -> OnnxPolicyAgent:
    """The legs80-walk baseline shipped with the package."""
    return load("legs80-walk")


def ship(run: Path, name: str) -> Path:
    """Copy a finished run's policy.onnx into baselines/policies/NAME.onnx with its record."""
    import shutil

    run = Path(run)
    header = json.loads((run / "config.json").read_text())
    final = json.loads((run / "final.json").read_text())
    config = header["config"]
    meta = {
        "name": f"{config['algo']}-{header['task']}-seed{config['seed']}",
        "task": header["task"],
        "morphology": header["morphology"],
        "model_hash": header["model_hash"],
        "observation_size": header["observation_size"],
        "action_size": header["action_size"],
        "training": {"steps": final["steps"], "config": config},
        "final_test_summary": final["summary"],
    }
    POLICIES.mkdir(exist_ok=True)
    shutil.copyfile(run / "policy.onnx", POLICIES / f"{name}.onnx")
    (POLICIES / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return POLICIES / f"{name}.onnx"


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3:
        sys.exit("usage: python -m baselines.shipped RUN_DIR NAME")
    print(ship(Path(sys.argv[1]), sys.argv[2]))
