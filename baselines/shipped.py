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


def ship(source: Path, name: str, *, selected_by: str | None = None) -> Path:
    """Copy a policy into baselines/policies/NAME.onnx with its record: a finished run's
    final policy (SOURCE is the run folder) or one it kept at an evaluation (SOURCE is
    RUN/evaluated/STEPS, its test summary read from the run's curve). `selected_by` says how
    it was chosen (recorded, so a reader can tell a selection on the test clips from one on
    the training clips)."""

    source = Path(source)
    kept = source.parent.name == "evaluated"
    run = source.parent.parent if kept else source
    header = json.loads((run / "config.json").read_text())
    config = header["config"]
    if kept:
        steps = int(source.name)
        rows = [r for r in json.loads((run / "curve.json").read_text()) if r["steps"] == steps]
        if not rows:
            raise ValueError(f"{run / 'curve.json'}: no evaluation at step {steps} for {source}")
        summary = {k: v for k, v in rows[0].items() if k not in ("steps", "wall_s")}
    else:
        final = json.loads((run / "final.json").read_text())
        steps, summary = final["steps"], final["summary"]
    meta = {
        "name": f"{config['algo']}-{header['task']}-seed{config['seed']}"
        + (f"-step{steps}" if kept else ""),
        "task": header["task"],
        "morphology": header["morphology"],
        "model_hash": header["model_hash"],
        # the clips it was trained on (runs from before the field was recorded have none)
        **({"suite_hash": header["suite_hash"]} if "suite_hash" in header else {}),
        "observation_size": header["observation_size"],
        "action_size": header["action_size"],
        "action_interface": header.get("action_interface", "excitation"),
        "training": {"run": run.name, "steps": steps, "config": config},
        "policy": f"kept at the evaluation after {steps} steps" if kept else "final",
        **({"selected_by": selected_by} if selected_by else {}),
        "test_summary": summary,
    }
    with atomic_path(POLICIES / f"{name}.onnx") as partial:  # whole, or the old one stays
        shutil.copyfile(source / "policy.onnx", partial)
    write_json(POLICIES / f"{name}.json", meta)
    return POLICIES / f"{name}.onnx"


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m baselines.shipped", description=ship.__doc__)
    parser.add_argument("source", type=Path, help="a run folder, or RUN/evaluated/STEPS")
    parser.add_argument("name", help="the shipped policy's name (baselines/policies/NAME.onnx)")
    parser.add_argument("--selected-by", help="how the policy was chosen, for the record")
    arguments = parser.parse_args()
    print(ship(arguments.source, arguments.name, selected_by=arguments.selected_by))
