"""What a run's training log says: episode lengths, DEP's share, how far updates moved.

Per run folder, from `training.csv`: the mean training-episode length in control steps
(`episode_steps`) over the iterations of the quarter million steps before each of the given
budgets (one iteration's figure is noisy: a few dozen episodes); for DEP-PPO the mean
`dep_share` (the share of a rollout's samples that DEP drove) after the DEP warm-up; over
the whole run, the mean clip fraction (the share of the policy's samples whose ratio lay
outside PPO's clip, averaged over each update's minibatches) and the median KL by which an
update moved the policy (`kl`; `approx_kl` in logs written before it was renamed).

Usage: .venv/bin/python scripts/training_log.py RUN [RUN...] [--at 1e6 3e6 5e6]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

from baselines.dep import PRESETS
from benchmark.tables import format_table

WINDOW = 250_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="training run folders")
    parser.add_argument("--at", nargs="+", type=float, default=[1e6, 3e6, 5e6])
    arguments = parser.parse_args()
    budgets = [int(b) for b in arguments.at]
    rows = []
    for run in arguments.runs:
        with open(run / "training.csv") as handle:
            log = list(csv.DictReader(handle))
        config = json.loads((run / "config.json").read_text())["config"]
        row: list[object] = [run.name]
        rollout = config["envs"] * config["rollout"]  # the last iteration overshoots by less
        for budget in budgets:
            window = [
                float(r["episode_steps"])
                for r in log
                if budget - WINDOW < int(r["steps"]) < budget + rollout and r["episode_steps"]
            ]
            row.append(round(sum(window) / len(window), 1) if window else "-")
        if config["algo"] == "dep-ppo":
            warmup = config["dep_warmup"] or PRESETS[config["dep_preset"]].warmup_steps
            shares = [float(r["dep_share"]) for r in log if int(r["steps"]) > warmup]
            row.append(f"{100 * sum(shares) / len(shares):.2f} %")
        else:
            row.append("-")
        kl = "kl" if "kl" in log[0] else "approx_kl"
        row.append(round(statistics.fmean(float(r["clip_fraction"]) for r in log), 3))
        row.append(round(statistics.median(float(r[kl]) for r in log), 3))
        rows.append(row)
    headers = ["run", *(f"episode steps at {b / 1e6:g}M" for b in budgets), "DEP share"]
    headers += ["clip fraction (mean)", "update KL (median)"]
    print(format_table(headers, rows))


if __name__ == "__main__":
    main()
