"""The imitation environment: Gymnasium's checker, perfect tracking reads zero, falling ends."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import benchmark  # noqa: F401  (registers crossmimic/* environments)
from benchmark.tasks import TASKS, UnknownTaskError, get_task


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_passes_the_gymnasium_checker(task):
    env = gymnasium.make(f"crossmimic/{task}-v1")
    check_env(env.unwrapped, skip_render_check=True)
    assert env.observation_space.shape == (env.unwrapped.observation_size,)


def _episode(env, clip, action=None):
    observation, info = env.reset(options={"clip": clip})
    infos = []
    while True:
        act = np.zeros(env.action_space.shape) if action is None else action
        observation, reward, terminated, truncated, info = env.step(act)
        infos.append(info)
        if terminated or truncated:
            return infos, terminated, truncated


@pytest.mark.parametrize("task", ["legs80-walk", "ostrich-walk", "ostrich-run", "ostrich-run-real"])
def test_replaying_the_reference_reads_zero_error(task):
    env = gymnasium.make(f"crossmimic/{task}-v1", evaluation=True, replay_reference=True).unwrapped
    for clip in env.clips:
        infos, terminated, truncated = _episode(env, clip.name)
        assert truncated and not terminated
        assert len(infos) == len(clip.qpos) - 1
        # the shipped clips are float32: keypoints within microns of the body's own
        assert max(i["mpjpe"] for i in infos) < 1e-5
        assert max(i["velocity_error"] for i in infos) < 1e-3
        assert max(i["joint_error_sq"] for i in infos) == 0.0


def test_a_body_without_excitation_falls_and_the_episode_terminates():
    env = gymnasium.make("crossmimic/legs80-walk-v1", evaluation=True).unwrapped
    infos, terminated, truncated = _episode(env, "walk_1.3")
    assert terminated and not truncated
    assert infos[-1]["mpjpe"] > 0.5 * env.scale
    assert len(infos) < 0.8 * (len(env.clip.qpos) - 1)


def test_evaluation_resets_start_at_frame_zero_with_zero_activation():
    env = gymnasium.make("crossmimic/legs80-run-v1", evaluation=True).unwrapped
    env.reset()
    env.step(np.ones(env.action_space.shape))
    observation, info = env.reset()
    assert info["frame"] == 0
    assert not env.data.act.any()
    np.testing.assert_array_equal(env.data.qpos, env.clip.qpos[0])


def test_training_resets_are_random_and_seeded():
    env = gymnasium.make("crossmimic/legs80-walk-v1").unwrapped
    starts = [env.reset(seed=7)[1]["start"] for _ in range(2)]
    assert starts[0] == starts[1]
    seen = {env.reset()[1]["start"] for _ in range(20)}
    assert len(seen) > 5


@pytest.mark.parametrize(
    ("action", "problem"),
    [(np.zeros(3), "shape"), (np.full(80, np.nan), "NaN")],
)
def test_bad_actions_are_refused(action, problem):
    env = gymnasium.make("crossmimic/legs80-walk-v1").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match=problem):
        env.step(action)


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(UnknownTaskError, match="legs80-walk"):
        get_task("legs99-fly")


@pytest.mark.parametrize("action", [np.full(80, "0.5"), np.full(80, 0.5 + 1j)])
def test_actions_that_are_not_real_numbers_are_refused(action):
    env = gymnasium.make("crossmimic/legs80-walk-v1").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be real numbers"):
        env.step(action)
