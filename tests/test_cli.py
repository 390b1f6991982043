"""The `benchmark` command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

import morphologies
from benchmark.cli import build_parser, main
from benchmark.tables import format_table


def test_morphologies_prints_one_row_per_body(capsys):
    assert main(["morphologies", "human_legs_80", "human_legs_abs_86"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "name",
        "muscles",
        "DoF",
        "mass_kg",
        "hip_height_m",
        "leg_length_m",
        "model_hash",
        "build_s",
    ]
    legs = lines[2].split()
    assert legs[:3] == ["human_legs_80", "80", "20"]
    assert legs[6] == morphologies.get("human_legs_80").model_hash[:12]
    assert lines[3].split()[:2] == ["human_legs_abs_86", "86"]
    assert len(lines) == 4


def test_unknown_morphology_exits_2_and_lists_the_names(capsys):
    assert main(["morphologies", "dodo"]) == 2
    error = capsys.readouterr().err
    assert "dodo" in error and "human_legs_80" in error


@pytest.mark.parametrize("command", [[], ["morphologies"]])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: benchmark" in capsys.readouterr().out


def test_console_script_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "morphologies", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "morphologies" in done.stdout


def test_format_table_aligns_numbers_right_and_text_left():
    text = format_table(["name", "n"], [["a", 1], ["bbb", 20]])
    assert text.splitlines() == ["name   n", "----  --", "a      1", "bbb   20"]
