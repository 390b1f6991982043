"""Sample efficiency of training runs (protocol v1): steps until the test MPJPE first falls to
100 mm x size scale, the area under the MPJPE-vs-steps curve, and the final metrics, per
setup across seeds (interquartile mean with a 95 % stratified-bootstrap interval), plus
the learning-curve plot (MPJPE vs steps; PPO dashed, DEP-PPO solid, shaded intervals).

A setup is the algorithm, followed by the action interface and the training termination
rule where they are not protocol v1's (`excitation`, `mean-error`), and by every other
training setting (and the clips' suite hash) in which the runs compared differ: runs that
differ in anything but their seed and budget are never pooled as seeds of one setup.

A run folder is what `benchmark train` writes: config.json, curve.json and final.json (or
curve.csv, as the folders under docs/results/ keep it). The checkpoint rule is "final": the
final policy's evaluation, never the best one seen.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from baselines.config import TrainConfig
from benchmark import protocol
from benchmark.metrics import across_seeds, ratio_interval
from benchmark.tasks import get_task

FINAL_METRICS = ("mpjpe_mm", "joint_rmse_rad", "activation_volume", "coverage", "success")


class RunFolderError(ValueError):
    """A folder that is not a complete training run."""


# TrainConfig fields that do not set a run apart from its seeds: the seed, the budget, when
# it is evaluated and how many processes and threads compute it
NOT_SETTINGS = ("task", "seed", "steps", "eval_every", "threads", "workers")
# the settings `setup_label` names whenever they are not protocol v1's
LABELLED = (
    "algo",
    "action_interface",
    "termination",
    "termination_distance",
    "termination_curriculum",
    "termination_tilt",
    "pose_reward",
    "assist",
    "assist_until",
)
DEFAULTS = {item.name: item.default for item in fields(TrainConfig)}


@dataclass(frozen=True)
class Run:
    path: Path
    algo: str
    setup: str  # what sets the run apart from the others compared (module docstring)
    task: str
    seed: int
    budget: int
    curve: list[dict]
    final: dict
    settings: dict[str, Any]  # its training settings, but for NOT_SETTINGS
    suite: str | None  # the suite hash of its clips (None: a run from before it was recorded)


def load_run(path: Path) -> Run:
    path = Path(path)
    files = {}
    names = ["config.json", "curve.json", "final.json"]
    if not (path / "curve.json").is_file() and (path / "curve.csv").is_file():
        names.remove("curve.json")  # a folder of docs/results/: its text files only
        files["curve.json"] = _read_curve_csv(path / "curve.csv")
    for name in names:
        if not (path / name).is_file():
            raise RunFolderError(f"{path}: no {name} (is the run finished? `--resume` ends it)")
        try:
            files[name] = json.loads((path / name).read_text())
        except json.JSONDecodeError as error:
            raise RunFolderError(f"{path / name}: not JSON ({error})") from None
    config = files["config.json"]
    return Run(
        path=path,
        algo=config["config"]["algo"],
        setup=setup_label(config["config"]),
        task=config["task"],
        seed=int(config["config"]["seed"]),
        budget=int(files["final.json"]["steps"]),
        curve=files["curve.json"],
        final=files["final.json"]["summary"],
        settings=_settings(config["config"]),
        suite=files["final.json"].get("suite_hash") or config.get("suite_hash"),
    )


def _read_curve_csv(path: Path) -> list[dict]:
    """curve.csv's rows as curve.json holds them: numbers as numbers."""
    rows = []
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                row["steps"] = int(row["steps"])
                for key in ("wall_s", *FINAL_METRICS):
                    row[key] = float(row[key])
            except (KeyError, TypeError, ValueError) as error:
                raise RunFolderError(f"{path}: line {line}: expected numbers ({error})") from None
            rows.append(row)
    return rows


def _settings(config: dict) -> dict[str, Any]:
    """The run's training settings, a missing one (a run older than the setting) at its
    default; DEP's only for DEP-PPO, where they act."""
    settings = {}
    for name, default in DEFAULTS.items():
        value = config.get(name, default)
        if name in NOT_SETTINGS or (config["algo"] != "dep-ppo" and _is_dep(name)):
            continue
        settings[name] = tuple(value) if isinstance(value, list) else value
    return settings


