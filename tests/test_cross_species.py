"""Retargeting onto the ostrich: real ostrich clips by IK, human motion by dynamic similarity,
checked against real ostrich running (`benchmark gait-compare`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import morphologies
from retargeting.cadence_prior import cadence_prior
from retargeting.cross_species import foot_points, source_leg_length
from retargeting.datasets.splits import OSTRICH_TEST as TEST
from retargeting.foot_contacts import keypoint_contacts, strides
from retargeting.motion import MotionFormatError
from retargeting.retarget import reference_targets, retarget
from retargeting.sources.ostrich import CLIPS, load_ostrich
from retargeting.sources.procedural import GaitSpec, generate


@pytest.fixture(scope="module")
def ostrich():
    return morphologies.get("ostrich")


@pytest.mark.slow
@pytest.mark.parametrize("clip", CLIPS)
def test_real_ostrich_clips_retarget_with_small_residual(ostrich, clip):
    from retargeting.datasets.suites import BUILT_IN

    # the suite's gates: 40 mm of skating per frame, as the source's stance toes slide
    result = retarget(load_ostrich(clip), ostrich, gates=BUILT_IN["ostrich-real"].gates)
    assert result.quality.residual_mean_mm < 30.0
    assert result.quality.floor_penetration_mm < 5.0
    assert result.quality.joint_limit_violation_pct < 0.5
    assert not result.rejected, result.rejected
    assert result.fps == 30.0 and np.isfinite(result.qvel).all()


def _pelvis_speed(keypoints, names, fps) -> float:
    pelvis = keypoints[:, names.index("pelvis"), :2]
    return float(np.linalg.norm(pelvis[-1] - pelvis[0]) / ((len(pelvis) - 1) / fps))


@pytest.mark.parametrize("cadence", [1.0, None])
def test_froude_number_is_kept_and_the_cadence_shortens_strides(ostrich, cadence):
    motion = generate(GaitSpec("run", 3.2))
    leg = source_leg_length(motion)
    ratio = ostrich.measures.hip_height / leg
    c = cadence or cadence_prior(ostrich.measures.hip_height).cadence
    targets, guides = reference_targets(motion, ostrich, 30.0, cadence)
    source = _pelvis_speed(motion.keypoints, motion.keypoint_names, motion.fps)
    speed = _pelvis_speed(targets.keypoints, targets.keypoint_names, targets.fps)
    # equal Froude number: v^2 / (g h) of the ostrich is the human's
    assert speed**2 / ostrich.measures.hip_height == pytest.approx(source**2 / leg, rel=0.02)
    # times scale by sqrt(lambda) / c
    assert len(targets.keypoints) / targets.fps == pytest.approx(
        (len(motion.keypoints) - 1) / motion.fps * np.sqrt(ratio) / c, abs=0.05
    )
    assert set(guides) == {f"{s}_{j}" for s in "rl" for j in ("knee", "ankle", "mtp")}


def test_contact_phases_are_kept_and_stance_toes_stay_planted(ostrich):
    motion = generate(GaitSpec("run", 3.6))
    human = keypoint_contacts(motion, foot_points(motion), source_leg_length(motion))
    human_duty = np.mean([s.duty_factor for s in strides(motion.keypoint("pelvis"), human, 120)])
    clip = retarget(motion, ostrich)
    assert abs(clip.foot_contacts.mean() - human.mean()) < 0.05  # the same share of stance
    toes = clip.keypoints[:, [clip.keypoint_names.index(f"{s}_toe") for s in "rl"]]
    from retargeting.gait import clip_contacts

    down = clip_contacts(clip, ostrich)
    found = strides(clip.keypoints[:, clip.keypoint_names.index("pelvis")], down, clip.fps)
    assert abs(np.mean([s.duty_factor for s in found]) - human_duty) < 0.05
    for column in range(2):  # a planted toe barely moves: under 3 cm per stance frame
        moving = np.linalg.norm(np.diff(toes[:, column, :2], axis=0), axis=1)
        planted = down[1:, column] & down[:-1, column]
        assert np.median(moving[planted]) < 0.03
    assert clip.quality.residual_mean_mm < 30.0 and not clip.rejected


def test_the_priors_never_see_the_held_out_clips(ostrich, monkeypatch):
    import retargeting.cadence_prior as cadence_module
    import retargeting.posture_prior as posture_module

    seen = []

    def recording(name):
        seen.append(name)
        return load_ostrich(name)

    monkeypatch.setattr(posture_module, "load_ostrich", recording)
    monkeypatch.setattr(cadence_module, "load_ostrich", recording)
    posture_module.posture_prior.__wrapped__()
    prior = cadence_module.cadence_prior.__wrapped__(ostrich.measures.hip_height)
    assert seen and not set(seen) & set(TEST)
    assert 1.1 < prior.cadence < 1.5  # ostriches step quicker than dynamically similar bipeds


def test_mismatched_species_and_missing_keypoints_are_reported(ostrich):
    human = morphologies.get("human_legs_80")
    with pytest.raises(ValueError, match="ostrich motion 'ostrich_0047' onto human_legs_80"):
        reference_targets(load_ostrich("0047"), human)
    motion = generate(GaitSpec("walk", 1.3))
    keep = tuple(n for n in motion.keypoint_names if "knee" not in n)
    stripped = motion.select(keep)
    with pytest.raises(MotionFormatError, match="keypoints.*r_knee"):
        reference_targets(stripped, ostrich)
    with pytest.raises(ValueError, match="cadence applies to human -> ostrich only"):
        reference_targets(motion, human, cadence=1.2)
    assert replace(motion.meta).species == "human"


@pytest.mark.slow
def test_gait_compare_meets_the_acceptance_on_procedural_and_cmu_runs(cmu_dir):
    from benchmark.gait_compare import (
        DUTY_TOLERANCE,
        STRIDE_TOLERANCE,
        compare_gaits,
        format_report,
    )

    found = compare_gaits([cmu_dir / "02_03.bvh"])
    report = format_report(found)  # what `benchmark gait-compare` prints
    assert "02_03.bvh, cadence prior: duty factor" in report and "cadence prior: 1." in report
    groups = {g.label: g for g in found}
    real = groups["real ostrich, running"]
    assert len(real.clips) == 11 and groups["real ostrich, held-out"].clips == list(TEST)
    for label in ("human runs (procedural), cadence prior", "02_03.bvh, cadence prior"):
        group = groups[label]
        duty = group.mean("duty_factor") - real.mean("duty_factor")
        stride = group.mean("stride_per_leg") / real.mean("stride_per_leg") - 1.0
        assert abs(duty) <= DUTY_TOLERANCE, (label, duty)
        assert abs(stride) <= STRIDE_TOLERANCE, (label, stride)
    # Froude scaling alone gives the human's relative strides, which an ostrich does not take
    froude_only = groups["human runs (procedural), Froude only"].mean("stride_per_leg")
    assert froude_only > 1.2 * real.mean("stride_per_leg")
    # the procedural runs were matched to the real clips' Froude numbers
    matched = groups["human runs (procedural), cadence prior"]
    assert matched.mean("froude") == pytest.approx(real.mean("froude"), rel=0.05)
