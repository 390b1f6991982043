"""The compiled observation and tracking errors match their documented definitions, computed
here another way: MuJoCo's own body velocities, plain numpy, Python loops over contacts."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from benchmark.env import ImitationEnv
from morphologies.contacts import floor_geom, foot_geoms


def _heading_turn(env: ImitationEnv) -> np.ndarray:
    """World-to-heading rotation: yaw of the root's forward axis, removed."""
    rotation = env.data.xmat[env._root_body].reshape(3, 3)
    forward = rotation @ env.body.frame.forward_vector
    yaw = math.atan2(forward[1], forward[0])
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def _expected(env: ImitationEnv) -> np.ndarray:
    model, data, body = env.model, env.data, env.body
    turn = _heading_turn(env)
    root = env._root_body
    rotation = data.xmat[root].reshape(3, 3)
    parts = [[data.xpos[root, 2]], rotation.T @ np.array([0.0, 0.0, -1.0])]
    bodies = range(1, model.nbody)
    parts += [turn @ (data.xpos[b] - data.xpos[root]) for b in bodies]
    for column in range(2):
        parts += [turn @ data.xmat[b].reshape(3, 3)[:, column] for b in bodies]
    velocity = np.zeros(6)
    linear, angular = [], []
    for b in bodies:
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, b, velocity, 0)
        angular.append(turn @ velocity[:3])
        linear.append(turn @ velocity[3:])
    parts += linear + angular
    contacts = np.zeros(2)
    floor = floor_geom(model)
    for column, geoms in enumerate(foot_geoms(body).values()):
        for contact in data.contact[: data.ncon]:
            pair = set(contact.geom.tolist())
            if floor in pair and pair & set(geoms):
                contacts[column] = 1.0
    parts.append(contacts)
    readings = body.muscle_readings(data)
    low, high = model.actuator_lengthrange.T
    span = np.maximum(high - low, 1e-6)
    parts += [
        (readings.length - low) / span,
        readings.velocity / span,
        readings.force / np.maximum(np.abs(model.actuator_gainprm[:, 2]), 1.0),
        readings.activation,
    ]
    points = env.tracked_points()
    last = len(env.clip.keypoints) - 1
    for ahead in range(1, env.frames_ahead + 1):
        frame = min(env.frame + ahead, last)
        reference = env.clip.keypoints[frame]
        reference_velocity = env._reference_velocity[env.clip.name][frame]
        parts += [(reference - points) @ turn.T, (reference_velocity - env._velocity) @ turn.T]
        parts.append((reference - data.xpos[root]) @ turn.T)
    return np.concatenate([np.ravel(p) for p in parts])


@pytest.mark.parametrize(("task", "frames_ahead"), [("legs80-walk", 1), ("legs290-walk", 3)])
def test_observation_matches_its_definition(task, frames_ahead):
    env = ImitationEnv(task, split="all", evaluation=True, frames_ahead=frames_ahead)
    rng = np.random.default_rng(3)
    observation, _ = env.reset()
    np.testing.assert_allclose(observation, _expected(env), rtol=1e-5, atol=1e-5)
    touched = 0.0
    for _ in range(12):
        action = rng.uniform(-1.0, 1.0, env.action_space.shape)
        observation, *_ = env.step(action)
        np.testing.assert_allclose(observation, _expected(env), rtol=1e-5, atol=1e-5)
        touched += _expected(env)[env._proprioception_size - 4 * env.model.nu - 2 :][:2].sum()
    assert touched > 0  # the feet touched the floor on some of these steps


def test_muscle_readings_decode_the_observation_as_the_body_reads_mujoco():
    env = ImitationEnv("legs80-walk", split="all", evaluation=True)
    rng = np.random.default_rng(5)
    env.reset()
    observations = []
    for _ in range(3):
        observation, *_ = env.step(rng.uniform(-1.0, 1.0, env.action_space.shape))
        observations.append(observation)
    decoded = env.muscle_readings(np.array(observations))
    direct = env.body.muscle_readings(env.data)  # the state after the last step
    for name in ("length", "velocity", "force", "activation"):
        column = getattr(decoded, name)
        assert column.shape == (3, env.model.nu)
        # float32 observation: relative precision 6e-8 of each normalised value
        np.testing.assert_allclose(column[-1], getattr(direct, name), rtol=1e-5, atol=1e-5)
    normalised = env.muscle_readings(observations[-1], normalised=True)
    low, high = env.model.actuator_lengthrange.T
    np.testing.assert_allclose(
        normalised.length[0], (direct.length - low) / np.maximum(high - low, 1e-6), atol=1e-5
    )


def test_tracking_errors_match_their_definition():
    env = ImitationEnv("legs86-walk", split="all", evaluation=True)
    rng = np.random.default_rng(4)
    env.reset()
    for _ in range(8):
        previous = env.tracked_points().copy()
        action = rng.uniform(-1.0, 1.0, env.action_space.shape)
        _, reward, _, _, info = env.step(action)
        points = env.tracked_points()
        reference = env.clip.keypoints[env.frame]
        offset = points - reference
        errors = np.linalg.norm(offset, axis=1)
        np.testing.assert_allclose(info["keypoint_errors"], errors, rtol=1e-12)
        assert info["mpjpe"] == pytest.approx(errors.mean(), rel=1e-12)
        relative = offset - offset[env.tracked.index("pelvis")]
        assert info["mpjpe_root_relative"] == pytest.approx(
            np.linalg.norm(relative, axis=1).mean(), rel=1e-12
        )
        velocity = (points - previous) * env.clip.fps
        reference_velocity = env._reference_velocity[env.clip.name][env.frame]
        velocity_offset = velocity - reference_velocity
        assert info["velocity_error"] == pytest.approx(
            np.linalg.norm(velocity_offset, axis=1).mean(), rel=1e-12
        )
        joints = env._joint_adr
        joint_offset = env.data.qpos[joints] - env.clip.qpos[env.frame, joints]
        assert info["joint_error_sq"] == pytest.approx(np.mean(joint_offset**2), rel=1e-12)
        excitation = np.clip((action + 1.0) / 2.0, 0.0, 1.0)
        up = env.data.xmat[env._root_body].reshape(3, 3) @ env.body.frame.up_vector
        terms = {
            "position": math.exp(-200.0 * np.mean(offset**2)),
            "velocity": math.exp(-5.0 * np.mean(velocity_offset**2)),
            "upright": math.exp(-3.0 * math.acos(np.clip(up[2], -1.0, 1.0)) ** 2),
            "energy": math.exp(-0.05 * (np.abs(excitation).sum() + np.linalg.norm(excitation))),
        }
        for name, value in terms.items():
            assert info["reward_terms"][name] == pytest.approx(value, rel=1e-9), name
        expected = 0.6 * terms["position"] + 0.2 * terms["velocity"]
        expected += 0.1 * terms["upright"] + 0.1 * terms["energy"]
        assert reward == pytest.approx(expected, rel=1e-9)
