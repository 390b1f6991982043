"""Keypoint files and AMASS/SMPL clips -> canonical motions; bad files -> clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retargeting.motion import MotionFormatError
from retargeting.sources import load_amass, load_keypoint_npz, load_motion

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ostrich_mocap"
STANDING = np.array([np.pi / 2, 0.0, 0.0])  # SMPL's y-up body frame -> AMASS's z-up world


def write_amass(path: Path, frames: int = 20, **override) -> Path:
    poses = np.zeros((frames, 156))
    poses[:, :3] = STANDING
    fields = {
        "poses": poses,
        "trans": np.zeros((frames, 3)),
        "mocap_framerate": np.array(120.0),
        "gender": np.array("neutral"),
        "betas": np.zeros(16),
    }
    fields.update(override)
    np.savez(path, **{k: v for k, v in fields.items() if v is not None})
    return path


def test_a_zero_pose_stands_upright_with_smpl_bone_lengths(tmp_path):
    motion = load_amass(write_amass(tmp_path / "stand.npz"))
    pelvis, head = motion.keypoint("pelvis")[0], motion.keypoint("head")[0]
    assert head[2] - pelvis[2] > 0.4  # head above the pelvis: z is up
    left, right = motion.keypoint("l_hip")[0], motion.keypoint("r_hip")[0]
    assert 0.10 < np.linalg.norm(left - right) < 0.15
    thigh = np.linalg.norm(motion.keypoint("l_knee")[0] - left)
    assert thigh == pytest.approx(np.linalg.norm([-0.0045, 0.0343, -0.3752]), abs=1e-9)
    assert motion.fps == 120.0
    assert "non-commercial" in motion.meta.licence


def test_knee_flexion_moves_the_ankle_behind_the_knee(tmp_path):
    poses = np.zeros((2, 72))
    poses[:, :3] = STANDING
    poses[1, 3 * 4] = np.pi / 2  # left knee (SMPL joint 4) flexed 90 degrees about its x
    # two frames a second apart: a knee bent 90 degrees in 1/120 s would be refused as faster
    # than a body moves
    path = write_amass(tmp_path / "knee.npz", frames=2, poses=poses, mocap_framerate=np.array(1.0))
    motion = load_amass(path)
    hip, knee, ankle = (motion.keypoint(n)[1] for n in ("l_hip", "l_knee", "l_ankle"))
    left = motion.keypoint("l_hip")[0] - motion.keypoint("r_hip")[0]
    forward = np.cross(left, [0.0, 0.0, 1.0])  # x forward, y left, z up is right-handed
    forward /= np.linalg.norm(forward)
    assert (ankle - knee) @ forward < -0.35  # the shank points backwards
    assert abs(ankle[2] - knee[2]) < 0.06  # and is horizontal
    assert (knee - hip)[2] < -0.3  # the thigh still hangs down


def test_mocap_frame_rate_spelling_is_accepted(tmp_path):
    path = write_amass(tmp_path / "x.npz", mocap_framerate=None, mocap_frame_rate=np.array(60.0))
    assert load_amass(path).fps == 60.0


@pytest.mark.parametrize(
    ("override", "field", "problem"),
    [
        ({"poses": np.zeros((20, 30))}, "poses", "expected shape"),
        ({"trans": np.zeros((19, 3))}, "trans", "expected shape (20, 3)"),
        ({"mocap_framerate": None}, "mocap_framerate", "missing"),
        ({"mocap_framerate": np.array("fast")}, "mocap_framerate", "one number"),
        ({"poses": None}, "poses", "missing"),
        ({"trans": np.full((20, 3), np.nan)}, "trans", "frame 0 is not finite"),
    ],
)
def test_bad_amass_files_name_file_field_and_problem(tmp_path, override, field, problem):
    path = write_amass(tmp_path / "bad.npz", **override)
    with pytest.raises(MotionFormatError) as error:
        load_amass(path)
    assert error.value.where == field
    assert problem in error.value.problem
    assert str(path) in str(error.value)


def test_a_file_that_is_not_an_npz_is_refused(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(MotionFormatError, match="not a readable .npz"):
        load_motion(path)


def test_keypoint_file_round_trip(tmp_path):
    points = 0.1 * np.random.default_rng(0).normal(size=(30, 2, 3))  # a few m/s at 25 fps
    np.savez(tmp_path / "k.npz", keypoints=points, keypoint_names=np.array(["a", "b"]), fps=25)
    motion = load_motion(tmp_path / "k.npz")
    assert motion.keypoint_names == ("a", "b")
    assert motion.fps == 25.0
    np.testing.assert_array_equal(motion.keypoints, points)


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"keypoints": np.zeros((5, 2, 3)), "fps": 30.0}, "keypoint_names"),
        (
            {"keypoints": np.zeros((5, 2, 3)), "keypoint_names": np.arange(2), "fps": 30.0},
            "keypoint_names",
        ),
        (
            {"keypoints": np.zeros((5, 2)), "keypoint_names": np.array(["a", "b"]), "fps": 30.0},
            "keypoints",
        ),
        (
            {"keypoints": np.zeros((5, 2, 3)), "keypoint_names": np.array(["a", "b"]), "fps": -1.0},
            "fps",
        ),
        (  # no keypoint at all (found by the fuzz test)
            {"keypoints": np.zeros((5, 0, 3)), "keypoint_names": np.array([], "<U1"), "fps": 30.0},
            "keypoints",
        ),
    ],
)
def test_bad_keypoint_files_are_refused(tmp_path, fields, where):
    np.savez(tmp_path / "bad.npz", **fields)
    with pytest.raises(MotionFormatError) as error:
        load_keypoint_npz(tmp_path / "bad.npz")
    assert error.value.where == where


def test_real_ostrich_keypoints_load():
    clip = SHARED / "ostrich_0005.npz"
    if not clip.exists():
        pytest.skip("shared ostrich data not present")
    motion = load_motion(clip)
    assert motion.keypoints.shape[1:] == (14, 3)
    assert motion.fps == 40.0
    assert motion.has("r_hip", "l_toe", "beak")


def test_an_amass_walk_retargets_onto_legs_80(tmp_path):
    import morphologies
    from retargeting.retarget import retarget

    frames = 120
    phase = 2 * np.pi * np.arange(frames) / 60  # one stride per second at 60 fps
    poses = np.zeros((frames, 156))
    poses[:, :3] = STANDING
    for joint, sign in ((1, 1.0), (2, -1.0)):  # hips swing in antiphase (flexion: -x)
        poses[:, 3 * joint] = -0.4 * sign * np.sin(phase)
    for joint, shift in ((4, 0.0), (5, np.pi)):  # knees bend in swing
        poses[:, 3 * joint] = 0.5 * np.clip(np.sin(phase + shift), 0, None)
    path = write_amass(
        tmp_path / "walk.npz", frames=frames, poses=poses, mocap_framerate=np.array(60.0)
    )
    clip = retarget(load_motion(path), morphologies.get("human_legs_80"))
    assert clip.quality.residual_mean_mm < 20.0
    assert clip.quality.floor_penetration_mm < 5.0
