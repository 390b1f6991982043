"""The MJX backend against the CPU environment, on JAX's CPU backend in float64.

Tolerances, and why:
- From the same MuJoCo state, the observation, tracked points, errors and reward are the
  same arithmetic in another library: 1e-6 (float64 rounding in other orders).
- One control step from the same state: MJX's constraint solver is not MuJoCo C's (its
  Newton iterations stop on their own test), so a step that makes contacts resolves them
  slightly differently. Measured from clip states under the reference_length servo,
  qpos agrees to about 1e-5 within 10 substeps where no foot lands hard; a landing whose
  contact impulses the two solvers split differently can move the feet by centimetres
  in one control step. So the trajectory test runs from a standing frame and holds
  qpos within 1 mm, activations within 1e-4 and the reward within 1e-3 over 10 control steps.

CI checks human_legs_80 (reference_length servo) and the ostrich (excitation);
CROSSMIMIC_MJX_BODIES=all adds human_legs_abs_86 (excitation) and human_legs_back_290
(muscle_length), a few minutes more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

from baselines.config import TrainConfig  # noqa: E402
from baselines.ppo import train  # noqa: E402
from benchmark import mjx_env, mjx_kernels  # noqa: E402
from benchmark.cli import main  # noqa: E402
from benchmark.env import ImitationEnv  # noqa: E402
from benchmark.mjx_kernels import mjx  # noqa: E402 (imported quietly there)
from benchmark.tasks import get_task  # noqa: E402


def _world(env: ImitationEnv, static, tables, model):
    """The CPU env's current state as one MJX world."""
    data = mjx.put_data(env.model, env.data)
    clip = [c.name for c in env.clips].index(env.clip.name)
    return mjx_kernels.World(
        data,
        jnp.int32(clip),
        jnp.int32(env.frame),
        jnp.int32(env._start),
        jnp.asarray(env._points),
        jnp.asarray(env._velocity),
        jax.random.PRNGKey(0),
    )


CASES = {  # a body of each kind, through each kind of interface
    "legs80-walk": "reference_length",
    "ostrich-run-real": "excitation",
}
if os.environ.get("CROSSMIMIC_MJX_BODIES") == "all":  # the other two human bodies (slow)
    CASES.update({"legs86-walk": "excitation", "legs290-walk": "muscle_length"})


@pytest.fixture(scope="module", params=sorted(CASES))
def setup(request):
    env = ImitationEnv(
        request.param, action_interface=CASES[request.param], termination="any-keypoint"
    )
    tables, static = mjx_env.build(env)
    model = mjx_env.put_model(env.task)
    step = jax.jit(
        lambda w, a: mjx_kernels.step_world(model, w, a, env.termination_distance, tables, static)
    )
    return env, tables, static, model, step


def test_observation_from_the_same_state(setup):
    env, tables, static, model, _ = setup
    observation, _ = env.reset(seed=0, options={"clip": env.clips[-1].name, "start": 10})
    for _ in range(3):
        observation, *_ = env.step(np.zeros(env.model.nu, np.float32))
    world = _world(env, static, tables, model)
    ported = np.asarray(mjx_kernels.observe(world.data, world, tables, static))
    assert ported.shape == observation.shape
    np.testing.assert_allclose(ported, observation, atol=1e-5, rtol=1e-5)


def test_ten_control_steps_agree(setup):
    env, tables, static, model, step = setup
    env.reset(seed=0, options={"clip": env.clips[0].name, "start": 0})
    world = _world(env, static, tables, model)
    rng = np.random.default_rng(0)
    worst = {"qpos": 0.0, "act": 0.0, "reward": 0.0, "observation": 0.0}
    for _ in range(10):
        action = rng.uniform(-0.2, 0.2, env.model.nu).astype(np.float32)
        observation, reward, terminated, truncated, info = env.step(action)
        world, ported, ported_reward, ported_terminated, ported_truncated, _ = step(
            world, jnp.asarray(action)
        )
        worst["qpos"] = max(
            worst["qpos"], np.abs(np.asarray(world.data.qpos) - env.data.qpos).max()
        )
        worst["act"] = max(worst["act"], np.abs(np.asarray(world.data.act) - env.data.act).max())
        worst["reward"] = max(worst["reward"], abs(float(ported_reward) - reward))
        assert bool(ported_terminated) == terminated and bool(ported_truncated) == truncated
        if terminated:
            break
    print("worst over 10 control steps", worst)
    assert worst["qpos"] < 1e-3, worst
    assert worst["act"] < 1e-4, worst
    assert worst["reward"] < 1e-3, worst


