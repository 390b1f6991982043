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
    assert result.quality.residual_mean_mm < 20.0
    assert result.quality.joint_limit_violation_pct < 0.5
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
