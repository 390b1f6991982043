"""Scoring protocol v1: the fixed numbers every task, metric and results file uses.

Compatible with Kinesis where that is sound (control rate, reward weights, the 0.5 m
evaluation termination), fixed where Kinesis has known faults: errors are reset per
episode, evaluation is deterministic, clips are resampled rather than relabelled, and the
reference is the clip retargeted onto the body, not the raw source skeleton.
"""

from __future__ import annotations

from morphologies import Morphology, get

PROTOCOL_VERSION = "v1"
# control at 30 Hz: each body's `sim.control_hz`, and clips resampled to
# `retargeting.retarget.PROTOCOL_FPS` (the environment refuses a clip at another rate)
REFERENCE_BODY = "human_legs_80"  # size scale 1

# distances in metres at size scale 1 (multiplied by the body's size scale)
TERMINATION_MEAN_ERROR = 0.5  # evaluation ends when the mean tracked-keypoint error exceeds it
STRICT_ERROR = 0.15  # strict coverage ends at the first frame any keypoint is this far off
SAMPLE_EFFICIENCY_MPJPE = 0.100  # steps until test MPJPE first falls to this

# an agent's time: one reset or act call, and one evaluation episode, in seconds of wall
# time; past either the episode fails and the run goes on (a real agent never comes near)
AGENT_STEP_LIMIT_S = 10.0
AGENT_EPISODE_LIMIT_S = 1800.0

# reward, Kinesis-compatible weights and scales
REWARD_WEIGHTS = {"position": 0.6, "velocity": 0.2, "upright": 0.1, "energy": 0.1}
POSITION_SCALE = 200.0  # exp(-200 * mean squared component error), m^-2
VELOCITY_SCALE = 5.0  # exp(-5 * mean squared component error), (m/s)^-2
UPRIGHT_SCALE = 3.0  # exp(-3 * (roll^2 + pitch^2))
ENERGY_SCALE = 0.05  # exp(-0.05 * (|u|_1 + |u|_2))


def size_scale(morphology: Morphology) -> float:
    """Standing hip height of the body over that of human_legs_80."""

    return morphology.measures.hip_height / get(REFERENCE_BODY).measures.hip_height
