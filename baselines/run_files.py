"""What a training run's folder holds, written and read in one place: `checkpoint.pt` (every
iteration, with a digest of its contents so damage is refused), `training.csv` (per
iteration), `curve.csv` / `curve.json` (per evaluation) with each evaluated policy
(`evaluated/STEPS/`), and the trained policy (`policy.pt`, `policy.onnx`). Every file is
written whole or not at all."""

from __future__ import annotations

import csv
import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.config import TrainConfig
from baselines.networks import ActorCritic, DeterministicPolicy
from benchmark.tasks import get_task
from retargeting.files import atomic_path, write_json

CHECKPOINT_FORMAT = "crossmimic-ppo-checkpoint/1"
CURVE_COLUMNS = (
    "steps",
    "wall_s",
    "mpjpe_mm",
    "coverage",
    "success",
    "joint_rmse_rad",
    "activation_volume",
    "end_frames",  # per test clip, the frame its episode ended at
    "ended_by",  # per test clip, the keypoint farthest off when it terminated ("-": did not)
)
TRAINING_COLUMNS = (
    "iteration",
    "steps",
    "wall_s",
    "steps_per_s",
    "reward",  # mean reward per step
    "episodes",  # episodes that ended in the rollout (terminated or reached the clip's end)
    "terminated",  # the fraction of those the termination rule (or a divergence) ended
    "episode_steps",  # their mean length in steps
    "termination_distance",  # the training termination distance of the rollout (m x scale)
    "kl",  # KL(rollout's policy || updated policy), exact, mean over the rollout's states
    "clip_fraction",  # mean fraction of the policy's samples outside the clip range
    "minibatch_steps",  # the policy's optimiser steps (fewer than epochs x minibatches: KL stop)
    "learning_rate",  # the (first) Adam rate of the update: --adaptive-kl and --anneal-lr move it
)


class CheckpointError(ValueError):
    """A checkpoint that is corrupted or belongs to another task, body or model."""


def _read(path: Path, expected_format: str, what: str, task: str | None = None) -> dict:
    """A saved state, refused if damaged, of another format or task, or made on another
    body model than the installed one."""

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise CheckpointError(f"{path}: not a readable {what} ({error})") from None
    if not isinstance(state, dict) or state.get("format") != expected_format:
        raise CheckpointError(f"{path}: field 'format' is not {expected_format!r}")
    stored = state.pop("sha256", None)
    if stored is not None and stored != _digest(state):  # files before checksums have none
        raise CheckpointError(
            f"{path}: field 'sha256' does not match the contents: the file was damaged or "
            "edited after it was written"
        )
    if task is not None and state["task"] != get_task(task).id:
        raise CheckpointError(
            f"{path}: field 'task' is {state['task']!r}, expected {get_task(task).id!r}"
        )
    body = get_task(state["task"]).body
    if state["morphology"] != body.name:
        raise CheckpointError(
            f"{path}: field 'morphology' is {state['morphology']!r}, the task's body is "
            f"{body.name!r}"
        )
    mismatch = body.model_mismatch(state["model_hash"])
    if mismatch:
        raise CheckpointError(f"{path}: field 'model_hash': the file was {mismatch}")
    return state


def load_checkpoint(
    path: Path, *, task: str | None = None, suite_hash: str | None = None
) -> dict[str, Any]:
    """Read a checkpoint, refusing a corrupted one, one of another task or body model, or
    (given the installed clips' `suite_hash`) one begun on other clips."""
    state = _read(path, CHECKPOINT_FORMAT, "checkpoint", task)
    saved = state.get("suite_hash")  # checkpoints from before the field have none
    if suite_hash is not None and saved is not None and saved != suite_hash:
        raise CheckpointError(
            f"{path}: field 'suite_hash' is {saved[:12]}, the installed {state['task']} clips "
            f"hash to {suite_hash[:12]}: the run began on other clips; continue it on the "
            "version it began on, or start a new run"
        )
    return state


def _digest(value: Any) -> str:
    """sha256 over a saved state's contents: every tensor's dtype, shape and bytes, and every
    other value's repr, in key order. torch.load restores them as they were saved, so
    a damaged or edited weight changes it."""

    digest = hashlib.sha256()

    def walk(item: Any) -> None:
        if isinstance(item, torch.Tensor):
            tensor = item.detach().cpu().contiguous()
            digest.update(f"tensor {tensor.dtype} {tuple(tensor.shape)}".encode())
            digest.update(tensor.numpy().tobytes())
        elif isinstance(item, dict):
            for key in sorted(item, key=str):
                digest.update(f"key {key!r}".encode())
                walk(item[key])
        elif isinstance(item, list | tuple):
            digest.update(f"seq {len(item)}".encode())
            for element in item:
                walk(element)
        else:
            digest.update(repr(item).encode())

    walk(value)
    return digest.hexdigest()