def test_unsupported_body_is_named(monkeypatch):
    def refuse(model):
        raise NotImplementedError("wrap type 7")

    monkeypatch.setattr(mjx_env.mjx, "put_model", refuse)
    with pytest.raises(mjx_env.UnsupportedBody, match="human_legs_80.*wrap type 7"):
        mjx_env.put_model(get_task("legs80-walk"))


def test_joint_target_the_tilt_rule_and_the_pose_reward_are_refused_naming_the_cpu_backend():
    env = ImitationEnv("legs80-walk", action_interface="joint_target")
    with pytest.raises(ValueError, match="'joint_target' runs on the CPU backend only"):
        mjx_env.build(env)
    env = ImitationEnv("legs80-walk", termination_tilt=0.3)
    with pytest.raises(ValueError, match="without the tilt rule; CPU backend only"):
        mjx_env.build(env)
    env = ImitationEnv("legs80-walk", pose_reward=0.5)
    with pytest.raises(ValueError, match="without the pose term; CPU backend only"):
        mjx_env.build(env)


def test_vector_env_contract_and_determinism():
    envs = mjx_env.MjxVectorEnv("ostrich-run-real", 2, termination="any-keypoint")

    def run():
        observation, _ = envs.reset(seed=[3, 4])
        rewards = []
        for _ in range(2):
            action = np.zeros((2, envs.single_action_space.shape[0]), np.float32)
            observation, reward, terminated, truncated, info = envs.step(action)
            rewards.append(reward)
            assert terminated.dtype == truncated.dtype == np.bool_
            assert set(info) >= {"final_obs", "_final_obs", "episode_steps", "ended_by"}
            for i in np.flatnonzero(info["_final_obs"]):
                assert info["final_obs"][i].shape == observation[i].shape
        return observation, np.array(rewards), info

    first, rewards, info = run()
    assert first.shape == (2, envs.single_observation_space.shape[0])
    assert first.dtype == np.float32 and np.isfinite(first).all()
    assert rewards.shape == (2, 2) and (rewards > 0).all() and (rewards <= 1).all()
    assert ((info["episode_steps"] >= 1) & (info["episode_steps"] <= 2)).all()
    again, rewards_again, _ = run()
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(rewards, rewards_again)
    envs.set_attr("termination_distance", 0.3)
    assert envs.termination_distance == 0.3
    with pytest.raises(AttributeError, match="termination_distance"):
        envs.set_attr("gravity", 1.0)


def test_a_policy_trained_on_mjx_is_scored_by_the_cpu_protocol(tmp_path, capsys):
    out = tmp_path / "mjx"
    config = TrainConfig(
        task="ostrich-run-real",
        backend="mjx",
        steps=8,
        envs=2,
        rollout=4,
        epochs=1,
        minibatches=1,
        eval_every=10**9,
        hidden=(16,),
    )
    final = train(config, out, progress=False)
    assert json.loads((out / "config.json").read_text())["config"]["backend"] == "mjx"
    scored = tmp_path / "scored"
    arguments = ["run", "--agent", str(out / "policy.onnx"), "--task", "ostrich-run-real"]
    assert main([*arguments, "-o", str(scored), "-q"]) == 0
    ours = json.loads((scored / "results.json").read_text())["results"]["ostrich-run-real"]
    # training's last evaluation ran the torch policy, `benchmark run` its ONNX export:
    # the same up to the graph's float32 rounding
    assert ours["mpjpe_mm"] == pytest.approx(final["summary"]["mpjpe_mm"], rel=1e-6)
    assert ours["coverage"] == final["summary"]["coverage"]


def test_without_jax_the_backend_says_how_to_install_it(tmp_path):
    # a fresh interpreter in which importing jax fails, as on an install without the extra
    script = (
        "import sys; sys.modules['jax'] = None\n"
        "from benchmark.cli import main\n"
        f"out = {str(tmp_path / 'r')!r}\n"
        "sys.exit(main(['train', '--backend', 'mjx', '--steps', '8', '-o', out]))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "pip install -e '.[gpu]'" in done.stderr
    assert not (tmp_path / "r").exists()  # refused before anything was written
