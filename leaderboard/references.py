"""The reference scores of the normalised leaderboard score: the `zero` agent's clip error
per task (`leaderboard.ranking`), written to `references.json` in the package.

    python -m leaderboard.references            # every task (about a minute)

Run it when a task's definition changes (protocol, body model, suite or clips);
`tests/test_leaderboard.py` fails until it has been, and re-runs the zero agent on one task
to check its stored value exactly (the clips are shipped, the same on every install).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmark.protocol import PROTOCOL_VERSION, size_scale
from benchmark.runner import run
from benchmark.tasks import get_task, suite_hash
from leaderboard.ranking import clip_error_mm, task_definition

REFERENCES = Path(__file__).parent / "references.json"


def zero_reference(task: str) -> dict[str, Any]:
    """The zero agent's mean clip error (mm) on a task's test clips, and the task's hash."""

    with tempfile.TemporaryDirectory() as folder:
        results = run("zero", [task], out=Path(folder), progress=False)
    scale = size_scale(get_task(task).body)
    errors = [clip_error_mm(e, scale) for e in results["episodes"]]
    return {
        "protocol": PROTOCOL_VERSION,
        "definition": task_definition(task),
        "suite_hash": suite_hash([get_task(task)]),  # the clips it was measured on, for the record
        "zero_clip_error_mm": sum(errors) / len(errors),
    }


def write(tasks: list[str], path: Path = REFERENCES) -> dict[str, Any]:
    existing = json.loads(path.read_text()) if path.exists() else {"tasks": {}}
    for task in tasks:
        existing["tasks"][task] = zero_reference(task)
    existing["about"] = "zero-agent clip errors per task; python -m leaderboard.references"
    path.write_text(json.dumps(existing, indent=1, sort_keys=True) + "\n")
    return existing


if __name__ == "__main__":
    from benchmark.tasks import TASKS

    chosen = sys.argv[1:] or list(TASKS)
    for name, value in write(chosen)["tasks"].items():
        if name in chosen:
            print(f"{name}: {value['zero_clip_error_mm']:.1f} mm ({value['suite_hash'][:12]})")
