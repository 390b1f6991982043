"""`benchmark plot`: episode figures (PNG and SVG) and per-clip coverage bars."""

from __future__ import annotations

from benchmark.cli import main
from benchmark.plots import record_episode
from benchmark.runner import run

PNG = b"\x89PNG\r\n\x1a\n"


def test_an_episode_record_holds_per_step_errors_and_activations():
    replay = record_episode("reference", "legs80-walk", "walk_1")
    assert replay.errors.shape == (180, 7) and replay.activations.shape == (180, 80)
    assert replay.errors.max() < 1e-6 and not replay.terminated
    fall = record_episode("zero", "legs80-walk", "walk_1")
    assert fall.terminated and fall.errors.mean(axis=1)[-1] > 0.5


def test_episode_figures_and_coverage_bars(tmp_path, capsys):
    errors, activation = tmp_path / "errors.png", tmp_path / "activation.svg"
    code = main(
        ["plot", "episode", "--agent", "random", "--errors", str(errors)]
        + ["--activation", str(activation)]
    )
    assert code == 0
    assert errors.read_bytes()[:8] == PNG
    assert b"<svg" in activation.read_bytes()[:400]
    assert main(["plot", "episode", "--agent", "zero"]) == 2

    run("zero", ["legs80-walk", "legs80-run"], out=tmp_path / "zero", progress=False)
    bars = tmp_path / "coverage.png"
    assert main(["plot", "coverage", str(tmp_path / "zero" / "results.json"), "-o", str(bars)]) == 0
    assert bars.read_bytes()[:8] == PNG
    capsys.readouterr()
    assert main(["plot", "coverage", str(tmp_path / "zero" / "results.json"), "-o", str(bars)]) == 2
    assert "exists already; --overwrite replaces it" in capsys.readouterr().err
    argv = ["plot", "coverage", str(tmp_path / "zero" / "results.json"), "-o", str(bars)]
    assert main([*argv, "--overwrite"]) == 0
    other = tmp_path / "other.png"
    assert main(["plot", "coverage", str(tmp_path / "missing.json"), "-o", str(other)]) == 2
    assert "missing.json" in capsys.readouterr().err
