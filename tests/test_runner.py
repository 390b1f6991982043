"""`benchmark run`: reference reads zero, determinism, resume, failures recorded, bad --agent."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from benchmark.agents import AgentLoadError, load_agent
from benchmark.cli import main
from benchmark.episode import Job, run_episode
from benchmark.runner import (
    EPISODES_FILE,
    RESULTS_FILE,
    ResumeMismatchError,
    run,
)
from benchmark.tasks import TASKS

BAD = Path(__file__).parent / "agents" / "bad_agents.py"


def _metrics(results: dict) -> tuple:
    episodes = [{k: v for k, v in e.items() if k != "wall_s"} for e in results["episodes"]]
    return json.dumps(results["results"], sort_keys=True), json.dumps(episodes, sort_keys=True)


@pytest.mark.slow
def test_reference_agent_reads_zero_error_on_every_task(tmp_path):
    results = run("reference", list(TASKS), out=tmp_path, split="all", progress=False)
    assert results["complete"] and results["episodes_failed"] == 0
    assert not results["agent"]["is_controller"]
    for task, summary in results["results"].items():
        assert summary["mpjpe_mm"] < 1.0, task
        assert summary["coverage"] == 1.0, task


def test_zero_agent_falls_early_on_walking_tasks(tmp_path):
    results = run("zero", ["legs80-walk"], out=tmp_path, split="all", progress=False)
    assert results["results"]["legs80-walk"]["coverage"] < 0.5


def test_a_deterministic_agent_scores_identically_twice(tmp_path):
    first = run(f"{BAD}:Mild", ["legs80-run"], out=tmp_path / "a", progress=False)
    second = run(f"{BAD}:Mild", ["legs80-run"], out=tmp_path / "b", progress=False)
    assert _metrics(first) == _metrics(second)
    random_a = run("random", ["legs80-run"], out=tmp_path / "c", seeds=[3], progress=False)
    random_b = run("random", ["legs80-run"], out=tmp_path / "d", seeds=[3], progress=False)
    assert _metrics(random_a) == _metrics(random_b)


def test_a_run_killed_halfway_resumes_to_the_same_results(tmp_path):
    whole = run("random", ["legs80-walk"], out=tmp_path / "whole", seeds=[0, 1], progress=False)
    lines = (tmp_path / "whole" / EPISODES_FILE).read_text().splitlines()
    cut = tmp_path / "cut"
    cut.mkdir()
    # two finished episodes and one line the kill cut short, beside the header a run writes
    # when it starts
    (cut / EPISODES_FILE).write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])
    (cut / RESULTS_FILE).write_text((tmp_path / "whole" / RESULTS_FILE).read_text())
    with pytest.raises(FileExistsError):
        run("random", ["legs80-walk"], out=cut, seeds=[0, 1], progress=False)
    resumed = run("random", ["legs80-walk"], out=cut, seeds=[0, 1], resume=True, progress=False)
    assert resumed["complete"] and resumed["episodes_done"] == 4
    assert _metrics(resumed) == _metrics(whole)
    # the torn line stays alone on its line; every record after it is whole
    text = (cut / EPISODES_FILE).read_text().splitlines()
    assert text[2] == lines[2][:40] and len(text) == 5
    assert all(json.loads(line)["key"] for line in text[3:])
    saved = json.loads((cut / RESULTS_FILE).read_text())
    assert saved["suite_hash"] == whole["suite_hash"]


def test_a_resume_continues_only_the_same_run(tmp_path):
    out = tmp_path / "run"
    run("zero", ["legs80-walk"], out=out, seeds=[0, 1], progress=False)
    header = json.loads((out / RESULTS_FILE).read_text())["agent"]
    assert header["fingerprint"] == "built-in:zero"
    attempts = [
        ("random", ["legs80-walk"], [0, 1, 2], "field 'seeds'"),
        ("random", ["legs80-walk"], [0, 1], "field 'agent.name'"),
        ("zero", ["legs80-run"], [0, 1], "field 'tasks'"),
    ]
    for agent, tasks, seeds, field in attempts:
        with pytest.raises(ResumeMismatchError, match=field):
            run(agent, tasks, out=out, seeds=seeds, resume=True, progress=False)
    again = run("zero", ["legs80-walk"], out=out, seeds=[0, 1], resume=True, progress=False)
    assert again["complete"] and again["agent"]["name"] == "zero"
    (out / RESULTS_FILE).unlink()
    with pytest.raises(ResumeMismatchError, match="cannot be matched to an agent"):
        run("zero", ["legs80-walk"], out=out, seeds=[0, 1], resume=True, progress=False)


def test_an_edited_policy_file_is_another_agent(tmp_path):
    from baselines.shipped import POLICIES

    policy = tmp_path / "policy.onnx"
    policy.write_bytes((POLICIES / "legs80-walk.onnx").read_bytes())
    out = tmp_path / "run"
    run(str(policy), ["legs80-walk"], out=out, progress=False)
    import onnx

    graph = onnx.load(str(policy))
    graph.doc_string = "edited"
    onnx.save(graph, str(policy))
    with pytest.raises(ResumeMismatchError, match="field 'agent.fingerprint'"):
        run(str(policy), ["legs80-walk"], out=out, resume=True, progress=False)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("WrongShape", "invalid action: action must have shape"),
        ("Nan", "NaN"),
        ("Raises", "boom"),
        ("Exits", "agent raised SystemExit: 3"),
    ],
)
def test_misbehaving_agents_fail_their_episodes_and_the_run_completes(
    tmp_path, capsys, name, problem
):
    argv = ["run", "--agent", f"{BAD}:{name}", "--task", "legs80-walk", "-o", str(tmp_path), "-q"]
    assert main(argv) == 1
    results = json.loads((tmp_path / RESULTS_FILE).read_text())
    assert results["complete"]
    assert results["episodes_failed"] == results["episodes_done"] == 2
    assert all(problem in e["failure"] for e in results["episodes"])
    assert "2 of 2 episodes failed" in capsys.readouterr().err


def test_a_diverging_simulation_fails_that_episode_only():
    from benchmark.env import ImitationEnv

    env = ImitationEnv("legs80-walk", split="test", evaluation=True)

    class Kicker:
        def act(self, observation):
            env.data.qvel[:] = 1e30  # blow the state up
            return np.zeros(env.action_space.shape)

    record = run_episode(Kicker(), env, Job("legs80-walk", 0, "walk_1", "test"))
    assert "diverged" in record["failure"]
    assert record["steps"] == 1 and not record["success"]
    healthy = run_episode(load_agent("zero"), env, Job("legs80-walk", 0, "walk_1", "test"))
    assert healthy["failure"] is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module:agent", "cannot import module 'no_such_module'"),
        ("benchmark.agents:Nothing", "has no 'Nothing'"),
        ("missing.py", "no file missing.py"),
        (f"{BAD}:np", "has no act"),
        ("justaword", "not a built-in agent"),
    ],
)
def test_bad_agent_specs_say_what_was_looked_for(spec, message):
    with pytest.raises(AgentLoadError, match=message):
        load_agent(spec)


def test_agent_from_a_file_and_a_module_path():
    assert load_agent(str(BAD)).__class__.__name__ == "Mild"  # the file's `agent`
    assert load_agent("benchmark.agents:RandomAgent").name == "random"  # a class is made


def test_unknown_task_and_results_folder_reuse_are_clear_errors(tmp_path, capsys):
    assert main(["run", "--agent", "zero", "--task", "legs99", "-o", str(tmp_path), "-q"]) == 2
    assert "known tasks: legs80-walk" in capsys.readouterr().err


def test_tasks_command_lists_every_task(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert all(task in out for task in TASKS)


def test_ctrl_c_leaves_a_valid_partial_result_that_resumes(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    argv = ["run", "--agent", f"{BAD}:Slow", "--task", "legs80-walk", "--split", "all"]
    argv += ["--workers", "2", "-o", str(out)]
    code = "import sys; from benchmark.cli import main; sys.exit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [sys.executable, "-c", code, *argv, "-q"],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    episodes = out / EPISODES_FILE
    deadline = time.time() + 120
    while time.time() < deadline and (
        not episodes.exists() or len(episodes.read_text().splitlines()) < 2
    ):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()
    partial = json.loads((out / RESULTS_FILE).read_text())
    assert not partial["complete"]
    assert 2 <= partial["episodes_done"] < partial["episodes_total"]
    resumed = run(f"{BAD}:Slow", ["legs80-walk"], out=out, split="all", resume=True, progress=False)
    assert resumed["complete"] and resumed["episodes_done"] == resumed["episodes_total"]


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--seeds", "-1"], "seeds must be distinct whole numbers >= 0, got [-1]"),
        (["--seeds", "0", "0"], "seeds must be distinct whole numbers >= 0, got [0, 0]"),
        (["--task", "legs80-walk", "--task", "legs80-walk"], "tasks must be distinct"),
    ],
)
def test_seeds_and_tasks_a_run_cannot_be_made_of_are_refused(tmp_path, capsys, argv, problem):
    base = ["run", "--agent", "zero", "-o", str(tmp_path / "run"), "-q"]
    if "--task" not in argv:
        base += ["--task", "legs80-walk"]
    assert main([*base, *argv]) == 2
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_an_agent_past_its_time_limits_fails_its_episode():
    from benchmark.agents import load_agent
    from benchmark.env import ImitationEnv

    env = ImitationEnv("legs80-walk", split="test", evaluation=True)
    job = Job("legs80-walk", 0, "walk_1", "test")
    started = time.perf_counter()
    record = run_episode(load_agent(f"{BAD}:Hangs"), env, job, step_limit_s=0.5)
    assert time.perf_counter() - started < 30
    assert record["failure"] == "agent raised AgentTimeout: act took longer than 0.5 s"
    assert record["steps"] == 0
    record = run_episode(load_agent(f"{BAD}:Slow"), env, job, episode_limit_s=0.2)
    assert record["failure"] == "agent's episode took longer than 0.2 s"
    assert 0 < record["steps"] < 20
    record = run_episode(load_agent(f"{BAD}:Mild"), env, job)  # the defaults: never near
    assert record["failure"] is None
