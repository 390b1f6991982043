"""Stance feet on the floor after retargeting (retargeting.grounding)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import morphologies
from morphologies.contacts import floor_distances, floor_geom, foot_geoms
from retargeting.grounding import ground_shifts, ground_stance, planted_frames
from retargeting.ik import IkSettings, solve_motion
from retargeting.motion import Motion
from retargeting.retarget import reference_targets, retarget
from retargeting.sources.procedural import GaitSpec, generate

BODY = morphologies.get("human_legs_80")
CLEARANCE = IkSettings().floor_clearance


def _lowest_foot(qpos: np.ndarray) -> np.ndarray:
    model = BODY.model()
    data = mujoco.MjData(model)
    feet = [g for geoms in foot_geoms(BODY).values() for g in geoms]
    lowest = []
    for pose in qpos:
        data.qpos[:] = pose
        mujoco.mj_kinematics(model, data)
        lowest.append(floor_distances(model, data, feet, floor_geom(model)).min())
    return np.array(lowest)


@pytest.fixture(scope="module")
def walk():
    motion = generate(GaitSpec("walk", 1.5, duration=2.0))
    targets, _ = reference_targets(motion, BODY)
    solved = solve_motion(BODY, targets, IkSettings.for_body(BODY))
    return motion, targets, solved


def test_a_walk_keeps_a_foot_on_the_floor_in_every_frame(walk):
    motion, targets, solved = walk
    assert planted_frames(targets, BODY).all()  # a walk has no flight
    hovering = _lowest_foot(solved.qpos)
    assert hovering.max() > 0.008  # the IK alone leaves the stance foot up to a cm above
    grounded, shifts = ground_stance(BODY, solved.qpos, targets, CLEARANCE)
    lowest = _lowest_foot(grounded)
    np.testing.assert_allclose(lowest, CLEARANCE, atol=1e-6)
    assert np.abs(shifts).max() < 0.03
    moved = grounded - solved.qpos
    assert np.count_nonzero(moved[:, [0, 1, *range(3, BODY.model().nq)]]) == 0  # height only
    clip = retarget(motion, BODY)  # the retargeter grounds human clips
    np.testing.assert_allclose(clip.qpos, grounded, atol=1e-12)
    assert clip.quality.floating_mm == pytest.approx(CLEARANCE * 1000, abs=1e-3)
    assert clip.rejected == ()
    # the targets moved with the body: the residual is the joints' alone, the shift a note
    assert clip.quality.residual_mean_mm < min(3.0, np.abs(shifts).mean() * 1000)
    assert any(note.startswith("stance feet grounded") for note in clip.meta.notes)


def test_a_runs_flight_is_interpolated_and_never_below_the_floor():
    targets, _ = reference_targets(generate(GaitSpec("run", 3.2, duration=1.5)), BODY)
    solved = solve_motion(BODY, targets, IkSettings.for_body(BODY))
    planted = planted_frames(targets, BODY)
    assert 0.05 < (~planted).mean() < 0.6  # a run flies
    shifts = ground_shifts(BODY, solved.qpos, planted, CLEARANCE)
    grounded = solved.qpos.copy()
    grounded[:, 2] += shifts
    lowest = _lowest_foot(grounded)
    np.testing.assert_allclose(lowest[planted], CLEARANCE, atol=1e-6)
    assert lowest[~planted].min() >= CLEARANCE - 1e-6
    for t in np.flatnonzero(~planted):  # between the shifts of the planted frames around it
        before, after = np.flatnonzero(planted[:t]), np.flatnonzero(planted[t:]) + t
        if len(before) and len(after):
            low, high = sorted((shifts[before[-1]], shifts[after[0]]))
            needed = CLEARANCE - _lowest_foot(solved.qpos[t : t + 1])[0]
            assert low - 1e-9 <= shifts[t] <= max(high, needed) + 1e-9


def test_grounding_needs_feet_on_the_motion(walk):
    _, targets, _ = walk
    footless = targets.select(("pelvis", "r_hip", "l_hip", "r_knee", "l_knee"))
    assert isinstance(footless, Motion)
    with pytest.raises(ValueError, match="grounding needs ankle or toe keypoints"):
        planted_frames(footless, BODY)
