"""Retargeting throughput on human_legs_80, one core: `make bench`.

Three stages of the same clip side by side, so the ratios show where the time goes:
scaling alone, scaling + IK, and the whole retarget (IK + quality measures). Frames per
second = clip frames / mean time; docs/speed.md reports the whole-retarget figure.
"""

from __future__ import annotations

import pytest

import morphologies
from retargeting.ik import solve_motion
from retargeting.retarget import PROTOCOL_FPS, ik_keypoints, retarget
from retargeting.scaling import scale_motion
from retargeting.sources.procedural import GaitSpec, generate

pytestmark = pytest.mark.speed
BODY = morphologies.get("human_legs_80")
MOTION = generate(GaitSpec("walk", 1.3, duration=6.0))
FRAMES = MOTION.resample(PROTOCOL_FPS).num_frames


def _targets():
    scaled = scale_motion(MOTION.resample(PROTOCOL_FPS), BODY)
    return scaled.select(tuple(n for n in ik_keypoints(BODY) if n in scaled.keypoint_names))


@pytest.fixture(autouse=True)
def _built():
    BODY.model()  # compile outside the timed region


def _report(benchmark) -> None:
    benchmark.extra_info["frames"] = FRAMES
    if benchmark.enabled:  # a smoke run (--benchmark-disable) keeps no timings
        benchmark.extra_info["frames_per_s"] = round(FRAMES / benchmark.stats.stats.mean, 1)


@pytest.mark.benchmark(group="retarget human_legs_80")
def test_scaling(benchmark):
    benchmark(_targets)
    _report(benchmark)


@pytest.mark.benchmark(group="retarget human_legs_80")
def test_scaling_and_ik(benchmark):
    benchmark(lambda: solve_motion(BODY, _targets()))
    _report(benchmark)


@pytest.mark.benchmark(group="retarget human_legs_80")
def test_whole_retarget(benchmark):
    clip = benchmark(lambda: retarget(MOTION, BODY))
    assert clip.quality.residual_mean_mm < 10.0
    _report(benchmark)
