"""Choose a policy to ship among training runs' policies, judged on the training clips.

Every training run keeps the policy of each evaluation (`RUN/evaluated/STEPS/`) besides its
final one. Choosing among them by their test scores would choose on the test clips, and the
test score of the choice would then flatter it; so this evaluates every candidate on the
task's training split (`benchmark run --split train`, one deterministic episode per clip)
and ranks them by the mean clip error there: the leaderboard's error, where the frames after
a fall count at the termination threshold, so a policy that falls early ranks low however
sharp its first frames (`leaderboard.ranking`).

Candidates: each run's kept policies and its final policy (when no kept one is the same
step). Results go to OUT/RUN_NAME/STEPS/ and are reused on a second call. Prints the ranking
and writes it to OUT/selection.csv; ship the first with
`python -m baselines.shipped SOURCE NAME --selected-by "..."`.

Usage: .venv/bin/python scripts/select_policy.py RUN [RUN...] [-o results/select]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from baselines.run_files import write_csv
from benchmark.protocol import size_scale
from benchmark.runner import RESULTS_FILE, run
from benchmark.tables import format_table
from benchmark.tasks import get_task
from leaderboard.ranking import clip_error_mm

COLUMNS = ("run", "steps", "source", "clip_error_mm", "mpjpe_mm", "coverage", "success")


def candidates(run_folder: Path) -> list[tuple[int, Path]]:
    """(steps, folder holding policy.onnx) for a run's kept policies and its final one."""
    kept = sorted((run_folder / "evaluated").glob("[0-9]*"))
    found = [(int(folder.name), folder) for folder in kept if (folder / "policy.onnx").is_file()]
    final = run_folder / "final.json"
    if final.is_file() and (run_folder / "policy.onnx").is_file():
        steps = json.loads(final.read_text())["steps"]
        if steps not in {s for s, _ in found}:
            found.append((steps, run_folder))
    if not found:
        raise FileNotFoundError(f"{run_folder}: no policy.onnx (neither kept nor final)")
    return found


def train_split_row(run_folder: Path, steps: int, source: Path, out: Path) -> dict:
    task = json.loads((run_folder / "config.json").read_text())["task"]
    folder = out / run_folder.name / f"{steps:010d}"
    done = folder / RESULTS_FILE
    results = json.loads(done.read_text()) if done.is_file() else {}
    if not results.get("complete"):  # not begun, or interrupted: resume its episodes
        results = run(
            str(source / "policy.onnx"), [task], out=folder, split="train",
            resume=True, progress=False,
        )  # fmt: skip
    scale = size_scale(get_task(task).body)
    episodes = results["episodes"]
    summary = results["results"][task]
    return {
        "run": run_folder.name,
        "steps": steps,
        "source": "final" if source == run_folder else "kept",
        "clip_error_mm": round(sum(clip_error_mm(e, scale) for e in episodes) / len(episodes), 1),
        "mpjpe_mm": round(summary["mpjpe_mm"], 1),
        "coverage": round(summary["coverage"], 3),
        "success": round(summary["success"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="training run folders")
    parser.add_argument("-o", "--output", type=Path, default=Path("results/select"))
    arguments = parser.parse_args()
    tasks = {json.loads((r / "config.json").read_text())["task"] for r in arguments.runs}
    if len(tasks) != 1:
        parser.error(f"the runs are for more than one task: {sorted(tasks)}")
    rows = [
        train_split_row(run_folder, steps, source, arguments.output)
        for run_folder in arguments.runs
        for steps, source in candidates(run_folder)
    ]
    rows.sort(key=lambda row: row["clip_error_mm"])
    write_csv(arguments.output / "selection.csv", COLUMNS, rows)
    print(format_table(COLUMNS, [[row[c] for c in COLUMNS] for row in rows]))
    best = rows[0]
    print(f"\nlowest training-split clip error: {best['run']} at {best['steps']} steps")


if __name__ == "__main__":
    main()
