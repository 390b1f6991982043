"""The `benchmark` command line."""

from __future__ import annotations

import hashlib
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


def _keypoint_file(path, spec):
    import numpy as np

    from retargeting.sources.procedural import generate

    motion = generate(spec)
    np.savez(
        path,
        keypoints=motion.keypoints,
        keypoint_names=np.array(motion.keypoint_names),
        fps=motion.fps,
    )
    return path


def test_retarget_writes_a_dataset_a_quality_table_and_a_preview(tmp_path, capsys):
    from retargeting.datasets import open_dataset
    from retargeting.sources.procedural import GaitSpec

    walk = _keypoint_file(tmp_path / "walk.npz", GaitSpec("walk", 1.3, duration=2.0))
    run = _keypoint_file(tmp_path / "run.npz", GaitSpec("run", 3.0, duration=2.0))
    out, png = tmp_path / "out.h5", tmp_path / "preview.png"
    argv = ["retarget", str(walk), str(run), "--morphology", "human_legs_80", "-o", str(out)]
    assert main([*argv, "--preview", str(png), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "resid_mm" in printed and "walk" in printed and "run" in printed
    assert png.stat().st_size > 10_000
    with open_dataset(out) as dataset:
        assert dataset.names == ("run", "walk")
        inputs = dataset.creation["inputs"]
    assert [i.split(" sha256:")[0] for i in inputs] == ["walk.npz", "run.npz"]
    assert inputs[0].split(" sha256:")[1] == hashlib.sha256(walk.read_bytes()).hexdigest()


def test_retarget_reports_bad_input_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n")
    out = tmp_path / "out.h5"
    assert main(["retarget", str(bad), "--morphology", "human_legs_80", "-o", str(out), "-q"]) == 2
    assert str(bad) in capsys.readouterr().err
    assert not out.exists()


def test_retarget_never_replaces_its_input_or_another_file(tmp_path, capsys):
    bvh = tmp_path / "walk.bvh"
    text = "not really a motion, and it must survive"
    bvh.write_text(text)
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    base = ["retarget", str(bvh), "--morphology", "human_legs_80", "-q"]
    for output, expected in [
        (bvh, "that is an input"),
        (other, "exists already; --overwrite replaces it"),
        (tmp_path, "is a folder"),
    ]:
        assert main([*base, "-o", str(output)]) == 2
        assert expected in capsys.readouterr().err
    # an input named another way is still the input, even with --overwrite
    assert main([*base, "-o", str(tmp_path / "." / "walk.bvh"), "--overwrite"]) == 2
    assert "that is an input" in capsys.readouterr().err
    assert bvh.read_text() == text and other.read_text() == "mine"


def test_datasets_build_makes_the_default_suite_once(tmp_path, capsys):
    argv = ["datasets", "build", "--morphology", "human_legs_80", "--cache", str(tmp_path), "-q"]
    assert main(argv) == 0
    built = tmp_path / "default" / "human_legs_80.h5"
    assert built.exists()
    capsys.readouterr()
    assert main(argv) == 0
    assert "already built" in capsys.readouterr().out
    assert main(["datasets", "list", "--cache", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert "human_legs_80" in listed and " 18 " in listed


def test_kit_split_has_the_published_key_counts():
    from retargeting.datasets.suites import kit_file, kit_keys

    train, test = kit_keys("train"), kit_keys("test")
    assert (len(train), len(set(train)), len(test), len(set(test))) == (975, 975, 109, 109)
    assert not set(train) & set(test)
    from pathlib import Path

    assert kit_file(Path("A"), "0-KIT_12_LeftTurn03_poses") == Path("A/KIT/12/LeftTurn03_poses.npz")


def test_datasets_build_amass_kit_from_amass_files(tmp_path, capsys):
    import numpy as np

    from retargeting.datasets import open_dataset
    from retargeting.datasets.suites import kit_file, kit_keys

    root = tmp_path / "amass"
    chosen = {"train": kit_keys("train")[:2], "test": kit_keys("test")[:1]}
    frames = 60
    phase = 2 * np.pi * np.arange(frames) / 60
    for keys in chosen.values():
        for key in keys:
            poses = np.zeros((frames, 156))
            poses[:, 0] = np.pi / 2
            poses[:, 3] = -0.3 * np.sin(phase)
            poses[:, 6] = 0.3 * np.sin(phase)
            path = kit_file(root, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, poses=poses, trans=np.zeros((frames, 3)), mocap_framerate=60.0)
    argv = ["datasets", "build", "--suite", "amass-kit", "--amass-root", str(root)]
    argv += ["--morphology", "human_legs_80", "--cache", str(tmp_path / "cache"), "-q"]
    assert main(argv) == 2  # most of the split is missing
    assert "missing" in capsys.readouterr().err
    assert main([*argv, "--allow-missing"]) == 0
    for split, keys in chosen.items():
        with open_dataset(tmp_path / "cache" / "amass-kit" / f"human_legs_80_{split}.h5") as data:
            assert data.names == tuple(sorted(keys))


def test_retarget_refuses_a_bad_frame_rate_and_clashing_names(tmp_path, capsys):
    from retargeting.sources.procedural import GaitSpec

    walk = _keypoint_file(tmp_path / "walk.npz", GaitSpec("walk", 1.3, duration=1.0))
    (tmp_path / "other").mkdir()
    twin = _keypoint_file(tmp_path / "other" / "walk.npz", GaitSpec("walk", 1.0, duration=1.0))
    base = ["retarget", str(walk), "--morphology", "human_legs_80", "-q"]
    assert main([*base, "-o", str(tmp_path / "a.h5"), "--fps", "nan"]) == 2
    assert "--fps nan: expected a positive number" in capsys.readouterr().err
    two = ["retarget", str(walk), str(twin), "--morphology", "human_legs_80", "-q"]
    assert main([*two, "-o", str(tmp_path / "b.h5")]) == 2
    assert "clips of the same name ['walk']" in capsys.readouterr().err


def test_motion_files_of_an_unknown_species_or_absurd_length_are_refused(tmp_path):
    import numpy as np

    from retargeting.motion import MotionFormatError
    from retargeting.sources.keypoint_file import load_keypoint_npz

    points = np.zeros((100, 2, 3))
    names = np.array(["a", "b"])
    np.savez(tmp_path / "fish.npz", keypoints=points, keypoint_names=names, fps=30.0,
             species="fish")  # fmt: skip
    with pytest.raises(MotionFormatError, match="fish.npz: species: 'fish' is not one of"):
        load_keypoint_npz(tmp_path / "fish.npz")
    np.savez(tmp_path / "slow.npz", keypoints=points, keypoint_names=names, fps=1e-3)
    with pytest.raises(MotionFormatError, match="slow.npz: fps: 100 frames at 0.001 fps"):
        load_keypoint_npz(tmp_path / "slow.npz")


def test_an_interrupted_retarget_never_keeps_the_clip_of_an_edited_input(tmp_path, capsys):
    import numpy as np

    from retargeting.datasets import open_dataset
    from retargeting.sources.procedural import GaitSpec

    walk = _keypoint_file(tmp_path / "walk.npz", GaitSpec("walk", 1.3, duration=1.0))
    out = tmp_path / "out.h5"
    argv = ["retarget", str(walk), "--morphology", "human_legs_80", "-o", str(out), "-q"]
    assert main(argv) == 0
    with open_dataset(out) as dataset:
        before = dataset.clip("walk").qpos
    # as if the build had been cut short after writing the clip, then the input was edited
    out.rename(tmp_path / "out.h5.partial")
    _keypoint_file(walk, GaitSpec("walk", 1.0, duration=1.0))
    assert main(argv) == 0
    with open_dataset(out) as dataset:
        after = dataset.clip("walk").qpos
    assert before.shape != after.shape or not np.allclose(before, after)