def _is_dep(name: str) -> bool:
    return name.startswith("dep_") or name in ("switching", "rl_length")


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def label_setups(runs: list[Run]) -> list[Run]:
    """The runs, each labelled `setup_label` plus, of the settings in which the runs compared
    differ, those it does not leave at `TrainConfig`'s default (`epochs 1`; DEP's among the
    DEP-PPO runs), and, where they were trained on different clips, the suite hash. Two runs
    labelled alike have the same settings: of two values of a setting, one at most is the
    default."""
    names = sorted({name for run in runs for name in run.settings} - set(LABELLED))
    varying = [n for n in names if len({repr(r.settings[n]) for r in runs if n in r.settings}) > 1]
    suites = {run.suite for run in runs}
    labelled = []
    for run in runs:
        parts = [setup_label({**run.settings, "algo": run.algo})]
        parts += [
            f"{n} {_value(run.settings[n])}"
            for n in varying
            if n in run.settings and run.settings[n] != DEFAULTS[n]
        ]
        if len(suites) > 1:
            parts.append(f"clips {run.suite[:8] if run.suite else 'unrecorded'}")
        labelled.append(replace(run, setup=" ".join(parts)))
    return labelled


def setup_label(config: dict) -> str:
    """ "ppo", or "ppo reference_length any-keypoint 0.15 curriculum tilt 0.3 pose 0.5"
    (and "assist 1 to 500000"):
    what sets a run apart beyond its seed (runs made before interfaces existed are
    `excitation`, `mean-error`)."""
    parts = [config["algo"]]
    if config.get("action_interface", "excitation") != "excitation":
        parts.append(config["action_interface"])
    rule, distance = config.get("termination", "mean-error"), config.get("termination_distance")
    if rule != "mean-error" or distance is not None:
        parts.append(rule if distance is None else f"{rule} {distance:g}")
    if config.get("termination_curriculum"):
        parts.append("curriculum")
    if config.get("termination_tilt"):
        parts.append(f"tilt {config['termination_tilt']:g}")
    if config.get("pose_reward"):
        parts.append(f"pose {config['pose_reward']:g}")
    if config.get("assist"):
        parts.append(f"assist {config['assist']:g} to {config['assist_until']}")
    return " ".join(parts)


def steps_to_threshold(curve: list[dict], threshold_mm: float) -> float:
    """Environment steps at the first evaluation whose MPJPE is at or below the threshold
    (NaN if never)."""
    for row in curve:
        if math.isfinite(row["mpjpe_mm"]) and row["mpjpe_mm"] <= threshold_mm:
            return float(row["steps"])
    return math.nan


def mpjpe_area(curve: list[dict]) -> float:
    """Area under MPJPE (mm) vs steps (trapezoids), divided by the steps covered: the mean
    MPJPE over training, lower is better."""
    steps = np.array([row["steps"] for row in curve], dtype=float)
    mpjpe = np.array([row["mpjpe_mm"] for row in curve], dtype=float)
    if len(steps) < 2 or steps[-1] <= steps[0]:
        return float(mpjpe[0]) if len(mpjpe) else math.nan
    area = np.sum((mpjpe[1:] + mpjpe[:-1]) / 2.0 * np.diff(steps))
    return float(area / (steps[-1] - steps[0]))


