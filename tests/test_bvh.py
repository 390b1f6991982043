"""BVH reading: real CMU clips in, clear errors for broken files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from retargeting.motion import MotionFormatError
from retargeting.sources.bvh import load_bvh

CMU_CLIPS = ["02_03", "07_01", "16_27", "75_03", "131_01_scaled", "131_03_scaled"]


@pytest.mark.parametrize("clip", CMU_CLIPS)
def test_cmu_clips_load_in_metres_z_up(cmu_dir, clip):
    motion = load_bvh(cmu_dir / f"{clip}.bvh")
    assert motion.fps == pytest.approx(120.0, rel=1e-3)
    legs = ("r_hip", "l_hip", "r_knee", "l_knee", "r_ankle", "l_ankle", "r_toe", "l_toe")
    assert motion.has("pelvis", *legs, "head")
    thigh = np.linalg.norm(motion.keypoint("r_hip") - motion.keypoint("r_knee"), axis=1)
    assert 0.35 < np.median(thigh) < 0.48  # metres, whatever the file's unit
    head_above_ankle = motion.keypoint("head")[:, 2] - motion.keypoint("r_ankle")[:, 2]
    assert np.median(head_above_ankle) > 1.0  # z is up
    # una-dinosauria conversions start with a rest pose, which is dropped
    dropped = any("rest pose" in note for note in motion.meta.notes)
    assert dropped == (not clip.endswith("scaled"))


def test_raw_cmu_units_are_detected_and_can_be_given(cmu_dir):
    detected = load_bvh(cmu_dir / "07_01.bvh")
    given = load_bvh(cmu_dir / "07_01.bvh", unit="cmu", up="y")
    assert np.array_equal(detected.keypoints, given.keypoints)
    inches = load_bvh(cmu_dir / "07_01.bvh", unit="inch")
    assert np.allclose(inches.keypoints, detected.keypoints * 0.45)


TINY = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT LeftUpLeg
  {
    OFFSET 0.1 -0.1 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -0.8 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.1
0 1 0 0 0 0 0 0 0
0 1 0.5 0 0 90 0 0 0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clip.bvh"
    path.write_text(text)
    return path


def test_forward_kinematics_and_axis_conversion(tmp_path):
    motion = load_bvh(write(tmp_path, TINY), drop_rest_frame=False)
    hips, hip = motion.keypoint("pelvis"), motion.keypoint("l_hip")
    # y-up (x, y, z) becomes z-up (x, -z, y)
    assert np.allclose(hips[0], [0, 0, 1]) and np.allclose(hips[1], [0, -0.5, 1])
    assert np.allclose(hip[0], [0.1, 0, 0.9])
    # frame 1 turns the root 90 degrees about (BVH) y: the offset x becomes -z, i.e. +y here
    assert np.allclose(hip[1] - hips[1], [0, 0.1, -0.1], atol=1e-9)


@pytest.mark.parametrize(
    ("edit", "where", "problem"),
    [
        (
            lambda t: t.replace("JOINT LeftUpLeg\n  {", "JOINT LeftUpLeg\n"),
            "line 8",
            "expected '{'",
        ),
        (lambda t: t.replace("0 1 0.5 0 0 90 0 0 0", "0 1 0.5 0 0 90 0 0"), "frame 1", "8 values"),
        (lambda t: t.replace("0 1 0.5 0 0 90 0 0 0\n", ""), "MOTION", "truncated"),
        (lambda t: t.replace("0 1 0.5 0 0 90", "0 1 nan 0 0 90"), "frame 1", "NaN"),
        (lambda t: t.replace("0 1 0.5 0 0 90", "0 1 x 0 0 90"), "frame 1", "not a number"),
        (lambda t: t.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation"), "line 9", "unknown"),
        (lambda t: t[: t.index("MOTION")], "end of file", "no MOTION"),
        (lambda t: t.replace("Frame Time: 0.1", "Frame Time: 0"), "line", "positive"),
    ],
)
def test_broken_files_name_the_file_the_place_and_the_problem(tmp_path, edit, where, problem):
    path = write(tmp_path, edit(TINY))
    with pytest.raises(MotionFormatError) as error:
        load_bvh(path)
    message = str(error.value)
    assert str(path) in message and where in message and problem in message, message


@pytest.mark.parametrize(
    ("change", "frame"),
    [
        (lambda i, v: v + 1e6 if 40 <= i < 60 else v, "frame 39"),  # the root jumps away
        (lambda i, v: v * 1e6, r"frame \d+"),  # every root position x 1e6
    ],
)
def test_a_root_no_body_could_follow_is_refused(cmu_dir, tmp_path, change, frame):
    text = (cmu_dir / "02_03.bvh").read_text()
    head, motion = text.split("MOTION")
    lines = motion.strip().split("\n")
    frames = []
    for index, line in enumerate(lines[2:122]):
        values = line.split()
        root = [change(index, float(x)) for x in values[:3]]
        frames.append(" ".join([*map(repr, root), *values[3:]]))
    path = write(tmp_path, f"{head}MOTION\nFrames: {len(frames)}\n{lines[1]}\n" + "\n".join(frames))
    with pytest.raises(MotionFormatError, match=f"{frame}: the root moves at .* m/s"):
        load_bvh(path)
    # through the command: a clean error, and no dataset or .partial left behind
    out = tmp_path / "out.h5"
    assert main(["retarget", str(path), "--morphology", "human_legs_80", "-o", str(out), "-q"]) == 2
    assert not out.exists() and not out.with_name("out.h5.partial").exists()
