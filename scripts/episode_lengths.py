"""How long a run's training episodes lasted as it learned, and DEP's share of its samples.

Per run folder: the mean training-episode length in control steps (`episode_steps` of
`training.csv`) over the iterations of the quarter million steps before each of the given
budgets (one iteration's figure is noisy: a few dozen episodes), and for DEP-PPO the mean
`dep_share` (the share of a rollout's samples that DEP drove) after the DEP warm-up.

Usage: .venv/bin/python scripts/episode_lengths.py RUN [RUN...] [--at 1e6 3e6 5e6]
"""

from __future__ import annotations

import argparse
import csv
import json
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
        rows.append(row)
    headers = ["run", *(f"episode steps at {b / 1e6:g}M" for b in budgets), "DEP share"]
    print(format_table(headers, rows))


if __name__ == "__main__":
    main()