def compare(runs: list[Run], *, reps: int = 2000) -> dict:
    """Per setup (under the key "algorithms"): per-seed values and the across-seed estimates
    of each measure."""

    tasks = {run.task for run in runs}
    if len(tasks) != 1:
        raise RunFolderError(f"runs of several tasks ({', '.join(sorted(tasks))}); compare one")
    task = get_task(tasks.pop())
    scale = protocol.size_scale(task.body)
    threshold = protocol.SAMPLE_EFFICIENCY_MPJPE * 1000.0 * scale
    report = {"task": task.id, "threshold_mm": threshold, "algorithms": {}}
    runs = label_setups(runs)
    for setup in sorted({run.setup for run in runs}):
        group = sorted((r for r in runs if r.setup == setup), key=lambda r: r.seed)
        seeds = [r.seed for r in group]
        if len(set(seeds)) != len(seeds):
            unrecorded = any(r.suite is None for r in group)
            raise RunFolderError(
                f"setup {setup!r}: seed repeated in {[str(r.path) for r in group]}"
                + (
                    " (runs older than the suite hash's record cannot be told apart by their clips)"
                    if unrecorded
                    else ""
                )
            )
        values = {key: [float(r.final[key]) for r in group] for key in FINAL_METRICS}
        values["mpjpe_area_mm"] = [mpjpe_area(r.curve) for r in group]
        reach = [steps_to_threshold(r.curve, threshold) for r in group]
        entry = {
            "seeds": [r.seed for r in group],
            "budget": sorted({r.budget for r in group}),
            "steps_to_threshold": reach,
            "reached": sum(math.isfinite(s) for s in reach),
            "per_seed": values,
            "estimates": {},
        }
        for key, series in values.items():
            entry["estimates"][key] = across_seeds(np.array(series)[:, None], reps=reps)
        reached = [s for s in reach if math.isfinite(s)]
        if reached:
            entry["estimates"]["steps_to_threshold"] = across_seeds(
                np.array(reached)[:, None], reps=reps
            )
        report["algorithms"][setup] = entry
    report["ratios"] = threshold_ratios(report["algorithms"], reps=reps)
    return report


def threshold_ratios(algorithms: dict[str, dict], *, reps: int = 2000) -> list[dict]:
    """For each pair of setups (in the table's order) whose seeds reached the threshold: the
    ratio of their steps to it (IQM over the seeds that reached) with a 95 % interval, the
    first setup's over the second's (DEP-RL reports DEP-PPO's samples over PPO's)."""
    names = list(algorithms)
    ratios = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = (
                [s for s in algorithms[n]["steps_to_threshold"] if math.isfinite(s)]
                for n in (first, second)
            )
            if a and b:
                value, interval = ratio_interval(np.array(a), np.array(b), reps=reps)
                ratios.append(
                    {
                        "setups": [first, second],
                        "reached": [len(a), len(b)],
                        "ratio": value,
                        "ci95": interval,
                    }
                )
    return ratios


def plot(runs: list[Run], path: Path, threshold_mm: float | None = None) -> None:
    """Test MPJPE and coverage vs steps per setup, side by side: seed mean as a line (PPO
    dashed, DEP-PPO solid), the range over seeds shaded, the setups named under the plots."""
    import matplotlib  # noqa: PLC0415 (matplotlib: heavy, figures only)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 (matplotlib: heavy, figures only)

    styles = {"ppo": ("--", "tab:blue", "PPO"), "dep-ppo": ("-", "tab:red", "DEP-PPO")}
    runs = label_setups(runs)
    setups = sorted({run.setup for run in runs})
    figure, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.6 + 0.25 * len(setups)), dpi=120)
    for setup in setups:
        group = [r for r in runs if r.setup == setup]
        algo = group[0].algo
        steps = sorted({row["steps"] for r in group for row in r.curve})
        line, color, label = styles.get(algo, ("-", None, algo))
        if setup != algo:  # several setups: colours tell them apart
            color, label = None, setup
        for axes, key in ((left, "mpjpe_mm"), (right, "coverage")):
            matrix = np.array(
                [
                    np.interp(steps, [x["steps"] for x in r.curve], [x[key] for x in r.curve])
                    for r in group
                ]
            )
            n_seeds = f"{len(group)} seed" + ("s" if len(group) > 1 else "")
            (drawn,) = axes.plot(
                steps, matrix.mean(0), line, color=color, label=f"{label} ({n_seeds})"
            )
            color = drawn.get_color()
            axes.fill_between(steps, matrix.min(0), matrix.max(0), color=color, alpha=0.2)
    if threshold_mm is not None:
        left.axhline(threshold_mm, color="grey", lw=0.8, ls=":", label="threshold")
    for axes, name in ((left, "test MPJPE (mm)"), (right, "test coverage")):
        axes.set_xlabel("environment steps")
        axes.set_ylabel(name)
    figure.suptitle(f"{runs[0].task}: mean over seeds, range shaded")
    handles, labels = left.get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", fontsize="small", frameon=False)
    figure.tight_layout(rect=(0, 0.05 * (len(setups) + 2), 1, 1))
    figure.savefig(path)
    plt.close(figure)
