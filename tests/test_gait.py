"""Foot contacts and strides of keypoint motions, and the gait statistics of clips."""

from __future__ import annotations

import numpy as np
import pytest

import morphologies
from retargeting.cross_species import foot_points, source_leg_length
from retargeting.foot_contacts import clean_contacts, keypoint_contacts, strides
from retargeting.gait import gait_stats
from retargeting.sources.procedural import GaitSpec, generate


@pytest.mark.parametrize(
    "spec",
    [GaitSpec("run", 2.5), GaitSpec("run", 3.2), GaitSpec("run", 4.0), GaitSpec("walk", 1.3)],
)
def test_contact_detector_finds_the_generators_stance_fraction(spec):
    motion = generate(spec)
    contacts = keypoint_contacts(motion, foot_points(motion), source_leg_length(motion))
    found = strides(motion.keypoint("pelvis"), contacts, motion.fps)
    assert len(found) >= 2 * int(spec.duration * spec.stride_frequency) - 2
    duty = np.mean([s.duty_factor for s in found])
    assert abs(duty - spec.stance_fraction) < 0.05, (duty, spec.stance_fraction)
    length = np.mean([s.length for s in found])
    assert length == pytest.approx(spec.stride_length, rel=0.03)
    assert np.mean([1 / s.seconds for s in found]) == pytest.approx(spec.stride_frequency, rel=0.03)


def test_strides_run_from_touchdown_to_touchdown_of_the_same_foot():
    down = np.zeros((20, 2), dtype=bool)
    down[2:6, 0] = down[10:14, 0] = down[18:, 0] = True  # right touches down at 2, 10, 18
    down[6:9, 1] = down[14:17, 1] = True  # left at 6 and 14
    pelvis = np.column_stack([0.5 * np.arange(20), np.zeros(20), np.ones(20)])
    found = strides(pelvis, down, fps=10.0)
    assert [(s.side, s.start, s.end) for s in found] == [("r", 2, 10), ("r", 10, 18), ("l", 6, 14)]
    assert [s.length for s in found] == [4.0, 4.0, 4.0]
    assert found[0].seconds == 0.8 and found[0].speed == 5.0
    assert found[0].duty_factor == 0.5 and found[2].duty_factor == 3 / 8


def test_one_frame_blips_are_removed_from_contacts():
    down = np.zeros((12, 2), dtype=bool)
    down[3, 0] = True  # a one-frame touch
    down[:, 1] = True
    down[7, 1] = False  # a one-frame lift
    cleaned = clean_contacts(down)
    assert not cleaned[:, 0].any() and cleaned[:, 1].all()


@pytest.mark.slow
def test_gait_stats_of_a_real_clip_read_a_running_ostrich():
    from retargeting.retarget import retarget
    from retargeting.sources.ostrich import load_ostrich

    ostrich = morphologies.get("ostrich")
    stats = gait_stats(retarget(load_ostrich("0047"), ostrich), ostrich)
    assert stats.strides >= 2
    assert 3.0 < stats.speed < 4.0  # the clip runs at about 3.5 m/s
    assert 0.25 < stats.duty_factor < 0.5  # running: under half the stride on the ground
    assert 1.5 < stats.stride_frequency < 2.5
    assert set(stats.joint_ranges_deg) == {"hip", "knee", "ankle", "mtp"}
    assert all(10 < value < 150 for value in stats.joint_ranges_deg.values())
