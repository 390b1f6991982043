"""`leaderboard export --html SITE_DIR`: a static site that works opened from disk.

`index.html` lists the tasks and the cross-species view; `task-<id>.html` is one task's
ranked table (sortable by clicking a heading), its verified badges and the submitted
learning curves (`curves/*.svg`). Every submitted string goes through Jinja's autoescaping,
links are http(s) only (the schema refuses others), and a content-security policy lets only
the page's own script (by nonce) run: a name with markup in it shows as text.
"""

from __future__ import annotations

import math
import secrets
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from benchmark.protocol import PROTOCOL_VERSION
from benchmark.tasks import TASKS
from leaderboard.ranking import cross_species, task_standings
from leaderboard.store import Entry


def _mm(value: float) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.1f}"


def export_site(entries: list[Entry], folder: str | Path) -> list[Path]:
    """Write the site into `folder`; the pages written."""

    folder = Path(folder)
    (folder / "curves").mkdir(parents=True, exist_ok=True)
    environment = Environment(
        loader=PackageLoader("leaderboard", "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )
    common = {"protocol": PROTOCOL_VERSION, "entries": len(entries), "mm": _mm}
    written, tasks = [], []
    for task in TASKS.values():
        standings = task_standings(entries, task.id)
        page = f"task-{task.id}.html"
        curves = [
            {"id": row.entry.id, "method": row.entry.method, "file": _curve(row.entry, folder)}
            for row in standings
            if "curve" in row.entry.metadata
        ]
        text = environment.get_template("task.html").render(
            task=task, standings=standings, curves=curves, nonce=secrets.token_hex(16), **common
        )
        (folder / page).write_text(text, encoding="utf-8")
        written.append(folder / page)
        tasks.append(
            {
                "id": task.id,
                "morphology": task.morphology,
                "page": page,
                "count": len(standings),
                "leader": standings[0] if standings else None,
            }
        )
    text = environment.get_template("index.html").render(
        tasks=tasks, cross=cross_species(entries), nonce=secrets.token_hex(16), **common
    )
    (folder / "index.html").write_text(text, encoding="utf-8")
    written.insert(0, folder / "index.html")
    return written


def _curve(entry: Entry, folder: Path) -> str:
    """Draw an entry's learning curve as an SVG; its path relative to the site."""
    import matplotlib  # noqa: PLC0415 (matplotlib: heavy, figures only)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 (matplotlib: heavy, figures only)

    curve = entry.metadata["curve"]
    name = f"curves/entry-{entry.id}.svg"
    figure, axes = plt.subplots(figsize=(5.2, 3.2))
    axes.plot(curve["steps"], curve["mpjpe_mm"], marker="o", markersize=3)
    axes.set_xlabel("environment steps")
    axes.set_ylabel("test MPJPE (mm)")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(folder / name, format="svg", metadata={"Date": None})
    plt.close(figure)
    return name
