"""`benchmark run`: evaluate an agent on tasks, one episode per (task, seed, clip).

Episodes run in worker processes (or in this one with `workers=1`), or on a Ray cluster
(`executor="ray"`, `benchmark.ray_executor`). Each finished episode
is appended to `episodes.jsonl` at once, so an interrupted run loses nothing; `resume`
skips the episodes already there. `results.json` is written at the end (and, marked
incomplete, on Ctrl-C): protocol version, suite hash, agent, seeds, per-task aggregates,
the episode records, library versions, machine and wall time.

An agent that raises or returns a bad action, or a simulation that diverges, ends that
episode as failed with the reason; the run goes on.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from benchmark import protocol
from benchmark.agents import (
    action_interface,
    agent_name,
    fingerprint,
    is_controller,
    load_agent,
)
from benchmark.episode import Job, Worker
from benchmark.metrics import SCALARS, EpisodeMetrics, across_seeds, task_summary
from benchmark.processes import die_with_parent
from benchmark.provenance import libraries, machine
from benchmark.ray_executor import execute
from benchmark.tasks import TASKS, Task, get_task, suite_hash
from retargeting.files import write_json

EPISODES_FILE = "episodes.jsonl"
RESULTS_FILE = "results.json"


class ResultsExistError(FileExistsError):
    pass


class RunSettingsError(ValueError):
    """Seeds or tasks a run cannot be made of."""


class ResumeMismatchError(ResultsExistError):
    """A folder whose earlier run differs from the one asked to resume in it."""


def plan(tasks: list[Task], split: str, seeds: list[int]) -> list[Job]:
    return [
        Job(task.id, seed, clip, split)
        for task in tasks
        for seed in seeds
        for clip in task.clip_names(split)
    ]


# -- the local executors: this process, or a pool of processes -----------------------------
_pool_worker: list[Worker] = []  # a pool process's own Worker, made by `pool_worker_init`


def pool_worker_init(agent_spec: str, parent: int | None = None) -> None:
    """Start a pool process: it dies with `parent` and leaves Ctrl-C to the parent."""

    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _pool_worker[:] = [Worker(agent_spec)]


def _pool_run(job: Job) -> dict[str, Any]:
    return _pool_worker[0].run(job)


# -- the run ---------------------------------------------------------------------------------
def run(
    agent_spec: str,
    task_ids: list[str] | None,
    *,
    out: Path,
    split: str = "test",
    seeds: list[int] | None = None,
    workers: int | None = None,
    resume: bool = False,
    progress: bool = True,
    executor: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    """Evaluate and write the results files; returns the results dictionary. Without task
    ids: the tasks the agent declares in a `tasks` attribute (a trained policy acts on one
    body only), else every task. `workers` processes (default 1: in this one); `executor`
    "ray" runs the episodes on the Ray cluster at `address` (a local instance without one),
    on `workers` actors (default: one per CPU of the cluster)."""
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
    started = time.time()
    seeds = list(seeds if seeds is not None else [0])
    if (
        not seeds
        or any(not isinstance(s, int | np.integer) or s < 0 for s in seeds)
        or len(set(seeds)) < len(seeds)
    ):
        raise RunSettingsError(f"seeds must be distinct whole numbers >= 0, got {seeds}")
    if task_ids is not None and len(set(task_ids)) < len(task_ids):
        raise RunSettingsError(f"tasks must be distinct, got {list(task_ids)}")
    agent = load_agent(agent_spec)  # fail before any work if it cannot be found
    if task_ids is None:
        task_ids = list(getattr(agent, "tasks", None) or TASKS)
    tasks = [get_task(t) for t in task_ids]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    episodes_path = out / EPISODES_FILE
    if not resume and episodes_path.exists():
        raise ResultsExistError(f"{out} already holds results; use --resume or another -o")
    header = {
        "protocol": protocol.PROTOCOL_VERSION,
        "suite_hash": suite_hash(tasks),
        "agent": {
            "spec": agent_spec,
            "name": agent_name(agent, agent_spec),
            "is_controller": is_controller(agent),
            "action_interface": action_interface(agent),
            "fingerprint": fingerprint(agent, agent_spec),
        },
        "tasks": [t.id for t in tasks],
        "split": split,
        "seeds": seeds,
    }
    done = {}
    if resume and episodes_path.exists():
        _check_resume(out, header)
        done = _read_episodes(episodes_path)
        _end_torn_line(episodes_path)
    jobs = [job for job in plan(tasks, split, seeds) if job.key not in done]
    records = dict(done)
    complete = False
    # the header first, so that a run killed before its end can be resumed and checked
    write_json(out / RESULTS_FILE, _results(header, tasks, split, seeds, records, started, False))
    try:
        with episodes_path.open("a") as stream:
            if executor == "ray":
                found = execute(agent_spec, jobs, address=address, workers=workers)
                if progress:
                    found = tqdm(found, total=len(jobs), unit="episode")
            else:
                found = _execute(agent_spec, agent, jobs, workers or 1, progress)
            for record in found:
                stream.write(json.dumps(record, allow_nan=True) + "\n")
                stream.flush()
                records[record["key"]] = record
        complete = True
    finally:
        results = _results(header, tasks, split, seeds, records, started, complete)
        write_json(out / RESULTS_FILE, results)
    return results


def _execute(agent_spec: str, agent: Any, jobs: list[Job], workers: int, progress: bool):
    bar = tqdm(total=len(jobs), unit="episode", disable=not progress)
    try:
        if workers <= 1:
            worker = Worker(agent_spec, agent)  # the agent loaded above, not a second copy
            for job in jobs:
                bar.set_postfix_str(f"{job.task} {job.clip}")
                yield worker.run(job)
                bar.update()
            return
        # multiprocessing.Pool: on Ctrl-C (or any error) leaving the block terminates the
        # workers at once; they ignore SIGINT so that only this process handles it.
        initargs = (agent_spec, os.getpid())
        with multiprocessing.Pool(workers, pool_worker_init, initargs) as pool:
            for record in pool.imap_unordered(_pool_run, jobs):
                bar.update()
                yield record
    finally:
        bar.close()


RESUMED_FIELDS = ("protocol", "tasks", "split", "seeds", "suite_hash")
RESUMED_AGENT_FIELDS = ("name", "fingerprint", "action_interface", "is_controller")


def _check_resume(out: Path, header: dict[str, Any]) -> None:
    """Refuse to resume in a folder whose earlier run had another agent, tasks, split, seeds,
    protocol or suite, naming the field."""
    path = out / RESULTS_FILE
    try:
        earlier = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise ResumeMismatchError(
            f"{path}: missing or unreadable, so the episodes in {out} cannot be matched to an "
            "agent; resume nothing there, use another -o"
        ) from None
    pairs = [(f, earlier.get(f), header[f]) for f in RESUMED_FIELDS]
    pairs += [
        (f"agent.{f}", earlier.get("agent", {}).get(f), header["agent"][f])
        for f in RESUMED_AGENT_FIELDS
    ]
    for field, theirs, mine in pairs:
        if theirs != mine:
            raise ResumeMismatchError(
                f"{path}: field '{field}' is {theirs!r}, this run has {mine!r}; "
                "--resume continues only the same run (use another -o)"
            )


def _end_torn_line(path: Path) -> None:
    """End a last line that an interruption cut short, so the next record starts a line of
    its own (the torn one is ignored by `_read_episodes`)."""
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) != b"\n":
            handle.write(b"\n")


def _read_episodes(path: Path) -> dict[str, dict]:
    """Finished episodes of an earlier run; a line cut short by an interruption is ignored."""
    records = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            records[record["key"]] = record
    return records


def _results(header, tasks, split, seeds, records, started, complete) -> dict[str, Any]:
    failed = sum(r["failure"] is not None for r in records.values())
    ordered = sorted(records.values(), key=lambda r: r["key"])
    return {
        **header,
        "complete": complete,
        "episodes_total": len(plan(tasks, split, seeds)),
        "episodes_done": len(records),
        "episodes_failed": failed,
        "results": aggregate(tasks, split, seeds, list(records.values())),
        "metrics": list(SCALARS),
        "episodes": ordered,
        "libraries": libraries(),
        "machine": machine(),
        "wall_s": round(time.time() - started, 2),
    }


def aggregate(
    tasks: list[Task], split: str, seeds: list[int], records: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per task: the means over its episodes, and across seeds (when every seed has every
    clip) the interquartile mean of MPJPE and coverage with its interval. The leaderboard
    recomputes a submission's aggregates with this same function."""

    per_task = {}
    for task in tasks:
        clips = task.clip_names(split)
        mine = [r for r in records if r["task"] == task.id]
        episodes = [
            EpisodeMetrics.from_record(r)
            for r in sorted(mine, key=lambda r: (r["seed"], clips.index(r["clip"])))
        ]
        summary = task_summary(episodes) if episodes else {}
        by_seed = [[r for r in mine if r["seed"] == seed and r["clip"] in clips] for seed in seeds]
        if episodes and all(len(rows) == len(clips) for rows in by_seed):
            for key in ("mpjpe_mm", "coverage"):
                scores = np.array(
                    [[_by_clip(rows, clip)[key] for clip in clips] for rows in by_seed], float
                )
                if np.all(np.isfinite(scores)):
                    summary[f"{key}_across_seeds"] = across_seeds(scores)
        per_task[task.id] = summary
    return per_task


def _by_clip(rows: list[dict], clip: str) -> dict:
    return next(r for r in rows if r["clip"] == clip)


def summary_rows(results: dict) -> list[list]:
    rows = []
    for task, s in results["results"].items():
        if not s:
            continue
        rows.append(
            [
                task,
                s["episodes"],
                s["failed"],
                round(s["success"], 2),
                round(s["coverage"], 3),
                round(s["strict_coverage"], 3),
                round(s["mpjpe_mm"], 1),
                round(s["mpjpe_root_relative_mm"], 1),
                round(s["joint_rmse_rad"], 3),
            ]
        )
    return rows


SUMMARY_HEADERS = [
    "task",
    "episodes",
    "failed",
    "success",
    "coverage",
    "strict_cov",
    "mpjpe_mm",
    "root_rel_mm",
    "joint_rmse",
]
