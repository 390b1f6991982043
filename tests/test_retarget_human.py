"""Retargeting real CMU motion onto the human bodies."""

from __future__ import annotations

import numpy as np
import pytest

import morphologies
from retargeting.retarget import retarget
from retargeting.sources.bvh import load_bvh

CMU_CLIPS = ["02_03", "07_01", "16_27", "75_03", "131_01_scaled", "131_03_scaled"]
BODIES = ["human_legs_80", "human_legs_abs_86", "human_legs_back_290"]


@pytest.mark.slow
@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("clip", CMU_CLIPS)
def test_cmu_clips_retarget_with_small_keypoint_residual(cmu_dir, clip, body):
    result = retarget(load_bvh(cmu_dir / f"{clip}.bvh"), morphologies.get(body))
    quality = result.quality
    assert quality.residual_mean_mm < 20.0
    assert quality.floor_penetration_mm < 5.0
    assert quality.foot_skating_mm < 20.0
    assert quality.joint_limit_violation_pct < 0.5
    # The one gate a clip may fail: the abdomen model's erector spinae path snaps across a
    # wrapping surface in some poses (measured: 8.8 mm within 1/600 s on 75_03).
    assert all(reason.startswith("tendon_jump") for reason in result.rejected)
    assert result.fps == 30.0
    assert result.qpos.shape[0] == result.keypoints.shape[0] == result.qvel.shape[0]
    assert np.isfinite(result.qvel).all()


def test_finite_difference_velocity_matches_a_known_motion():
    from retargeting.retarget import finite_difference_qvel

    body = morphologies.get("human_legs_80")
    model = body.model()
    qpos = np.repeat(body.standing_qpos()[None], 5, axis=0)
    qpos[:, 0] += 0.1 * np.arange(5)  # root moves 0.1 m per frame along x
    knee = model.jnt_qposadr[model.joint("knee_angle_r").id]
    qpos[:, knee] = 0.05 * np.arange(5)
    qvel = finite_difference_qvel(model, qpos, fps=30.0)
    assert np.allclose(qvel[:, 0], 3.0)
    assert np.allclose(qvel[:, model.jnt_dofadr[model.joint("knee_angle_r").id]], 1.5)


def test_tendon_jump_ignores_smooth_motion_and_catches_a_snapping_path():
    import mujoco

    from retargeting.quality import tendon_jump

    body = morphologies.get("human_legs_80")
    model = body.model()
    data = mujoco.MjData(model)
    hip = model.jnt_qposadr[model.joint("hip_flexion_r").id]
    qpos = np.repeat(body.standing_qpos()[None], 10, axis=0)
    qpos[:, hip] = np.linspace(0.0, 1.8, 10)  # a kick: 0.2 rad per frame, smooth
    lengths = np.empty((10, model.ntendon))
    arms = np.empty((10, model.ntendon, model.nv))
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_fwdPosition(model, data)
        lengths[t] = data.ten_length
        mujoco.mju_sparse2dense(
            arms[t], data.ten_J, model.ten_J_rownnz, model.ten_J_rowadr, model.ten_J_colind
        )
    moved = np.abs(np.diff(lengths, axis=0)).max(axis=0) / model.tendon_length0
    assert moved.max() > 0.05  # a plain length-change gate would flag this motion
    assert tendon_jump(model, qpos, lengths, arms) < 0.01

    snapped = lengths.copy()
    snapped[6:, 3] += 0.1 * model.tendon_length0[3]  # one path jumps by 10 % of its length
    assert abs(tendon_jump(model, qpos, snapped, arms) - 0.1) < 0.01


def test_legs_through_each_other_are_measured():
    from retargeting.quality import measure

    body = morphologies.get("human_legs_80")
    model = body.model()
    standing = body.standing_qpos()
    crossed = standing.copy()
    # the right thigh swung across the midline, through the left leg
    crossed[model.jnt_qposadr[model.joint("hip_adduction_r").id]] = 0.5
    qpos = np.stack([standing, crossed])
    keypoints = np.zeros((2, 1, 3))
    quality, _ = measure(body, qpos[:1], keypoints[:1], keypoints[:1])
    assert quality.self_penetration_mm == 0.0
    quality, _ = measure(body, qpos, keypoints, keypoints)
    assert quality.self_penetration_mm > 5.0


def test_the_ik_keeps_the_legs_apart_where_the_source_crosses_them(cmu_dir):
    # CMU 07_01's walk put MyoLeg's shins 29 mm through each other before the IK held the
    # body's own colliding geoms apart; with the limit looking nowhere, it does again
    from dataclasses import replace

    from retargeting.ik import IkSettings

    body = morphologies.get("human_legs_80")
    motion = load_bvh(cmu_dir / "07_01.bvh")
    assert retarget(motion, body).quality.self_penetration_mm < 1.0
    blind = replace(IkSettings.for_body(body), self_detection=1e-9)
    assert retarget(motion, body, ik=blind).quality.self_penetration_mm > 5.0
