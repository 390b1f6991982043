"""`benchmark compare`: sample-efficiency measures with hand-computed answers, the table,
the plot, and refusal of an unfinished run folder."""

from __future__ import annotations

import json
import math

import pytest

from baselines.compare import RunFolderError, load_run, mpjpe_area, steps_to_threshold
from benchmark.cli import main


def _curve(points):
    return [
        {
            "steps": s,
            "wall_s": 0.0,
            "mpjpe_mm": m,
            "coverage": 0.5,
            "success": 0.0,
            "joint_rmse_rad": 0.3,
            "activation_volume": 10.0,
        }
        for s, m in points
    ]


def _write_run(folder, algo, seed, points):
    folder.mkdir(parents=True)
    config = {"algo": algo, "seed": seed}
    (folder / "config.json").write_text(json.dumps({"config": config, "task": "legs80-walk"}))
    curve = _curve(points)
    (folder / "curve.json").write_text(json.dumps(curve))
    summary = {k: v for k, v in curve[-1].items() if k not in ("steps", "wall_s")}
    final = {"steps": points[-1][0], "summary": summary}
    (folder / "final.json").write_text(json.dumps(final))
    return folder


def test_steps_to_threshold_and_area_by_hand():
    curve = _curve([(0, 300.0), (100, 150.0), (200, 90.0), (300, 120.0)])
    assert steps_to_threshold(curve, 100.0) == 200.0
    assert math.isnan(steps_to_threshold(curve, 50.0))
    # trapezoids: (300+150)/2*100 + (150+90)/2*100 + (90+120)/2*100 = 45000, over 300 steps
    assert mpjpe_area(curve) == pytest.approx(150.0)


def test_compare_prints_per_algorithm_estimates_and_plots(tmp_path, capsys):
    runs = []
    for seed in range(3):
        runs.append(
            _write_run(tmp_path / f"ppo{seed}", "ppo", seed, [(0, 250.0), (100, 120.0 + seed)])
        )
        runs.append(
            _write_run(
                tmp_path / f"dep{seed}", "dep-ppo", seed, [(0, 250.0), (50, 95.0), (100, 80.0)]
            )
        )
    plot, report = tmp_path / "curves.png", tmp_path / "report.json"
    code = main(
        ["compare", *map(str, runs), "--plot", str(plot), "-o", str(report), "--reps", "200"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "dep-ppo" in out and "ppo" in out and "3/3" in out and "0/3" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(report.read_text())
    dep = data["algorithms"]["dep-ppo"]
    assert dep["steps_to_threshold"] == [50.0, 50.0, 50.0]
    assert dep["estimates"]["mpjpe_mm"]["iqm"] == pytest.approx(80.0)
    assert data["algorithms"]["ppo"]["reached"] == 0


def test_the_ratio_of_steps_to_the_threshold_between_two_setups(tmp_path, capsys):
    runs = [
        _write_run(tmp_path / f"dep{seed}", "dep-ppo", seed, [(0, 250.0), (reach, 90.0)])
        for seed, reach in enumerate((300, 300, 600))
    ]
    runs += [
        _write_run(tmp_path / f"ppo{seed}", "ppo", seed, [(0, 250.0), (200, 90.0)])
        for seed in range(2)
    ]
    assert main(["compare", *map(str, runs), "-o", str(tmp_path / "r.json"), "--reps", "200"]) == 0
    (ratio,) = json.loads((tmp_path / "r.json").read_text())["ratios"]
    # IQM of three seeds is their mean (rliable trims a quarter from each end: none of three)
    assert ratio["setups"] == ["dep-ppo", "ppo"] and ratio["reached"] == [3, 2]
    assert ratio["ratio"] == pytest.approx(400 / 200)
    low, high = ratio["ci95"]
    assert 1.5 <= low < 2.0 < high <= 3.0  # resampled seeds: all 300 (1.5x) to all 600 (3x)
    assert "dep-ppo / ppo: 2.00 [" in capsys.readouterr().out


def test_an_unfinished_run_is_refused(tmp_path, capsys):
    folder = _write_run(tmp_path / "run", "ppo", 0, [(0, 250.0)])
    (folder / "final.json").unlink()
    with pytest.raises(RunFolderError, match="final.json"):
        load_run(folder)
    assert main(["compare", str(folder)]) == 2
    assert "final.json" in capsys.readouterr().err


def test_runs_of_other_interfaces_or_rules_are_never_pooled(tmp_path, capsys):
    runs = []
    for seed in range(2):
        plain = _write_run(tmp_path / f"plain{seed}", "ppo", seed, [(0, 250.0), (100, 200.0)])
        servo = _write_run(tmp_path / f"servo{seed}", "ppo", seed, [(0, 250.0), (100, 90.0)])
        header = json.loads((servo / "config.json").read_text())
        header["config"].update(action_interface="muscle_length", termination="any-keypoint")
        (servo / "config.json").write_text(json.dumps(header))
        runs += [plain, servo]
    assert load_run(runs[1]).setup == "ppo muscle_length any-keypoint"
    assert main(["compare", *map(str, runs), "--reps", "100"]) == 0
    out = capsys.readouterr().out
    assert "ppo muscle_length any-keypoint      2" in out and "\nppo " in out
    assert "2/2" in out and "0/2" in out
    with pytest.raises(RunFolderError, match="seed repeated"):
        from baselines.compare import compare

        compare([load_run(runs[1]), load_run(runs[3]), load_run(runs[3])])


def test_runs_that_differ_in_any_setting_or_in_their_clips_are_never_pooled(tmp_path, capsys):
    def run(name, seed, suite, **settings):
        folder = _write_run(tmp_path / name, "ppo", seed, [(0, 250.0), (100, 150.0)])
        header = json.loads((folder / "config.json").read_text())
        header["config"].update(settings)
        (folder / "config.json").write_text(json.dumps(header))
        final = json.loads((folder / "final.json").read_text())
        final["suite_hash"] = suite
        (folder / "final.json").write_text(json.dumps(final))
        return folder

    runs = [
        run("five0", 0, "a" * 64, epochs=5),
        run("five1", 1, "a" * 64, epochs=5, threads=1),  # threads: not a setting
        run("one0", 0, "a" * 64, epochs=1),
        run("other0", 0, "b" * 64, epochs=5),
    ]
    (runs[0] / "curve.json").unlink()  # docs/results/ keeps curve.csv only
    (runs[0] / "curve.csv").write_text(
        "steps,wall_s,mpjpe_mm,coverage,success,joint_rmse_rad,activation_volume\n"
        "0,0.0,250.0,0.5,0.0,0.3,10.0\n100,1.0,150.0,0.5,0.0,0.3,10.0\n"
    )
    assert main(["compare", *map(str, runs), "--reps", "100"]) == 0
    out = capsys.readouterr().out
    # a setting is named where a run leaves it off its default (epochs: 5)
    seeds = {line[:27].strip(): line[27:].split()[0] for line in out.splitlines()[3:]}
    assert seeds == {
        "ppo clips aaaaaaaa": "2",
        "ppo epochs 1 clips aaaaaaaa": "1",
        "ppo clips bbbbbbbb": "1",
    }
    assert main(["compare", *map(str, runs[:2]), "--reps", "100"]) == 0
    assert "\nppo        2 " in capsys.readouterr().out  # nothing differs: the plain label
