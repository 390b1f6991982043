"""Protocol v1 metrics on hand-computed episodes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.metrics import across_seeds, episode_metrics, task_summary


def _info(mpjpe, *, worst=None, joint_sq=0.0, activation=(0.0, 0.0), velocity=0.0, failure=None):
    return {
        "mpjpe": mpjpe,
        "mpjpe_root_relative": mpjpe / 2,
        "keypoint_errors": np.array([mpjpe, worst if worst is not None else mpjpe]),
        "joint_error_sq": joint_sq,
        "velocity_error": velocity,
        "activation": np.array(activation),
        "failure": failure,
    }


def test_a_whole_clip_tracked():
    infos = [
        _info(0.01, joint_sq=0.01, activation=(0.5, 0.5), velocity=0.1),
        _info(0.02, joint_sq=0.01, activation=(0.0, 0.0), velocity=0.3),
        _info(0.03, joint_sq=0.04, activation=(1.0, 0.0), velocity=0.1),
        _info(0.04, joint_sq=0.04, activation=(0.0, 1.0), velocity=0.3),
    ]
    m = episode_metrics("c", infos, 4, terminated=False, scale=1.0, leg_length=0.5)
    assert (m.coverage, m.success, m.strict_coverage, m.strict_success) == (1.0, True, 1.0, True)
    assert m.mpjpe_mm == pytest.approx(25.0)
    assert m.mpjpe_root_relative_mm == pytest.approx(12.5)
    assert m.mpjpe_per_leg_length == pytest.approx(0.05)
    assert m.joint_rmse_rad == pytest.approx(math.sqrt(0.025))
    assert m.velocity_error == pytest.approx(0.2)
    assert m.activation_volume == pytest.approx((0.5 + 0 + 1 + 1) / 4)
    assert m.mean_activation == pytest.approx([0.375, 0.375])


def test_a_fall_after_three_of_ten_steps():
    infos = [_info(0.05), _info(0.10, worst=0.2), _info(0.6)]
    m = episode_metrics("c", infos, 10, terminated=True, scale=1.0, leg_length=1.0)
    assert m.coverage == pytest.approx(0.3)
    assert not m.success
    assert m.strict_coverage == pytest.approx(0.1)  # step 1 has a keypoint 0.2 m off
    assert not m.strict_success
    assert m.mpjpe_mm == pytest.approx(75.0)  # the terminating step is not a tracked step


def test_thresholds_scale_with_the_body():
    infos = [_info(0.05, worst=0.2)]
    small = episode_metrics("c", infos, 1, terminated=False, scale=1.0, leg_length=1.0)
    large = episode_metrics("c", infos, 1, terminated=False, scale=1.5, leg_length=1.0)
    assert not small.strict_success and large.strict_success  # 0.2 < 0.15 x 1.5


def test_an_agent_failure_ends_the_episode_as_failed():
    infos = [_info(0.01), _info(0.02)]
    m = episode_metrics(
        "c", infos, 5, terminated=False, scale=1.0, leg_length=1.0, failure="ValueError: boom"
    )
    assert m.failure == "ValueError: boom"
    assert not m.success and m.coverage == pytest.approx(0.4)


def test_task_summary_averages_clips():
    a = episode_metrics("a", [_info(0.01)], 1, terminated=False, scale=1.0, leg_length=1.0)
    b = episode_metrics("b", [_info(0.6)], 4, terminated=True, scale=1.0, leg_length=1.0)
    summary = task_summary([a, b])
    assert summary["success"] == 0.5
    assert summary["coverage"] == pytest.approx((1.0 + 0.25) / 2)
    assert summary["mpjpe_mm"] == pytest.approx(10.0)  # b tracked no step: NaN, skipped
    assert summary["episodes"] == 2 and summary["failed"] == 0


def test_across_seeds_interquartile_mean_and_interval():
    result = across_seeds(np.array([[1.0], [2.0], [3.0], [4.0]]), reps=500)
    assert result["mean"] == pytest.approx(2.5)
    assert result["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert result["iqm"] == pytest.approx(2.5)  # mean of the middle half: 2 and 3
    low, high = result["iqm_ci95"]
    assert 1.0 <= low <= 2.5 <= high <= 4.0
    assert across_seeds(np.array([[1.0], [2.0], [3.0], [4.0]]), reps=500) == result
