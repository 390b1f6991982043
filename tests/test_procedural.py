"""The built-in procedural gait: deterministic, plausible, planted feet, retargetable."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import morphologies
from retargeting.retarget import retarget
from retargeting.sources.procedural import _MTP_HEIGHT, GaitSpec, generate

SPECS = [
    GaitSpec("walk", 0.8),
    GaitSpec("walk", 1.8),
    GaitSpec("run", 2.5),
    GaitSpec("run", 4.0),
    GaitSpec("walk", 1.2, turn_rate=30.0),
    GaitSpec("run", 3.0, turn_rate=-20.0, start_stop=True),
]


def test_same_parameters_give_bit_identical_output():
    first, second = generate(GaitSpec("run", 3.2)), generate(GaitSpec("run", 3.2))
    digest = [hashlib.sha256(m.keypoints.tobytes()).hexdigest() for m in (first, second)]
    assert digest[0] == digest[1]
    assert not np.array_equal(first.keypoints, generate(GaitSpec("run", 3.3)).keypoints)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_feet_stay_planted_in_stance_and_above_the_floor(spec):
    motion = generate(spec)
    # the heel is on the sole; a walk's toe keypoint is the MTP joint, that far above it,
    # and turns about the planted ball of the foot as the heel rises: within that radius
    above = {"heel": 0.0, "toe": _MTP_HEIGHT * spec.height if spec.kind == "walk" else 0.0}
    for side in ("r", "l"):
        for part in ("heel", "toe"):
            point = motion.keypoint(f"{side}_{part}")
            assert point[:, 2].min() > -1e-9
            down = point[:, 2] < above[part] + 1e-9
            edges = np.flatnonzero(np.diff(np.r_[0, down.astype(int), 0]))
            spans = zip(edges[::2], edges[1::2], strict=True)
            stretches = [point[a:b] for a, b in spans if b - a > 1]
            assert stretches
            for stretch in stretches:
                drift = np.linalg.norm(stretch - stretch[0], axis=1).max()
                assert drift < above[part] + 1e-3  # metres


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_bones_keep_their_length(spec):
    motion = generate(spec)
    for parent, child in (("hip", "knee"), ("knee", "ankle")):
        length = np.linalg.norm(
            motion.keypoint(f"r_{child}") - motion.keypoint(f"r_{parent}"), axis=1
        )
        assert np.ptp(length) < 3e-3


@pytest.mark.parametrize(
    ("spec", "cadence"),
    [(GaitSpec("walk", 1.3), (100, 130)), (GaitSpec("run", 3.2), (150, 190))],
)
def test_speed_and_cadence_are_those_of_people(spec, cadence):
    motion = generate(spec)
    pelvis = motion.keypoint("pelvis")
    travelled = np.linalg.norm(pelvis[-1, :2] - pelvis[0, :2])
    assert travelled / motion.duration == pytest.approx(spec.speed, rel=0.03)
    steps_per_minute = 2 * 60 * spec.stride_frequency
    assert cadence[0] < steps_per_minute < cadence[1]


@pytest.mark.parametrize("speed", [0.8, 1.3, 1.8])
def test_the_walking_pelvis_rises_and_falls_as_peoples_does(speed):
    # Orendurff et al. 2004: about 2.7 cm peak to peak at 0.7 m/s, 4.8 cm at 1.6 m/s.
    # Following the stance legs' geometry instead, it moved 11-14 cm at 1.5-1.8 m/s.
    motion = generate(GaitSpec("walk", speed))
    height = motion.keypoint("pelvis")[:, 2]
    middle = height[len(height) // 4 : 3 * len(height) // 4]
    expected = 0.027 + (0.048 - 0.027) * (speed - 0.7) / (1.6 - 0.7)
    assert np.ptp(middle) == pytest.approx(expected, rel=0.1)
    # lowest while both feet are down, highest while one is
    down = np.stack(
        [motion.keypoint(f"{s}_heel")[:, 2] < 1e-9 for s in ("r", "l")]
        + [motion.keypoint(f"{s}_toe")[:, 2] < 0.03 for s in ("r", "l")]
    )
    both = (down[0] | down[2]) & (down[1] | down[3])
    assert height[both].mean() < height[~both].mean() - 0.3 * expected


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_the_pelvis_moves_as_a_body_can(spec):
    # a pelvis that stepped down 17 cm in one frame where a new stance leg took over (walk
    # 1.8 m/s) gave references no body could follow
    motion = generate(spec)
    velocity = np.diff(motion.keypoint("pelvis"), axis=0) * motion.fps
    assert np.abs(velocity[:, 2]).max() < 1.0  # m/s, vertical
    assert np.linalg.norm(velocity[:, :2], axis=1).max() < 1.2 * spec.speed + 0.1
    every = np.linalg.norm(np.diff(motion.keypoints, axis=0), axis=2) * motion.fps
    assert every.max() < 12.0  # m/s: a swinging foot, at most


def test_turning_follows_the_turn_rate():
    spec = GaitSpec("walk", 1.2, turn_rate=30.0, duration=4.0)
    motion = generate(spec)
    left = motion.keypoint("l_hip") - motion.keypoint("r_hip")
    heading = np.degrees(np.unwrap(np.arctan2(left[:, 1], left[:, 0])))
    assert heading[-1] - heading[0] == pytest.approx(30.0 * 4.0, abs=1.0)


@pytest.mark.parametrize(
    "spec", [GaitSpec("walk", 1.3), GaitSpec("run", 3.2)], ids=lambda s: s.name
)
def test_steps_are_as_wide_as_people_step(spec):
    # Donelan et al. 2001: 0.13 leg length between the feet; a source whose retargeted
    # ankles ended 3 cm apart put the legs of the body through each other
    motion = generate(spec)
    width = motion.keypoint("l_ankle")[:, 1] - motion.keypoint("r_ankle")[:, 1]
    assert np.median(width) == pytest.approx(0.13 * spec.hip_height, abs=2e-3)


def test_the_pelvis_sways_over_the_stance_foot():
    motion = generate(GaitSpec("walk", 1.3))
    pelvis = motion.keypoint("pelvis")[:, 1]
    down = {
        side: (motion.keypoint(f"{side}_heel")[:, 2] < 1e-9)
        | (motion.keypoint(f"{side}_toe")[:, 2] < 1e-9)
        for side in ("r", "l")
    }
    right_alone, left_alone = down["r"] & ~down["l"], down["l"] & ~down["r"]
    assert pelvis[right_alone].mean() < -0.005 and pelvis[left_alone].mean() > 0.005
    assert 0.02 < np.ptp(pelvis) < 0.06  # m, side to side


def test_start_stop_begins_and_ends_standing():
    motion = generate(GaitSpec("walk", 1.3, start_stop=True))
    pelvis = motion.keypoint("pelvis")
    speed = np.linalg.norm(np.diff(pelvis[:, :2], axis=0), axis=1) * motion.fps
    assert speed[:10].max() < 1e-6 and speed[-10:].max() < 1e-6
    assert speed.max() > 1.0


@pytest.mark.parametrize("bad", [{"kind": "hop", "speed": 1.0}, {"kind": "walk", "speed": 3.0}])
def test_out_of_range_gaits_are_refused(bad):
    with pytest.raises(ValueError):
        GaitSpec(**bad)


@pytest.mark.slow
@pytest.mark.parametrize(
    "spec", [GaitSpec("walk", 1.3), GaitSpec("run", 3.2)], ids=lambda s: s.name
)
def test_procedural_walk_and_run_retarget_within_10_mm_on_legs_80(spec):
    clip = retarget(generate(spec), morphologies.get("human_legs_80"))
    assert clip.quality.residual_mean_mm < 10.0
    assert clip.quality.self_penetration_mm < 1.0  # the legs never pass through each other
    assert clip.rejected == ()
