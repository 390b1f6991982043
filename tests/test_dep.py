"""DEP: matches the reference package's recorded outputs, and the sound variant's choices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.dep import DEP, PRESETS, DEPParams, MuscleSensor
from morphologies import MuscleReadings

FIXTURE = Path(__file__).parent / "fixtures" / "dep_reference.npz"


def _params(values: dict) -> DEPParams:
    names = ("kappa", "tau", "time_dist", "s4avg", "bias_rate", "regularization")
    return DEPParams(**{name: values[name] for name in names})


def _run(dep: DEP, sensors: np.ndarray) -> np.ndarray:
    return np.stack([dep.step(torch.from_numpy(x)).numpy() for x in sensors])


@pytest.mark.parametrize("name", ["myosuite_legs", "ostrich"])
def test_original_mode_matches_the_reference_package(name):
    fixture = np.load(FIXTURE)
    values = json.loads(str(fixture["presets"]))[name]
    sensors = fixture["sensors"]
    dep = DEP(_params(values), sensors.shape[1], sensors.shape[2], original=True)
    actions = _run(dep, sensors)
    reference = fixture[f"actions_{name}"]
    np.testing.assert_allclose(actions, reference, atol=1e-5, rtol=0)
    assert np.abs(reference).max() > 0.9  # the recording exercised the controller


def test_published_presets_are_the_reference_configurations():
    legs, ostrich = PRESETS["myosuite_legs"], PRESETS["ostrich"]
    assert (legs.kappa, legs.tau, legs.time_dist, legs.s4avg, legs.bias_rate) == (
        1169.7,
        40,
        5,
        2,
        0.002,
    )
    assert (ostrich.kappa, ostrich.tau, ostrich.time_dist, ostrich.s4avg) == (20.0, 8, 5, 1)
    fixture = json.loads(str(np.load(FIXTURE)["presets"]))
    for name, preset in PRESETS.items():
        assert _params(fixture[name]) == DEPParams(
            preset.kappa, preset.tau, preset.time_dist, preset.s4avg, preset.bias_rate
        )


def test_sound_mode_normalises_rows_and_uses_the_newest_velocity():
    params = DEPParams(kappa=3.0, tau=6, time_dist=2, s4avg=1, bias_rate=0.0)
    rng = np.random.default_rng(0)
    sensors = rng.standard_normal((12, 1, 4)).astype(np.float32)
    dep = DEP(params, 1, 4)
    _run(dep, sensors)
    np.testing.assert_allclose(torch.linalg.norm(dep.C_norm[0], dim=1), 3.0, rtol=1e-5)
    # C by hand: steps before the last = 11, lags s = 1 .. min(11 - 2, 6) - 1
    d = np.diff(sensors[:, 0].astype(np.float64), axis=0)  # d[-s] is velocity d(s)
    expected = -sum(np.outer(d[-s], d[-s - 2]) for s in range(1, 6))
    np.testing.assert_allclose(dep.C[0].numpy(), expected, rtol=1e-4, atol=1e-6)
    original = DEP(params, 1, 4, original=True)
    _run(original, sensors)
    expected_original = -sum(np.outer(d[-s], d[-s - 2]) for s in range(2, 6))
    np.testing.assert_allclose(original.C[0].numpy(), expected_original, rtol=1e-4, atol=1e-6)


def test_an_episode_end_restarts_only_that_environments_window():
    params = PRESETS["ostrich"]
    rng = np.random.default_rng(1)
    before = rng.standard_normal((20, 2, 5)).astype(np.float32)
    after = rng.standard_normal((30, 1, 5)).astype(np.float32)
    dep = DEP(params, 2, 5)
    _run(dep, before)
    dep.end_episodes(np.array([False, True]))
    assert dep.steps.tolist() == [20, 0]
    fresh = DEP(params, 1, 5)
    for step, x in enumerate(after):
        dep.step(torch.from_numpy(np.concatenate([x, x])))
        fresh.step(torch.from_numpy(x))
        if step >= params.time_dist + 2:  # learning again: C comes from the new window only
            np.testing.assert_allclose(dep.C[1], fresh.C[0], rtol=1e-6, atol=1e-9)
    original = DEP(params, 2, 5, original=True)
    original.end_episodes(np.array([True, True]))
    assert original.steps.tolist() == [0, 0]  # the reference never resets (no-op)


def test_state_round_trips_and_refuses_a_wrong_shape():
    dep = DEP(PRESETS["myosuite_legs"], 2, 3)
    _run(dep, np.random.default_rng(2).standard_normal((50, 2, 3)).astype(np.float32))
    copy = DEP(PRESETS["myosuite_legs"], 2, 3)
    copy.load_state_dict(dep.state_dict())
    x = torch.ones(2, 3)
    assert torch.equal(copy.step(x), dep.step(x))
    with pytest.raises(ValueError, match="shape"):
        DEP(PRESETS["myosuite_legs"], 3, 3).load_state_dict(dep.state_dict())


def test_muscle_sensor_sound_and_original():
    muscles = 2
    # observation: 3 other values, then the muscle block (length, velocity, force, act)
    block = np.array([[0.25, 0.75], [9.0, 9.0], [-0.5, -1.0], [0.1, 0.2]])
    observation = np.concatenate([[7.0, 7.0, 7.0], block.ravel()])[None]
    low, span, peak = np.array([0.1, 0.2]), np.array([0.2, 0.4]), np.array([100.0, 200.0])

    def readings(observations, normalised):  # as an environment's `muscle_readings`
        block = observations[:, 3:].reshape(len(observations), 4, muscles)
        length, velocity, force, activation = block.astype(np.float64).transpose(1, 0, 2)
        if not normalised:
            length, velocity, force = low + length * span, velocity * span, force * peak
        return MuscleReadings(length, velocity, force, activation)

    sound = MuscleSensor(readings, force_scale=0.1)
    np.testing.assert_allclose(sound(observation), [[2 * 0.25 - 1 - 0.05, 2 * 0.75 - 1 - 0.1]])

    original = MuscleSensor(readings, force_scale=0.1, original=True)
    first = original(observation)
    np.testing.assert_allclose(first, [[-1.0, -1.0]])  # every entry is -1 on the first sample
    block2 = block.copy()
    block2[0] = [0.75, 0.25]
    block2[2] = [-1.0, -0.5]
    second = original(np.concatenate([[7.0, 7.0, 7.0], block2.ravel()])[None])
    length = low + np.array([0.75, 0.25]) * span  # raw lengths now: 0.25, 0.3
    lmin, lmax = low + np.array([0.25, 0.25]) * span, low + np.array([0.75, 0.75]) * span
    force, fmin, fmax = (
        np.array([-100.0, -100.0]),
        np.array([-100.0, -200.0]),
        np.array([-50.0, -100.0]),
    )
    expected = 2 * ((length - lmin) / (lmax - lmin + 0.1) - 0.5)
    expected += 0.1 * (force - fmin) / (fmax - fmin + 0.1)
    np.testing.assert_allclose(second[0], expected)


def test_the_policy_loss_takes_dep_steps_as_dep_actions_says():
    from baselines.config import TrainConfig
    from baselines.dep import preset
    from baselines.dep_ppo import policy_mask

    from_dep = torch.tensor([[True, True], [True, False], [True, True], [True, False]])
    params = preset("myosuite_legs")

    def mask(dep_actions: str, first_step: int) -> list[bool]:
        config = TrainConfig(
            task="legs80-walk", algo="dep-ppo", envs=2, dep_warmup=5, dep_actions=dep_actions
        )
        return policy_mask(from_dep, config, params, first_step).tolist()

    assert mask("policy-logprob", 0) == [True] * 8
    assert mask("exclude", 0) == [not d for d in from_dep.reshape(-1).tolist()]
    # rows at steps 0, 2 and 4 are in the warm-up (5 steps); the row at step 6 follows it
    assert mask("exclude-warmup", 0) == [False, False, False, True, False, False, True, True]
    assert mask("exclude-warmup", 4) == [False, False] + [True] * 6
    assert mask("exclude-warmup", 6) == [True] * 8