def save_state(path: Path, state: dict[str, Any]) -> None:
    state = {**state, "sha256": _digest(state)}
    with atomic_path(path) as partial:  # a crash mid-write leaves the previous one whole
        torch.save(state, partial)


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """`columns` first, then any other field the rows hold: a run resumed by a newer version
    keeps the columns its earlier rows were written with (`approx_kl` before `kl`)."""
    extra = {k: None for row in rows for k in row if k not in columns}
    with atomic_path(path) as partial, open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=(*columns, *extra), restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_curve(out: Path, curve: list[dict[str, float]]) -> None:
    write_csv(out / "curve.csv", CURVE_COLUMNS, curve)
    write_json(out / "curve.json", curve)


def iteration_row(
    iteration: int,
    step: int,
    wall: float,
    elapsed: float,
    batch: int,
    reward: float,
    ends: dict[str, list],
    keypoints: list[str],
    distance: float,
) -> dict[str, Any]:
    """One row of training.csv: what the rollout's episodes did, and which tracked keypoint
    was farthest off when the termination rule ended them (`ended_<keypoint>` counts)."""
    episodes = len(ends["steps"])
    row = {
        "iteration": iteration,
        "steps": step,
        "wall_s": round(wall, 1),
        "steps_per_s": round(batch / elapsed),
        "reward": round(reward, 4),
        "episodes": episodes,
        "terminated": round(sum(ends["terminated"]) / episodes, 4) if episodes else "",
        "episode_steps": round(float(np.mean(ends["steps"])), 1) if episodes else "",
        "termination_distance": round(distance, 4),
    }
    counts = np.bincount(np.asarray(ends["by"], dtype=int), minlength=len(keypoints))
    row.update({f"ended_{name}": int(n) for name, n in zip(keypoints, counts, strict=True)})
    return row


POLICY_FORMAT = "crossmimic-policy/1"


def evaluated_dir(out: Path, steps: int) -> Path:
    """Where a run keeps the policy it evaluated after `steps` steps (zero-padded: the
    folders list in the order of the curve)."""
    return out / "evaluated" / f"{steps:010d}"


def save_policy(policy: DeterministicPolicy, out: Path, header: dict[str, Any]) -> None:
    """policy.pt (weights and what they are for) and policy.onnx (normaliser in the graph)."""

    out.mkdir(parents=True, exist_ok=True)
    names = ("task", "morphology", "model_hash", "observation_size", "action_size")
    meta = {k: header[k] for k in names}
    meta["action_interface"] = header["action_interface"]
    meta["hidden"] = list(header["config"]["hidden"])
    state = {"format": POLICY_FORMAT, **meta, "policy": policy.state_dict()}
    save_state(out / "policy.pt", state)
    example = torch.zeros(1, header["observation_size"])
    with atomic_path(out / "policy.onnx") as partial:
        with warnings.catch_warnings():
            # torch 2.9+ prefers its torch.export-based exporter, which needs onnxscript; the
            # TorchScript exporter handles this plain MLP and is kept for that reason
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                policy.eval(),
                (example,),
                str(partial),
                dynamo=False,
                input_names=["observation"],
                output_names=["action"],
                dynamic_axes={"observation": {0: "batch"}, "action": {0: "batch"}},
            )
        import onnx  # noqa: PLC0415 (onnx: heavy, export only)

        graph = onnx.load(str(partial))
        # read by benchmark.agents.OnnxAgent, so the policy acts through the interface it learned
        onnx.helper.set_model_props(graph, {"action_interface": meta["action_interface"]})
        onnx.save(graph, str(partial))


def load_policy(path: Path) -> tuple[DeterministicPolicy, dict[str, Any]]:
    """A saved policy.pt, refused if corrupted or made for another body model."""
    state = _read(path, POLICY_FORMAT, "policy file")
    state.setdefault("action_interface", "excitation")  # files made before interfaces existed
    config = TrainConfig(hidden=tuple(state["hidden"]))
    model = ActorCritic(state["observation_size"], state["action_size"], config)
    policy = DeterministicPolicy(model)
    policy.load_state_dict(state["policy"])
    return policy.eval(), state
