"""`benchmark render`: a decodable video of the right size whose frames change, and a ghost
drawn where the reference keypoints project."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np
import pytest

from benchmark.cli import main
from benchmark.render import (
    FrameRenderer,
    RenderSettings,
    bones,
    ensure_gl_backend,
    side_by_side,
)

ensure_gl_backend()


def test_thirty_frames_of_the_reference_agent(tmp_path, capsys):
    out = tmp_path / "walk.mp4"
    code = main(
        [
            "render",
            "--agent",
            "reference",
            "--task",
            "legs80-walk",
            "--frames",
            "30",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert "30 frames, 640x480" in capsys.readouterr().out
    frames = imageio.mimread(out)
    assert len(frames) == 30
    assert frames[0].shape == (480, 640, 3)
    changes = [
        np.abs(a.astype(int) - b.astype(int)).mean()
        for a, b in zip(frames[:-1], frames[1:], strict=True)
    ]
    assert min(changes) > 0.05  # the body walks: every frame differs from the one before


def test_the_ghost_is_drawn_at_the_projected_keypoints():
    from benchmark.env import ImitationEnv

    env = ImitationEnv("legs80-walk", split="test", evaluation=True)
    env.reset()
    renderer = FrameRenderer(env.body, env.model, RenderSettings(overlay=False))
    # lifted 0.6 m so that the body never hides it
    ghost = env.clip.keypoints[0] + np.array([0.0, 0.0, 0.6])
    without = renderer.frame(env.data).astype(int)
    pixels = renderer.frame(env.data, ghost, bones(env.tracked)).astype(int)
    green = (pixels[..., 1] > 150) & (pixels[..., 0] < 120) & (pixels[..., 2] < 120)
    assert not ((without[..., 1] > 150) & (without[..., 0] < 120) & (without[..., 2] < 120)).any()
    for column, row in renderer.project(ghost).round().astype(int):
        window = green[max(row - 6, 0) : row + 7, max(column - 6, 0) : column + 7]
        assert window.any(), (column, row)
    renderer.close()


def test_a_dataset_clip_renders_and_bad_input_is_refused(tmp_path, capsys):
    from benchmark.tasks import get_task

    dataset = get_task("legs80-walk").dataset()
    out = tmp_path / "clip.gif"
    code = main(
        ["render", "--dataset", str(dataset), "--clip", "walk_1", "--frames", "3"]
        + ["-o", str(out)]
    )
    assert code == 0 and len(imageio.mimread(out)) == 3
    assert main(["render", "--dataset", str(dataset), "--clip", "walk_1", "-o", str(out)]) == 2
    assert "exists already" in capsys.readouterr().err
    nope = tmp_path / "nope.gif"
    assert main(["render", "--dataset", str(dataset), "--clip", "nope", "-o", str(nope)]) == 2
    assert "no clip 'nope'" in capsys.readouterr().err
    assert main(["render", "--agent", "zero", "--clip", "nope", "-o", str(tmp_path / "x.mp4")]) == 2
    assert not (tmp_path / "x.mp4").exists()
    with pytest.raises(SystemExit):
        main(["render", "--agent", "zero"])  # no output file


def test_side_by_side_holds_the_shorter_streams_last_frame(tmp_path):
    left = [(np.full((2, 2, 3), k, np.uint8), 0.1) for k in (1, 2)]
    right = [(np.full((2, 3, 3), 10 + k, np.uint8), 0.2) for k in range(4)]
    joined = list(side_by_side(iter(left), iter(right)))
    assert len(joined) == 4 and joined[0][0].shape == (2, 5, 3)
    assert [int(frame[0, 0, 0]) for frame, _ in joined] == [1, 2, 2, 2]
    assert [int(frame[0, 4, 0]) for frame, _ in joined] == [10, 11, 12, 13]

    out = tmp_path / "two.mp4"
    command = ["render", "--agent", "reference", "--task", "legs80-walk", "--beside"]
    command += ["legs86-walk", "--frames", "3", "--width", "160", "--height", "120"]
    assert main(command + ["-o", str(out)]) == 0
    frames = imageio.mimread(out)
    assert len(frames) == 3 and frames[0].shape == (120, 320, 3)


def test_a_png_still_is_the_last_frame_rendered(tmp_path):
    still = tmp_path / "still.png"
    command = ["render", "--agent", "reference", "--frames", "2", "--width", "160"]
    assert main(command + ["--height", "120", "-o", str(still)]) == 0
    assert imageio.imread(still).shape == (120, 160, 3)
