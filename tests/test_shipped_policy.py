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
