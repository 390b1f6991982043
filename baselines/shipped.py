"""The shipped baseline policy: `benchmark run --agent baselines:pretrained`.

An ONNX policy (observation normaliser inside the graph) run with onnxruntime, and a JSON
file saying which task, body model and training run it comes from (see docs/results.md).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmark.agents import OnnxAgent
from benchmark.tasks import get_task
from retargeting.files import atomic_path, write_json

POLICIES = Path(__file__).parent / "policies"


def load(name: str) -> OnnxAgent:
    """A shipped policy by name (a file stem in baselines/policies/)."""
    meta_path = POLICIES / f"{name}.json"
    if not meta_path.is_file():
        known = sorted(p.stem for p in POLICIES.glob("*.json"))
        raise FileNotFoundError(f"no shipped policy {name!r}; shipped: {', '.join(known)}")
    meta = json.loads(meta_path.read_text())

    body = get_task(meta["task"]).body
    mismatch = body.model_mismatch(meta["model_hash"])
    if mismatch:
        raise ValueError(f"{meta_path}: field 'model_hash': the policy was {mismatch}")
    agent = OnnxAgent(
        POLICIES / f"{name}.onnx",
        name=meta["name"],
        tasks=(meta["task"],),
        observation_size=meta["observation_size"],
    )
    agent.meta = meta  # which run it comes from
    return agent


def pretrained() -> OnnxAgent:
    """The legs80-walk baseline shipped with the package."""
    return load("legs80-walk")


def ship(run: Path, name: str) -> Path:
    """Copy a finished run's policy.onnx into baselines/policies/NAME.onnx with its record."""

    run = Path(run)
    header = json.loads((run / "config.json").read_text())
    final = json.loads((run / "final.json").read_text())
    config = header["config"]
    meta = {
        "name": f"{config['algo']}-{header['task']}-seed{config['seed']}",
        "task": header["task"],
        "morphology": header["morphology"],
        "model_hash": header["model_hash"],
        # the clips it was trained on (runs from before the field was recorded have none)
        **({"suite_hash": header["suite_hash"]} if "suite_hash" in header else {}),
        "observation_size": header["observation_size"],
        "action_size": header["action_size"],
        "action_interface": header.get("action_interface", "excitation"),
        "training": {"steps": final["steps"], "config": config},
        "final_test_summary": final["summary"],
    }
    with atomic_path(POLICIES / f"{name}.onnx") as partial:  # whole, or the old one stays
        shutil.copyfile(run / "policy.onnx", partial)
    write_json(POLICIES / f"{name}.json", meta)
    return POLICIES / f"{name}.onnx"


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3:
        sys.exit("usage: python -m baselines.shipped RUN_DIR NAME")
    print(ship(Path(sys.argv[1]), sys.argv[2]))
