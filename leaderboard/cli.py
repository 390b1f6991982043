"""The `leaderboard` command: submit, list, show, verify, export.

    leaderboard submit results/my-run --method "My method" --author "A. Person" \\
        --link https://example.org/paper --training-steps 1000000 --no-reference-clips
    leaderboard show legs80-walk
    leaderboard verify 3
    leaderboard export --html site/
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from benchmark.tables import format_table
from benchmark.tasks import UnknownTaskError, get_task
from leaderboard.ranking import task_standings
from leaderboard.site import export_site
from leaderboard.store import DuplicateSubmission, Store, StoreError, default_location
from leaderboard.submission import METADATA_FILE, SubmissionError, load, read_json
from leaderboard.verify import TOLERANCE, verify

_METADATA_FLAGS = ("method", "link", "training_steps", "training_wall_s", "uses_reference_clips")


def _store(args: argparse.Namespace):

    return Store(args.store)


def _metadata(args: argparse.Namespace) -> dict[str, Any]:
    """submission.json in the directory, if any, with the flags given on top."""

    path = Path(args.directory) / METADATA_FILE
    flags = [n for n in _METADATA_FLAGS if getattr(args, n) is not None] or args.author
    if not path.exists() and not flags:
        raise SubmissionError(
            [
                f"{path}: missing, and no metadata flags: write it, or pass --method, "
                "--author and --uses-reference-clips or --no-reference-clips"
            ]
        )
    metadata = read_json(path, METADATA_FILE) if path.exists() else {}
    for name in _METADATA_FLAGS:
        value = getattr(args, name)
        if value is not None:
            metadata[name] = value
    if args.author:
        metadata["authors"] = args.author
    if args.training_run:
        run = Path(args.training_run)
        final = json.loads((run / "final.json").read_text())
        curve = json.loads((run / "curve.json").read_text())
        metadata.setdefault("training_steps", final["steps"])
        metadata.setdefault("training_wall_s", final["wall_s"])
        metadata["curve"] = {
            "steps": [point["steps"] for point in curve],
            "mpjpe_mm": [point["mpjpe_mm"] for point in curve],
        }
    return metadata


def _submit(args: argparse.Namespace) -> int:

    try:
        metadata = _metadata(args)
        submission = load(args.directory, policy=args.policy, metadata=metadata)
        identifier = _store(args).add(submission)
    except SubmissionError as error:
        print(f"leaderboard: {args.directory}: {error}", file=sys.stderr)
        return 2
    except DuplicateSubmission as error:
        print(f"leaderboard: {args.directory}: {error}", file=sys.stderr)
        return 2
    tasks = ", ".join(submission.results["tasks"])
    policy = " with its policy (leaderboard verify can re-run it)" if submission.policy else ""
    print(f"submitted #{identifier}: {submission.metadata['method']} on {tasks}{policy}")
    return 0


def _list(args: argparse.Namespace) -> int:

    rows = [
        [
            e.id,
            e.submitted_at,
            e.method,
            ", ".join(e.tasks),
            len(e.results["seeds"]),
            "verified" if e.verified else ("policy" if e.has_policy else ""),
        ]
        for e in _store(args).entries()
    ]
    print(format_table(["#", "submitted", "method", "tasks", "seeds", "status"], rows))
    return 0


def _interval(value: float, interval: list[float] | None, digits: int) -> str:
    if math.isnan(value):
        return "-"
    text = f"{value:.{digits}f}"
    return text + (f" [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]" if interval else "")


def _show(args: argparse.Namespace) -> int:

    try:
        task = get_task(args.task)
    except UnknownTaskError as error:
        print(f"leaderboard: {error}", file=sys.stderr)
        return 2
    standings = task_standings(_store(args).entries(task.id), task.id)
    rows = [
        [
            s.rank,
            s.entry.id,
            s.entry.method,
            s.interface,
            _interval(s.success, s.success_ci, 2),
            _interval(s.mpjpe_mm, s.mpjpe_ci, 1),
            round(s.coverage, 3),
            "-" if s.score is None else round(s.score, 1),
            s.seeds,
            s.standing,
        ]
        for s in standings
    ]
    headers = [
        "rank",
        "#",
        "method",
        "interface",
        "success",
        "mpjpe_iqm_mm",
        "coverage",
        "score",
        "seeds",
        "standing",
    ]
    print(
        f"{task.id} ({task.morphology}): success rate, then MPJPE, ranked within each action "
        "interface, entries the board re-ran (verified) before self-reported ones; 95 % "
        "intervals over seeds"
    )
    print(format_table(headers, rows))
    return 0


def _verify(args: argparse.Namespace) -> int:

    outcome = verify(_store(args), args.id, progress=not args.quiet)
    print(
        f"#{args.id}: {outcome.episodes} episodes re-run, largest difference "
        f"{outcome.max_abs_difference:.3g} (tolerance {TOLERANCE['relative']:g} relative, "
        f"{TOLERANCE['absolute']:g} absolute)"
    )
    if outcome.verified:
        print(f"#{args.id}: verified")
        return 0
    for line in outcome.mismatches:
        print(f"  {line}", file=sys.stderr)
    print(f"#{args.id}: NOT verified", file=sys.stderr)
    return 1


def _export(args: argparse.Namespace) -> int:

    pages = export_site(_store(args).entries(), args.html)
    print(f"wrote {len(pages)} pages to {args.html} (open {Path(args.html) / 'index.html'})")
    return 0


def build_parser() -> argparse.ArgumentParser:

    parser = argparse.ArgumentParser(
        prog="leaderboard",
        description="Validated, verifiable submissions of benchmark results, and the board.",
    )
    parser.add_argument(
        "--store",
        default=None,
        help="SQLite file or SQLAlchemy URL "
        f"(default: $CROSSMIMIC_LEADERBOARD or {default_location()})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "submit",
        help="validate a benchmark run's results directory and put it on the board",
        description="DIR holds results.json (benchmark run) and submission.json (the "
        "metadata), or the metadata comes from the flags. Refused with every reason if any "
        "check fails (see the leaderboard docs).",
    )
    p.add_argument("directory", type=Path, metavar="DIR")
    p.add_argument("--policy", type=Path, help="ONNX policy (default: DIR/policy.onnx if there)")
    p.add_argument("--method", help="method name")
    p.add_argument("--author", action="append", help="an author (repeatable)")
    p.add_argument("--link", help="paper or code, http(s)")
    p.add_argument("--training-steps", type=int)
    p.add_argument("--training-wall-s", type=float)
    reference = p.add_mutually_exclusive_group()
    reference.add_argument(
        "--uses-reference-clips",
        dest="uses_reference_clips",
        action="store_const",
        const=True,
        help="the method used the task's reference clips at training time",
    )
    reference.add_argument(
        "--no-reference-clips", dest="uses_reference_clips", action="store_const", const=False
    )
    p.add_argument(
        "--training-run",
        type=Path,
        help="a benchmark train output folder: its steps, wall time and learning curve",
    )
    p.set_defaults(handler=_submit)

    p = commands.add_parser("list", help="every submission")
    p.set_defaults(handler=_list)

    p = commands.add_parser("show", help="one task's ranked table")
    p.add_argument("task")
    p.set_defaults(handler=_show)

    p = commands.add_parser(
        "verify",
        help="re-run a submission's ONNX policy under the protocol",
        description="Marks the entry verified only when every episode's metrics equal the "
        "submitted ones within the stated tolerance.",
    )
    p.add_argument("id", type=int)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=_verify)

    p = commands.add_parser("export", help="write the static HTML site")
    p.add_argument("--html", type=Path, required=True, metavar="SITE_DIR")
    p.set_defaults(handler=_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except StoreError as error:
        print(f"leaderboard: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
