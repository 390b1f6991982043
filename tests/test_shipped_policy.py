"""The shipped policy: `benchmark run --agent baselines:pretrained` scores above the zero
agent on legs80-walk, and refuses tasks and models it was not trained for."""

from __future__ import annotations

import json
import shutil

import pytest

import baselines.shipped as shipped
from benchmark.runner import run


def test_the_shipped_policy_covers_more_of_the_clips_than_the_zero_agent(tmp_path):
    policy = run("baselines:pretrained", None, out=tmp_path / "policy", progress=False)
    zero = run("zero", ["legs80-walk"], out=tmp_path / "zero", progress=False)
    assert policy["tasks"] == ["legs80-walk"]  # the tasks the agent declares
    assert policy["episodes_failed"] == 0
    covered = policy["results"]["legs80-walk"]["coverage"]
    assert covered > zero["results"]["legs80-walk"]["coverage"]


def test_it_refuses_another_task():
    agent = shipped.pretrained()
    with pytest.raises(ValueError, match="is for legs80-walk, not legs86-walk"):
        agent.reset({"task": "legs86-walk", "observation_size": 857})


def test_a_policy_for_another_body_model_is_refused(tmp_path, monkeypatch):
    for suffix in ("onnx", "json"):
        shutil.copy(shipped.POLICIES / f"legs80-walk.{suffix}", tmp_path / f"old.{suffix}")
    meta = json.loads((tmp_path / "old.json").read_text())
    meta["model_hash"] = "f" * 64
    (tmp_path / "old.json").write_text(json.dumps(meta))
    monkeypatch.setattr(shipped, "POLICIES", tmp_path)
    with pytest.raises(ValueError, match="model_hash"):
        shipped.load("old")
    with pytest.raises(FileNotFoundError, match="shipped: old"):
        shipped.load("missing")


def test_a_policy_kept_at_an_evaluation_ships_with_that_evaluation_s_record(tmp_path, monkeypatch):
    meta = json.loads((shipped.POLICIES / "legs80-walk.json").read_text())
    run_folder = tmp_path / "run"
    kept = run_folder / "evaluated" / f"{250000:010d}"
    kept.mkdir(parents=True)
    shutil.copy(shipped.POLICIES / "legs80-walk.onnx", kept / "policy.onnx")
    names = ("task", "morphology", "model_hash", "observation_size", "action_size")
    header = {k: meta[k] for k in names} | {"action_interface": meta["action_interface"]}
    (run_folder / "config.json").write_text(
        json.dumps(header | {"config": meta["training"]["config"]})
    )
    curve = [
        {"steps": 0, "wall_s": 1.0, "mpjpe_mm": 180.0},
        {"steps": 250000, "wall_s": 9.0, "mpjpe_mm": 95.0},
    ]
    (run_folder / "curve.json").write_text(json.dumps(curve))
    monkeypatch.setattr(shipped, "POLICIES", tmp_path / "policies")
    (tmp_path / "policies").mkdir()

    shipped.ship(kept, "kept", selected_by="training-split clip error")
    record = json.loads((tmp_path / "policies" / "kept.json").read_text())
    assert record["training"]["steps"] == 250000
    assert record["test_summary"] == {"mpjpe_mm": 95.0}
    assert record["selected_by"] == "training-split clip error"
    assert shipped.load("kept").action_interface == meta["action_interface"]

    (run_folder / "curve.json").write_text(json.dumps(curve[:1]))
    with pytest.raises(ValueError, match="curve.json: no evaluation at step 250000"):
        shipped.ship(kept, "kept")
