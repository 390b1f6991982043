"""The `benchmark` command: one parser, its subcommands contributed by command group.

The benchmark's own groups live in `benchmark.commands` (`data`: bodies and reference data;
`evaluate`: tasks, runs and figures). Packages above the benchmark in the data flow (the
baselines' `train` and `compare`) and third-party plugins add theirs through the
`crossmimic.commands` entry point group: each entry point names a `register(commands)`
function that adds subparsers, each with a `handler(args) -> exit code` default.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

import morphologies
from benchmark.agents import AgentLoadError
from benchmark.commands import data, evaluate
from benchmark.runner import ResultsExistError, RunSettingsError
from benchmark.tasks import UnknownTaskError
from retargeting.datasets import DatasetFormatError
from retargeting.datasets.suites import SuiteInputError
from retargeting.files import UsageError
from retargeting.motion import MotionFormatError

ENTRY_POINTS = "crossmimic.commands"
# errors a command reports as `benchmark: <message>`, exit 2 (bad input, never a traceback)
USER_ERRORS = (
    morphologies.UnknownMorphologyError,
    MotionFormatError,
    DatasetFormatError,
    SuiteInputError,
    UnknownTaskError,
    AgentLoadError,
    ResultsExistError,
    UsageError,
    RunSettingsError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmark",
        description="crossmimic: cross-species musculoskeletal motion-imitation benchmark.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data.register(commands)
    evaluate.register(commands)
    for entry in sorted(entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        entry.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
