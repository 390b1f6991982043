"""Training the baselines: a test-sized run writes a complete curve, checkpoint and policy;
an interrupted run resumes exactly; bad checkpoints are refused; DEP switching."""

from __future__ import annotations

import copy
import csv
import json
import math
import shutil
from dataclasses import replace

import numpy as np
import onnxruntime
import pytest
import torch

from baselines.compare import setup_label
from baselines.config import PROXIMAL, TrainConfig
from baselines.dep import PRESETS
from baselines.dep_ppo import Switching, dep_mask, dep_params
from baselines.networks import ActorCritic
from baselines.ppo import TerminationCurriculum, _kl, _optimizer, train
from baselines.run_files import (
    CURVE_COLUMNS,
    CheckpointError,
    evaluated_dir,
    load_checkpoint,
    load_policy,
    write_csv,
)
from benchmark.agents import OnnxAgent
from benchmark.cli import main
from benchmark.runner import run

SMALL = dict(envs=2, rollout=128, minibatches=2, eval_every=512, dep_warmup=256, hidden=(32, 32))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "ppo"
    final = train(TrainConfig(steps=1024, **SMALL), out, progress=False)
    return out, final


def _assert_same_run(folder, whole: dict, parts: dict) -> None:
    """The run in `folder`/whole and the one interrupted and resumed in `folder`/parts ended
    with the same evaluation and the same weights."""
    assert parts["summary"] == whole["summary"]
    a = torch.load(folder / "whole" / "policy.pt")["policy"]
    b = torch.load(folder / "parts" / "policy.pt")["policy"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_small_run_writes_a_complete_curve_checkpoint_and_policy(finished_run):
    out, final = finished_run
    with open(out / "curve.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["steps"]) for r in rows] == [0, 512, 1024]
    assert set(rows[0]) == set(CURVE_COLUMNS)
    assert all(0.0 < float(r["mpjpe_mm"]) < 2000.0 for r in rows)
    assert json.loads((out / "curve.json").read_text())[-1]["steps"] == 1024
    state = load_checkpoint(out / "checkpoint.pt", task="legs80-walk")
    assert state["step"] == 1024 and state["iteration"] == 4
    assert final["summary"]["episodes"] == 2 and final["steps"] == 1024
    assert final["steps_per_s"] > 0

    policy, meta = load_policy(out / "policy.pt")
    observation = np.random.default_rng(0).standard_normal((3, meta["observation_size"]))
    observation = observation.astype(np.float32)
    with torch.no_grad():
        expected = policy(torch.from_numpy(observation)).numpy()
    session = onnxruntime.InferenceSession(str(out / "policy.onnx"))
    (exported,) = session.run(None, {"observation": observation})
    np.testing.assert_allclose(exported, expected, atol=1e-5)  # normaliser inside the graph
    assert np.abs(exported).max() <= 1.0


def test_every_evaluated_policy_is_kept_and_replays_its_point_of_the_curve(finished_run, tmp_path):
    out, _ = finished_run
    with open(out / "curve.csv") as handle:
        rows = list(csv.DictReader(handle))
    kept = sorted(p.name for p in (out / "evaluated").iterdir())
    assert kept == [f"{int(r['steps']):010d}" for r in rows]
    assert all((evaluated_dir(out, int(k)) / "policy.onnx").exists() for k in kept)
    final, _ = load_policy(out / "policy.pt")
    last, _ = load_policy(evaluated_dir(out, 1024) / "policy.pt")
    assert all(torch.equal(v, last.state_dict()[k]) for k, v in final.state_dict().items())
    # the curve's point, to the bit, from the file as a user runs it
    middle = evaluated_dir(out, 512) / "policy.onnx"
    replayed = run(str(middle), ["legs80-walk"], out=tmp_path / "replay", progress=False)
    assert replayed["results"]["legs80-walk"]["mpjpe_mm"] == float(rows[1]["mpjpe_mm"])
    assert replayed["episodes"][0]["steps"] == int(rows[1]["end_frames"].split(";")[0])


def test_an_interrupted_dep_ppo_run_resumes_exactly(tmp_path):
    config = dict(SMALL, algo="dep-ppo")
    whole = train(TrainConfig(steps=1024, **config), tmp_path / "whole", progress=False)
    train(TrainConfig(steps=512, **config), tmp_path / "parts", progress=False)
    with pytest.raises(FileExistsError, match="--resume"):
        train(TrainConfig(steps=1024, **config), tmp_path / "parts", progress=False)
    parts = train(
        TrainConfig(steps=1024, **config), tmp_path / "parts", resume=True, progress=False
    )
    _assert_same_run(tmp_path, whole, parts)
    curve_a = json.loads((tmp_path / "whole" / "curve.json").read_text())
    curve_b = json.loads((tmp_path / "parts" / "curve.json").read_text())
    drop_wall = [{k: v for k, v in row.items() if k != "wall_s"} for row in curve_a]
    assert drop_wall == [{k: v for k, v in row.items() if k != "wall_s"} for row in curve_b]
    with open(tmp_path / "whole" / "training.csv") as handle:
        shares = [float(row["dep_share"]) for row in csv.DictReader(handle)]
    assert shares[0] == 1.0  # the warm-up's 256 steps: DEP drives every sample
    assert all(share < 0.05 for share in shares[1:])  # then the preset's 0.0004 x 5 steps


def test_bad_checkpoints_are_refused(finished_run, tmp_path):
    out, _ = finished_run
    state = torch.load(out / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="field 'task'"):
        load_checkpoint(out / "checkpoint.pt", task="legs86-walk")
    other = dict(state, model_hash="0" * 64)
    del other["sha256"]  # as a file written before checksums: the model hash still counts
    torch.save(other, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="model_hash"):
        load_checkpoint(tmp_path / "other.pt")
    broken = tmp_path / "broken.pt"
    broken.write_bytes((out / "checkpoint.pt").read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(broken)
    (tmp_path / "resume").mkdir()
    (tmp_path / "resume" / "checkpoint.pt").write_bytes(broken.read_bytes())
    code = main(
        ["train", "--steps", "256", "--envs", "2", "-o", str(tmp_path / "resume"), "--resume"]
    )
    assert code == 2


def test_damaged_or_edited_weights_are_refused(finished_run, tmp_path):
    out, _ = finished_run
    state = torch.load(out / "checkpoint.pt")
    assert len(state["sha256"]) == 64
    first = next(iter(state["model"]))
    state["model"][first] = state["model"][first] + 1e-3
    torch.save(state, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="'sha256' does not match"):
        load_checkpoint(tmp_path / "edited.pt")
    # bytes flipped inside the stored weights: the archive still reads, the checksum does not
    raw = bytearray((out / "policy.pt").read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 256] = bytes(b ^ 0xFF for b in raw[middle : middle + 256])
    (tmp_path / "flipped.pt").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256|not a readable"):
        load_policy(tmp_path / "flipped.pt")


def test_resuming_a_finished_run_replays_its_last_evaluation(finished_run, tmp_path):
    out, final = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "final.json").unlink()  # as if stopped after its last evaluation, before the end
    again = train(TrainConfig(steps=1024, **SMALL), copy, resume=True, progress=False)
    assert again["summary"] == final["summary"]
    timeless = [
        [{k: v for k, v in e.items() if k != "wall_s"} for e in f["episodes"]]
        for f in (again, final)
    ]
    assert timeless[0] == timeless[1]
    assert (copy / "policy.onnx").read_bytes() == (out / "policy.onnx").read_bytes()


def test_a_resumed_run_must_keep_its_settings(finished_run, tmp_path):
    out, _ = finished_run
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "checkpoint.pt").write_bytes((out / "checkpoint.pt").read_bytes())
    with pytest.raises(CheckpointError, match="config.seed"):
        train(TrainConfig(steps=2048, **dict(SMALL, seed=5)), copy, resume=True, progress=False)


def test_a_run_records_its_clips_and_resumes_only_on_them(finished_run, tmp_path):
    from benchmark.tasks import get_task, suite_hash

    out, _ = finished_run
    clips = suite_hash([get_task("legs80-walk")])
    assert json.loads((out / "config.json").read_text())["suite_hash"] == clips
    state = torch.load(out / "checkpoint.pt")
    assert state["suite_hash"] == clips
    state["suite_hash"] = "0" * 64  # as if begun on another version's clips
    del state["sha256"]  # so that the loader reads the edited field instead of refusing
    (tmp_path / "other").mkdir()
    torch.save(state, tmp_path / "other" / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="field 'suite_hash' is 000000000000"):
        train(TrainConfig(steps=2048, **SMALL), tmp_path / "other", resume=True, progress=False)


def test_dep_switching_warm_up_interventions_and_greedy_episodes():
    params = PRESETS["myosuite_legs"]
    config = TrainConfig(algo="dep-ppo", envs=4, dep_warmup=100)
    switching = Switching(4)
    rng = np.random.default_rng(0)
    acting, stepped = dep_mask(switching, config, params, 0, rng)
    assert acting.all() and stepped.all()  # warm-up: DEP everywhere

    always = TrainConfig(algo="dep-ppo", envs=4, dep_warmup=0)
    eager = type(params)(**{**params.__dict__, "intervention_proba": 1.0})
    switching = Switching(4)
    switching.episodes[:] = [1, 2, 3, 4]  # the third episode of env 2 is greedy
    runs = np.array([dep_mask(switching, always, eager, 10, rng)[0] for _ in range(12)])
    assert not runs[:, 2].any()
    # with certain triggering, DEP acts in blocks of intervention_length, then re-triggers
    assert runs[:, 0].all()

    rare = type(params)(**{**params.__dict__, "intervention_proba": 0.05})
    switching = Switching(4)
    runs = np.array([dep_mask(switching, always, rare, 10, rng)[0] for _ in range(4000)])
    for column in runs[:, [0, 1, 3]].T:  # every intervention lasts intervention_length steps
        edges = np.flatnonzero(np.diff(np.concatenate([[0], column.astype(int), [0]])))
        lengths = edges[1::2] - edges[::2]
        assert len(lengths) > 0 and np.all(lengths % params.intervention_length == 0)

    original = TrainConfig(algo="dep-ppo", envs=4, dep_warmup=0, dep_original=True)
    switching = Switching(4)
    switching.episodes_done = 1
    runs = np.array([dep_mask(switching, original, eager, 10, rng)[0] for _ in range(20)])
    assert (runs == runs[:, :1]).all()  # the reference switches the whole batch at once
    assert not runs[0].any()  # since_switch starts at 500: the policy acts first


def test_a_run_sets_dep_s_intervention_probability_and_length():
    config = TrainConfig(algo="dep-ppo", dep_intervention_proba=0.01, dep_intervention_length=20)
    params = dep_params(config)
    assert (params.intervention_proba, params.intervention_length) == (0.01, 20)
    assert params.kappa == PRESETS["myosuite_legs"].kappa  # the rest is the preset's
    assert dep_params(TrainConfig(algo="dep-ppo")) == PRESETS["myosuite_legs"]
    with pytest.raises(ValueError, match="dep_intervention_proba must be a probability"):
        TrainConfig(dep_intervention_proba=1.5)
    with pytest.raises(ValueError, match="dep_intervention_length must be at least 1"):
        TrainConfig(dep_intervention_length=0)


def _cpu_only_training_setting(tmp_path, config: dict, name: str, other: float) -> dict:
    """Train a short run with `config`, check that `name` is refused on the MJX backend and
    that a resume asking for `other` is refused; the run's config.json header."""
    train(TrainConfig(steps=256, **config), tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match=f"{name} runs on backend 'cpu' only"):
        TrainConfig(task="legs80-walk", backend="mjx", **{name: config[name]})
    with pytest.raises(CheckpointError, match=f"config.{name}"):
        changed = dict(config, **{name: other})
        train(TrainConfig(steps=512, **changed), tmp_path / "run", resume=True, progress=False)
    return json.loads((tmp_path / "run" / "config.json").read_text())


def test_a_run_with_the_tilt_rule_records_it_and_counts_its_endings(tmp_path):
    config = dict(SMALL, termination="any-keypoint", termination_tilt=0.05)
    header = _cpu_only_training_setting(tmp_path, config, "termination_tilt", 0.1)
    assert header["training_termination"]["tilt_rad"] == 0.05
    with open(tmp_path / "run" / "training.csv") as handle:
        (row,) = list(csv.DictReader(handle))
    assert int(row["ended_tilt"]) > 0  # 3 degrees: the rule ends episodes


def test_a_run_with_the_pose_reward_records_it_and_compare_keeps_it_apart(tmp_path):
    header = _cpu_only_training_setting(tmp_path, dict(SMALL, pose_reward=0.5), "pose_reward", 0.2)
    assert header["training_reward"] == {"pose_weight": 0.5}
    assert setup_label(header["config"]) == "ppo pose 0.5"
    tilted = {"algo": "ppo", "termination": "any-keypoint", "termination_tilt": 0.3}
    assert setup_label(tilted) == "ppo any-keypoint tilt 0.3"


def test_a_run_with_the_assist_records_it_and_lowers_it_by_the_step(tmp_path):
    config = dict(SMALL, assist=1.0, assist_until=512)
    header = _cpu_only_training_setting(tmp_path, config, "assist", 0.5)
    assert header["training_assist"] == {"scale": 1.0, "until_step": 512}
    assert setup_label(header["config"]) == "ppo assist 1 to 512"
    with open(tmp_path / "run" / "training.csv") as handle:
        (row,) = list(csv.DictReader(handle))
    assert float(row["assist"]) == 1.0  # the first rollout, at step 0
    trained = TrainConfig(**config)
    assert [trained.assist_at(s) for s in (0, 256, 512, 1024)] == [1.0, 0.5, 0.0, 0.0]
    with pytest.raises(ValueError, match="assist needs assist_until"):
        TrainConfig(assist=0.5)
    with pytest.raises(ValueError, match="assist must be a scale in"):
        TrainConfig(assist=2.0, assist_until=10)


def test_the_kl_stop_ends_an_update_early_and_training_csv_says_so(tmp_path):
    def rows(run):
        with open(run / "training.csv") as handle:
            return list(csv.DictReader(handle))

    train(TrainConfig(steps=512, **SMALL), tmp_path / "free", progress=False)
    full = SMALL["minibatches"] * TrainConfig().epochs
    for row in rows(tmp_path / "free"):
        assert int(row["minibatch_steps"]) == full
        assert float(row["kl"]) > 0 and 0 <= float(row["clip_fraction"]) <= 1
    # the first minibatch is the rollout's own policy (KL 0); after one step it has moved
    tight = dict(SMALL, target_kl=1e-12)
    train(TrainConfig(steps=512, **tight), tmp_path / "tight", progress=False)
    for row in rows(tmp_path / "tight"):
        assert int(row["minibatch_steps"]) == 1
        assert float(row["kl"]) > 1.5e-12
    with pytest.raises(ValueError, match="target_kl must be a positive number"):
        TrainConfig(target_kl=0.0)


def test_a_kl_stop_on_the_actor_leaves_the_value_function_its_steps(tmp_path):
    # one iteration each: the same first step of both networks, then only the critic moves
    models = {}
    for stops in ("update", "actor"):
        config = TrainConfig(steps=256, target_kl=1e-12, target_kl_stops=stops, **SMALL)
        train(config, tmp_path / stops, progress=False)
        models[stops] = load_checkpoint(tmp_path / stops / "checkpoint.pt")["model"]
        with open(tmp_path / stops / "training.csv") as handle:
            (row,) = list(csv.DictReader(handle))
        assert int(row["minibatch_steps"]) == 1
    stopped, critic_too = models["actor"], models["update"]
    for name, tensor in stopped.items():
        if name.startswith(("actor.", "log_std")):
            assert torch.equal(tensor, critic_too[name]), name
    critics = [name for name in stopped if name.startswith("critic.")]
    assert not all(torch.equal(stopped[n], critic_too[n]) for n in critics)
    with pytest.raises(ValueError, match="target_kl_stops must be one of"):
        TrainConfig(target_kl_stops="critic")


@pytest.mark.parametrize("exploration", ["diagonal", "lattice"])
def test_the_update_measures_the_exact_kl_from_the_rollouts_policy(exploration):
    model = ActorCritic(5, 3, TrainConfig(hidden=(8, 6), exploration=exploration))
    observation = torch.randn(64, 5)
    with torch.no_grad():
        model.actor[-1].weight.normal_()
        before, scale = model.distribution(observation), model.scale()
        rebuilt = model.distribution_at(before.mean, scale)
        action = before.sample()
        torch.testing.assert_close(rebuilt.log_prob(action), before.log_prob(action))
        assert _kl(model, before.mean, scale, before) == pytest.approx(0.0, abs=1e-6)
        model.actor[-1].bias += 0.1  # every mean moves by 0.1 in each action
        model.log_std += 0.2
        after = model.distribution(observation)
    if exploration == "diagonal":  # the Gaussians' closed form, summed over the actions
        s0, s1 = math.exp(-0.5), math.exp(-0.3)
        expected = 3 * (math.log(s1 / s0) + (s0**2 + 0.1**2) / (2 * s1**2) - 0.5)
    else:  # torch's closed form against a sampled estimate, loosely
        sample = before.sample((20000,))
        expected = float((before.log_prob(sample) - after.log_prob(sample)).mean())
    tolerance = 1e-5 if exploration == "diagonal" else 0.05
    assert _kl(model, before.mean, scale, after) == pytest.approx(expected, rel=tolerance)


def test_a_policy_learning_rate_of_its_own_covers_every_parameter_once():
    config = TrainConfig(policy_learning_rate=5e-5, **SMALL)
    model = ActorCritic(10, 3, config)
    actor, critic = _optimizer(model, config).param_groups
    assert (actor["lr"], critic["lr"]) == (5e-5, config.learning_rate)
    grouped = [id(p) for group in (actor, critic) for p in group["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters())
    assert any(p is model.log_std for p in actor["params"])
    (single,) = _optimizer(model, TrainConfig(**SMALL)).param_groups
    assert len(single["params"]) == len(grouped)
    with pytest.raises(ValueError, match="policy_learning_rate must be a positive number"):
        TrainConfig(policy_learning_rate=-1.0)


def test_joint_target_refuses_dep_ppo_and_the_mjx_backend_before_a_run_starts():
    with pytest.raises(ValueError, match="joint_target: DEP-PPO is not offered"):
        TrainConfig(task="legs80-walk", algo="dep-ppo", action_interface="joint_target")
    with pytest.raises(ValueError, match="joint_target runs on backend 'cpu' only"):
        TrainConfig(task="legs80-walk", backend="mjx", action_interface="joint_target")


def test_the_dep_preset_defaults_to_the_one_for_the_tasks_body():
    assert TrainConfig(task="legs80-walk").dep_preset == "myosuite_legs"
    assert TrainConfig(task="ostrich-run").dep_preset == "ostrich"
    assert TrainConfig(task="ostrich-run", dep_preset="myosuite_legs").dep_preset == "myosuite_legs"


@pytest.mark.parametrize("interface", ["muscle_length", "reference_length", "joint_target"])
def test_a_run_through_each_servo_interface_resumes_exactly(interface, tmp_path):
    config = dict(SMALL, action_interface=interface, termination="any-keypoint")
    whole = train(TrainConfig(steps=512, **config), tmp_path / "whole", progress=False)
    train(TrainConfig(steps=256, **config), tmp_path / "parts", progress=False)
    parts = train(TrainConfig(steps=512, **config), tmp_path / "parts", resume=True, progress=False)
    _assert_same_run(tmp_path, whole, parts)
    header = json.loads((tmp_path / "whole" / "config.json").read_text())
    assert header["action_interface"] == interface
    expected = {"rule": "any-keypoint", "distance_m": 0.15, "curriculum": False}
    assert header["training_termination"] == expected
    _, meta = load_policy(tmp_path / "whole" / "policy.pt")
    assert meta["action_interface"] == interface
    agent = OnnxAgent(tmp_path / "whole" / "policy.onnx")
    assert agent.action_interface == interface

    with open(tmp_path / "parts" / "training.csv") as handle:
        rows = list(csv.DictReader(handle))
    with open(tmp_path / "whole" / "training.csv") as handle:
        drop = ("wall_s", "steps_per_s")
        expected = [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(handle)]
    assert [{k: v for k, v in r.items() if k not in drop} for r in rows] == expected
    assert [int(r["steps"]) for r in rows] == [256, 512]
    for row in rows:  # the short any-keypoint episodes end, and each names its keypoint
        ended = sum(int(v) for k, v in row.items() if k.startswith("ended_"))
        terminated = round(float(row["terminated"]) * int(row["episodes"]))
        assert int(row["episodes"]) > 0 and ended == terminated
        assert 0 < float(row["episode_steps"]) < 128

    with pytest.raises(CheckpointError, match="config.action_interface"):
        other = dict(config, action_interface="excitation")
        train(TrainConfig(steps=768, **other), tmp_path / "parts", resume=True, progress=False)


def test_lattice_noise_is_correlated_through_the_last_layer_and_resumes_exactly(tmp_path):
    from baselines.networks import ActorCritic

    config = TrainConfig(hidden=(8, 6), exploration="lattice", init_log_std=-1.0)
    model = ActorCritic(5, 3, config)
    assert model.log_std.shape == (3 + 6,)  # actions, then the last hidden layer
    with torch.no_grad():
        model.actor[-1].weight.normal_()
    weight, variance = model.actor[-1].weight, (2 * model.log_std).exp()
    expected = weight @ torch.diag(variance[3:]) @ weight.T + torch.diag(variance[:3])
    distribution = model.distribution(torch.zeros(4, 5))
    torch.testing.assert_close(distribution.covariance_matrix[0], expected)
    assert distribution.log_prob(torch.zeros(4, 3)).shape == (4,)
    diagonal = ActorCritic(5, 3, TrainConfig(hidden=(8, 6), init_log_std=-1.0))
    observation, action = torch.randn(4, 5), torch.randn(4, 3)
    log_prob = diagonal.distribution(observation).log_prob(action)
    mean = diagonal.actor(diagonal.norm(observation))
    normal = torch.distributions.Normal(mean, torch.full((3,), math.exp(-1.0)))
    assert torch.equal(log_prob, normal.log_prob(action).sum(-1))  # as before Lattice, to the bit

    settings = dict(SMALL, exploration="lattice")
    whole = train(TrainConfig(steps=512, **settings), tmp_path / "whole", progress=False)
    train(TrainConfig(steps=256, **settings), tmp_path / "parts", progress=False)
    parts = train(
        TrainConfig(steps=512, **settings), tmp_path / "parts", resume=True, progress=False
    )
    assert parts["summary"] == whole["summary"]
    with pytest.raises(CheckpointError, match="config.exploration"):
        train(TrainConfig(steps=768, **SMALL), tmp_path / "parts", resume=True, progress=False)


def test_the_curve_says_where_each_test_episode_ended(finished_run):
    out, final = finished_run
    with open(out / "curve.csv") as handle:
        last = list(csv.DictReader(handle))[-1]
    frames = [int(f) for f in last["end_frames"].split(";")]
    assert frames == [e["steps"] for e in final["episodes"]]
    names = last["ended_by"].split(";")
    assert names == [e["ended_by"] or "-" for e in final["episodes"]]
    assert all(
        n in ("-", "pelvis", "r_knee", "l_knee", "r_ankle", "l_ankle", "r_toe", "l_toe")
        for n in names
    )


def test_the_termination_curriculum_tightens_and_loosens_within_its_bounds():
    curriculum = TerminationCurriculum(0.5, 0.5)
    for _ in range(4):
        assert not curriculum.update(0.05)
    assert curriculum.update(0.05) and curriculum.distance == pytest.approx(0.475)
    assert not curriculum.update(0.15)  # between the bands: the streaks restart
    for _ in range(4):
        curriculum.update(0.3)
    assert curriculum.update(0.3) and curriculum.distance == pytest.approx(0.5)
    for _ in range(5):
        curriculum.update(0.9)
    assert curriculum.distance == pytest.approx(0.5)  # never above where it started
    for _ in range(500):
        curriculum.update(0.0)
    assert curriculum.distance == pytest.approx(0.1)  # the floor


def test_a_curriculum_run_resumes_exactly(tmp_path):
    config = dict(
        SMALL,
        rollout=32,
        minibatches=2,
        termination="any-keypoint",
        termination_distance=0.3,
        termination_curriculum=True,
    )
    whole = train(TrainConfig(steps=512, **config), tmp_path / "whole", progress=False)
    train(TrainConfig(steps=256, **config), tmp_path / "parts", progress=False)
    state = load_checkpoint(tmp_path / "parts" / "checkpoint.pt")
    assert state["curriculum"]["distance"] <= 0.3
    parts = train(TrainConfig(steps=512, **config), tmp_path / "parts", resume=True, progress=False)
    assert parts["summary"] == whole["summary"]
    with open(tmp_path / "whole" / "training.csv") as handle:
        distances = [float(r["termination_distance"]) for r in csv.DictReader(handle)]
    assert len(distances) == 8 and all(0.1 <= d <= 0.3 for d in distances)


def test_a_shipped_run_keeps_its_interface_and_clips(finished_run, tmp_path, monkeypatch):
    import baselines.shipped as shipped

    out, _ = finished_run
    monkeypatch.setattr(shipped, "POLICIES", tmp_path)
    shipped.ship(out, "small")
    meta = json.loads((tmp_path / "small.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert meta["suite_hash"] == config["suite_hash"] and meta["training"]["steps"] == 1024
    agent = shipped.load("small")
    assert agent.action_interface == meta["action_interface"] == "excitation"


def test_dual_clip_bounds_the_objective_of_a_far_off_action_with_a_negative_advantage():
    from baselines.ppo import clipped_surrogate

    ratio = torch.tensor([math.exp(20.0), math.exp(20.0), 1.1, 0.5])
    advantage = torch.tensor([-1.0, 1.0, -1.0, -1.0])
    plain = clipped_surrogate(ratio, advantage, 0.2, None)
    assert plain[0] == -math.exp(20.0)  # unbounded: PPO clips a large ratio only from above
    assert plain.tolist()[1:] == pytest.approx([1.2, -1.1, -0.8])
    dual = clipped_surrogate(ratio, advantage, 0.2, 3.0)
    assert dual.tolist() == pytest.approx([-3.0, 1.2, -1.1, -0.8])  # only the far-off one moves
    with pytest.raises(ValueError, match="dual_clip must be greater than 1"):
        TrainConfig(dual_clip=1.0)


def _fingerprint(model) -> bytes:
    """The policy's weights and normaliser, as bytes."""
    return b"".join(t.detach().numpy().tobytes() for t in model.state_dict().values())


@pytest.mark.parametrize(
    ("overlap", "proximal"), [(False, "behaviour"), (True, "behaviour"), (True, "learner")]
)
def test_overlap_acts_with_the_policy_one_update_old_and_resumes_exactly(
    overlap, proximal, tmp_path, monkeypatch
):
    import baselines.ppo as ppo

    acted, updated = [], []
    real_collect, real_update = ppo.collect, ppo.update

    def recording_collect(model, *args):
        acted.append(_fingerprint(model))
        return real_collect(model, *args)

    def recording_update(model, *args):
        updated.append(_fingerprint(model))
        return real_update(model, *args)

    monkeypatch.setattr(ppo, "collect", recording_collect)
    monkeypatch.setattr(ppo, "update", recording_update)
    config = dict(SMALL, overlap=overlap, proximal=proximal)
    whole = train(TrainConfig(steps=1024, **config), tmp_path / "whole", progress=False)
    assert len(acted) == len(updated) == 4 and len(set(updated)) == 4
    if overlap:  # the first rollout by the first policy, each later one by the one before
        assert acted == [updated[0]] + updated[:-1]
    else:
        assert acted == updated

    train(TrainConfig(steps=512, **config), tmp_path / "parts", progress=False)
    if overlap:
        with pytest.raises(CheckpointError, match="config.overlap"):
            train(TrainConfig(steps=1024, **SMALL), tmp_path / "parts", resume=True)
    parts = train(
        TrainConfig(steps=1024, **config), tmp_path / "parts", resume=True, progress=False
    )
    _assert_same_run(tmp_path, whole, parts)
    header = json.loads((tmp_path / "whole" / "config.json").read_text())
    assert header["config"]["overlap"] is overlap
    assert header["config"]["proximal"] == proximal


def _stale_batch() -> tuple[ActorCritic, ActorCritic, dict, TrainConfig]:
    """A learner, a behaviour policy that differs from it, and a batch the behaviour acted."""
    config = TrainConfig(hidden=(16, 16), init_log_std=-1.5, epochs=1, minibatches=1)
    torch.manual_seed(0)
    learner, behaviour = ActorCritic(12, 5, config), ActorCritic(12, 5, config)
    with torch.no_grad():  # an update's worth apart (both start with near-zero means)
        behaviour.actor[-1].bias.add_(0.2 * torch.randn(5))
        behaviour.log_std.add_(0.3)
    observation = torch.randn(256, 12)
    with torch.no_grad():
        acting = behaviour.distribution(observation)
        action = acting.sample()
        flat = {
            "observation": observation,
            "action": action,
            "logprob": acting.log_prob(action),
            "mean": acting.mean,
            "advantage": torch.randn(256),
            "return": torch.randn(256),
            "policy_mask": torch.ones(256, dtype=torch.bool),
        }
    return learner, behaviour, flat, config


def test_the_decoupled_objective_clips_against_the_learner_and_weights_by_the_behaviour():
    from baselines.ppo import decoupled, update

    learner, behaviour, flat, config = _stale_batch()
    proximal, scale = decoupled(learner, flat)
    with torch.no_grad():
        expected = learner.distribution(flat["observation"]).log_prob(flat["action"])
    assert torch.equal(proximal["logprob"], expected)
    assert torch.equal(scale, learner.scale())
    ratio = (expected - flat["logprob"]).exp()  # learner / behaviour
    assert torch.allclose(proximal["weight"], ratio.clamp(max=1.0))
    assert (ratio > 1).any() and (ratio < 1).any()  # both sides of the truncation were met

    # one minibatch step: against the stale behaviour most ratios start outside the clip,
    # against the learner none do
    stats = {}
    for name in PROXIMAL:
        model = copy.deepcopy(learner)
        optimizer = _optimizer(model, config)
        settings = replace(config, overlap=True, proximal=name)
        stats[name] = update(model, optimizer, dict(flat), behaviour.scale().detach(), settings)
    assert stats["behaviour"]["clip_fraction"] > 0.5
    assert stats["learner"]["clip_fraction"] == 0.0


def test_decoupling_with_the_learner_as_behaviour_is_plain_ppo_to_the_bit():
    from baselines.ppo import update

    learner, _, flat, config = _stale_batch()
    with torch.no_grad():  # the learner acted: the weights are 1 and the ratios the same
        acting = learner.distribution(flat["observation"])
        flat.update(logprob=acting.log_prob(flat["action"]), mean=acting.mean)
    results = []
    for name in PROXIMAL:
        model = copy.deepcopy(learner)
        settings = replace(config, overlap=True, proximal=name)
        shuffle = torch.Generator().manual_seed(0)
        scale = learner.scale().detach()
        update(model, _optimizer(model, settings), dict(flat), scale, settings, shuffle)
        results.append(_fingerprint(model))
    assert results[0] == results[1]


def test_overlap_is_refused_for_dep_ppo_and_the_mjx_backend():
    with pytest.raises(ValueError, match="overlap: offered for PPO only"):
        TrainConfig(algo="dep-ppo", overlap=True)
    with pytest.raises(ValueError, match="overlap runs on backend 'cpu' only"):
        TrainConfig(backend="mjx", overlap=True)
    with pytest.raises(ValueError, match="proximal 'learner' needs overlap"):
        TrainConfig(proximal="learner")


def test_a_resumed_run_keeps_the_columns_its_earlier_rows_were_written_with(tmp_path):
    rows = [{"iteration": 1, "approx_kl": 4.2}, {"iteration": 2, "kl": 0.9}]
    write_csv(tmp_path / "training.csv", ("iteration", "kl"), rows)
    with open(tmp_path / "training.csv") as handle:
        written = list(csv.DictReader(handle))
    assert list(written[0]) == ["iteration", "kl", "approx_kl"]
    assert written == [
        {"iteration": "1", "kl": "", "approx_kl": "4.2"},
        {"iteration": "2", "kl": "0.9", "approx_kl": ""},
    ]


def test_annealing_lowers_every_rate_linearly_to_zero_and_resumes_exactly(tmp_path, monkeypatch):
    import baselines.ppo as ppo

    config = dict(SMALL, anneal_lr=True, policy_learning_rate=1e-4)  # 4 iterations of 256
    whole = train(TrainConfig(steps=1024, **config), tmp_path / "whole", progress=False)
    with open(tmp_path / "whole" / "training.csv") as handle:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(handle)]
    assert rates == pytest.approx([1e-4, 0.75e-4, 0.5e-4, 0.25e-4])  # the actor's group
    state = load_checkpoint(tmp_path / "whole" / "checkpoint.pt")
    critic = state["optimizer"]["param_groups"][1]
    assert critic["lr"] == pytest.approx(0.25 * 3e-4) and critic["initial_lr"] == 3e-4

    # interrupted in its third update, then resumed: the schedule stays the run's
    real_update, calls = ppo.update, []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_update(*args)

    monkeypatch.setattr(ppo, "update", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(steps=1024, **config), tmp_path / "parts", progress=False)
    monkeypatch.setattr(ppo, "update", real_update)
    with pytest.raises(CheckpointError, match="config.anneal_lr"):
        unannealed = dict(config, anneal_lr=False)
        train(TrainConfig(steps=1024, **unannealed), tmp_path / "parts", resume=True)
    parts = train(
        TrainConfig(steps=1024, **config), tmp_path / "parts", resume=True, progress=False
    )
    _assert_same_run(tmp_path, whole, parts)
    with pytest.raises(ValueError, match="anneal_lr and adaptive_kl"):
        TrainConfig(anneal_lr=True, adaptive_kl=0.01)


def test_the_adaptive_kl_schedule_moves_every_rate_by_1_5_within_its_bounds(tmp_path):
    from baselines.ppo import LEARNING_RATE_BOUNDS, adapt_learning_rate

    model = ActorCritic(5, 3, TrainConfig(hidden=(8,)))
    optimizer = _optimizer(model, TrainConfig(hidden=(8,), policy_learning_rate=5e-5))
    adapt_learning_rate(optimizer, 0.05, 0.01)  # over twice the desired KL: down
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([5e-5 / 1.5, 3e-4 / 1.5])
    adapt_learning_rate(optimizer, 0.015, 0.01)  # within [0.5, 2] x desired: kept
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([5e-5 / 1.5, 3e-4 / 1.5])
    for _ in range(40):
        adapt_learning_rate(optimizer, 0.001, 0.01)  # under half: up, to the ceiling
    assert [g["lr"] for g in optimizer.param_groups] == [LEARNING_RATE_BOUNDS[1]] * 2
    for _ in range(40):
        adapt_learning_rate(optimizer, 1.0, 0.01)
    assert [g["lr"] for g in optimizer.param_groups] == [LEARNING_RATE_BOUNDS[0]] * 2

    config = dict(SMALL, adaptive_kl=1e-4)  # a tiny target: the rates fall below 3e-4
    whole = train(TrainConfig(steps=512, **config), tmp_path / "whole", progress=False)
    train(TrainConfig(steps=256, **config), tmp_path / "parts", progress=False)
    parts = train(TrainConfig(steps=512, **config), tmp_path / "parts", resume=True, progress=False)
    assert parts["summary"] == whole["summary"]
    with open(tmp_path / "whole" / "training.csv") as handle:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(handle)]
    assert len(rates) == 2 and max(rates) < 3e-4
    with pytest.raises(ValueError, match="adaptive_kl must be a positive number"):
        TrainConfig(adaptive_kl=0.0)


def test_value_normalisation_scales_the_critics_targets_and_resumes_exactly(tmp_path):
    model = ActorCritic(5, 3, TrainConfig(hidden=(8,), value_normalization=True))
    model.returns.update(torch.tensor([[10.0], [20.0], [30.0], [40.0]]))
    mean, std = 25.0, math.sqrt(125.0)  # the returns' moments (the prior's weight is 1e-4)
    observation = torch.randn(4, 5)
    raw = model.critic(model.norm(observation)).squeeze(-1)
    torch.testing.assert_close(model.value(observation), raw * std + mean, rtol=1e-4, atol=1e-4)
    # the loss is taken in the scaled units: zero where the critic's output is the scaled return
    returns = raw.detach() * std + mean
    assert model.value_loss(observation, returns).abs().max() < 1e-6
    plain = ActorCritic(5, 3, TrainConfig(hidden=(8,)))
    assert plain.returns is None
    assert torch.equal(
        plain.value_loss(observation, returns), 0.5 * (plain.value(observation) - returns) ** 2
    )

    config = dict(SMALL, value_normalization=True)
    whole = train(TrainConfig(steps=512, **config), tmp_path / "whole", progress=False)
    train(TrainConfig(steps=256, **config), tmp_path / "parts", progress=False)
    parts = train(TrainConfig(steps=512, **config), tmp_path / "parts", resume=True, progress=False)
    _assert_same_run(tmp_path, whole, parts)
    state = load_checkpoint(tmp_path / "whole" / "checkpoint.pt")
    assert float(state["model"]["returns.count"]) == pytest.approx(512, abs=1e-3)
    with pytest.raises(CheckpointError, match="config.value_normalization"):
        train(TrainConfig(steps=768, **SMALL), tmp_path / "parts", resume=True, progress=False)
