"""Action interfaces and training termination rules: the servo's muscle model agrees with
MuJoCo's, the servo holds what it is told, every interface passes Gymnasium's checker, and
bad names are refused with the known ones listed."""

from __future__ import annotations

import copy

import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import morphologies
from benchmark import interfaces, kernels
from benchmark.agents import OnnxAgent, action_interface
from benchmark.env import ImitationEnv


@pytest.mark.parametrize("body", ["human_legs_80", "ostrich"])
def test_muscle_gain_and_bias_are_mujocos(body):
    model = morphologies.get(body).model()
    for i in range(model.nu):
        low, high = model.actuator_lengthrange[i]
        acc0 = model.actuator_acc0[i]
        gainprm, biasprm = model.actuator_gainprm[i, :9], model.actuator_biasprm[i, :9]
        # beyond both ends of the range, and velocities past either limit of the curve
        for length in np.linspace(low - 0.4 * (high - low), high + 0.4 * (high - low), 23):
            for velocity in np.linspace(-4.0, 4.0, 9):
                expected = mujoco.mju_muscleGain(
                    length, velocity, model.actuator_lengthrange[i], acc0, gainprm
                )
                got = kernels.muscle_gain(length, velocity, low, high, acc0, gainprm)
                assert got == pytest.approx(expected, rel=1e-12, abs=1e-9)
            expected = mujoco.mju_muscleBias(length, model.actuator_lengthrange[i], acc0, biasprm)
            got = kernels.muscle_bias(length, low, high, acc0, biasprm)
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_the_servos_excitation_makes_the_force_it_asked_for():
    """At full activation, MuJoCo's muscle force from the servo's excitation is the PD force
    wherever that force lies between the passive force and the muscle's reach."""
    model = morphologies.get("human_legs_80").model()
    servo = interfaces.MuscleLengthServo(model, substeps=1)
    data = mujoco.MjData(model)
    data.qpos[:] = model.key_qpos[0] if model.nkey else data.qpos
    data.qvel[:] = np.random.default_rng(0).normal(0.0, 0.3, model.nv)
    mujoco.mj_step1(model, data)
    servo.targets[:] = servo.low + np.random.default_rng(1).uniform(0, 1, model.nu) * servo.span
    excitation, total = np.zeros(model.nu), np.zeros(model.nu)
    kernels.servo(
        servo.targets,
        data.actuator_length,
        data.actuator_velocity,
        servo.lengthrange,
        servo.acc0,
        servo.gainprm,
        servo.biasprm,
        servo.kp,
        servo.kd,
        servo.peak,
        excitation,
        total,
    )
    checked = 0
    for i in range(model.nu):
        length, velocity = data.actuator_length[i], data.actuator_velocity[i]
        args = (model.actuator_lengthrange[i], model.actuator_acc0[i])
        gain = mujoco.mju_muscleGain(length, velocity, *args, model.actuator_gainprm[i, :9])
        bias = mujoco.mju_muscleBias(length, *args, model.actuator_biasprm[i, :9])
        wanted = servo.kp[i] * (servo.targets[i] - length) - servo.kd[i] * velocity
        wanted = min(max(wanted, -servo.peak[i]), 0.0)
        if 0.0 < excitation[i] < 1.0 and gain < -1.0:
            assert gain * excitation[i] + bias == pytest.approx(wanted, rel=1e-9, abs=1e-9)
            checked += 1
        elif excitation[i] == 0.0:
            assert wanted >= bias - 1e-9  # asks for less pull than the passive force
    assert checked > 10
    assert np.array_equal(total, excitation)


def test_the_servo_holds_a_commanded_length():
    """Weightless and in the air, the body takes the muscle lengths of another pose."""
    env = ImitationEnv("legs80-walk", action_interface="muscle_length")
    env.reset(seed=0, options={"clip": "walk_1.3", "start": 0})
    model = copy.deepcopy(env.model)  # the body's model is shared in the process
    model.opt.gravity[:] = 0.0
    data = mujoco.MjData(model)
    data.qpos[:] = env.clip.qpos[0]
    lengths = interfaces.reference_lengths(model, env.clip.qpos)
    farthest = int(np.argmax(np.abs(lengths - lengths[0]).mean(axis=1)))
    target = lengths[farthest]
    servo = interfaces.MuscleLengthServo(model, env.body.sim.substeps)
    action = 2.0 * (target - servo.low) / servo.span - 1.0
    reachable = np.abs(action) < 1.0
    data.qpos[2] += 1.0  # no floor contact
    mujoco.mj_forward(model, data)
    before = np.abs(data.actuator_length - target)[reachable].mean()
    for _ in range(30):  # one second
        servo.step(model, data, action)
    mujoco.mj_forward(model, data)
    after = np.abs(data.actuator_length - target)[reachable]
    # antagonists pull against each other and passive forces resist, so the lengths settle
    # near, not at, their targets; a servo of the wrong sign or gain moves them away
    assert after.mean() < 0.5 * before
    assert after.mean() < 0.01  # metres
    assert env.model.opt.gravity[2] < 0  # the shared model is untouched


def test_the_zero_residual_holds_the_reference_pose():
    env = ImitationEnv("legs80-walk", action_interface="reference_length")
    env.reset(seed=0, options={"start": 0})
    lengths = interfaces.reference_lengths(env.model, env.clip.qpos)
    data = mujoco.MjData(env.model)
    data.qpos[:] = env.clip.qpos[7]
    mujoco.mj_forward(env.model, data)
    np.testing.assert_allclose(lengths[7], data.actuator_length, atol=1e-12)
    servo = env._actuation
    servo.step(env.model, env.data, np.zeros(env.model.nu), lengths[1])
    np.testing.assert_allclose(servo.targets, lengths[1], atol=1e-12)


@pytest.mark.parametrize("interface", sorted(interfaces.INTERFACES))
@pytest.mark.parametrize("task", ["legs80-walk", "ostrich-run-real"])
def test_every_interface_passes_the_gymnasium_checker(task, interface):
    env = ImitationEnv(task, action_interface=interface, termination="any-keypoint")
    check_env(env, skip_render_check=True)
    with pytest.raises(ValueError, match="NaN"):
        env.reset(seed=0)
        env.step(np.full(env.action_space.shape, np.nan, np.float32))


def test_the_servo_reports_the_excitations_it_sent_for_the_energy_reward():
    excitation = ImitationEnv("legs80-walk")
    servo = ImitationEnv("legs80-walk", action_interface="muscle_length")
    for env in (excitation, servo):
        env.reset(seed=3, options={"start": 5})
    action = np.random.default_rng(0).uniform(-1, 1, 80).astype(np.float32)
    _, _, _, _, a = excitation.step(action)
    _, _, _, _, b = servo.step(action)
    sent = servo._actuation.excitation_sum / servo._actuation.substeps
    expected = np.exp(-0.05 * (sent.sum() + np.sqrt((sent**2).sum())))
    assert b["reward_terms"]["energy"] == pytest.approx(expected, rel=1e-12)
    assert a["reward_terms"]["energy"] != pytest.approx(expected)


def test_unknown_interfaces_and_termination_rules_list_the_known_ones():
    with pytest.raises(ValueError, match="excitation.*muscle_length.*reference_length"):
        ImitationEnv("legs80-walk", action_interface="torque")
    with pytest.raises(ValueError, match="mean-error, any-keypoint"):
        ImitationEnv("legs80-walk", termination="sometimes")
    with pytest.raises(ValueError, match="positive distance"):
        ImitationEnv("legs80-walk", termination="any-keypoint", termination_distance=-1)
    with pytest.raises(ValueError, match="protocol v1's rule"):
        ImitationEnv("legs80-walk", split="test", evaluation=True, termination="any-keypoint")

    class Declares:
        action_interface = "torque"

    with pytest.raises(ValueError, match="unknown action interface 'torque'"):
        action_interface(Declares())


def _run_until_end(env, action):
    env.reset(seed=2, options={"start": 10})
    while True:
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return terminated, info


def test_any_keypoint_ends_an_episode_where_the_mean_error_would_not():
    zero = np.full(80, -1.0, np.float32)
    strict = ImitationEnv("legs80-walk", termination="any-keypoint")
    terminated, info = _run_until_end(strict, zero)
    assert terminated
    errors = info["keypoint_errors"]
    assert errors.max() > 0.15 and info["mpjpe"] < 0.5
    assert info["ended_by"] == int(np.argmax(errors))
    assert info["episode_steps"] == info["frame"] - 10
    loose = ImitationEnv("legs80-walk")
    terminated, later = _run_until_end(loose, zero)
    assert terminated and later["mpjpe"] > 0.5
    assert later["episode_steps"] > info["episode_steps"]
    farther = ImitationEnv("legs80-walk", termination="any-keypoint", termination_distance=0.3)
    _, wider = _run_until_end(farther, zero)
    assert info["episode_steps"] < wider["episode_steps"]
    assert wider["keypoint_errors"].max() > 0.3


def test_a_policy_file_declares_its_interface(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["observation"], ["action"])],
        "identity",
        [helper.make_tensor_value_info("observation", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph)
    onnx.save(model, tmp_path / "plain.onnx")
    assert OnnxAgent(tmp_path / "plain.onnx").action_interface == "excitation"
    helper.set_model_props(model, {"action_interface": "muscle_length"})
    onnx.save(model, tmp_path / "servo.onnx")
    assert OnnxAgent(tmp_path / "servo.onnx").action_interface == "muscle_length"
    helper.set_model_props(model, {"action_interface": "torque"})
    onnx.save(model, tmp_path / "bad.onnx")
    with pytest.raises(LookupError, match="bad.onnx: metadata 'action_interface'"):
        OnnxAgent(tmp_path / "bad.onnx")


# -- joint_target ------------------------------------------------------------------------------
def _joint_target(task: str) -> tuple[ImitationEnv, interfaces.JointTarget]:
    env = ImitationEnv(task, action_interface="joint_target")
    env.reset(seed=0, options={"start": 5})
    return env, env._actuation


@pytest.mark.parametrize("task", ["legs80-walk", "ostrich-run-real"])
def test_the_joint_torque_model_is_mujocos(task):
    """matrix @ a + offset, through the knee's coupled dofs, is the joint torque MuJoCo
    applies at activations a."""
    env, jt = _joint_target(task)
    model, data = env.model, env.data
    data.act[:] = np.random.default_rng(0).uniform(0, 1, model.nu)
    mujoco.mj_forward(model, data)
    jt.update_coupling(data.qpos)
    matrix, offset = kernels.muscle_joint_torques(
        jt.coupling,
        data.moment_rownnz,
        data.moment_rowadr,
        data.moment_colind,
        data.actuator_moment,
        data.actuator_length,
        data.actuator_velocity,
        jt.lengthrange,
        jt.acc0,
        jt.gainprm,
        jt.biasprm,
    )
    expected = jt.coupling.T @ data.qfrc_actuator
    np.testing.assert_allclose(matrix @ data.act + offset, expected, rtol=1e-9, atol=1e-9)
    assert np.abs(expected).max() > 10.0  # newton-metres: a real load, not zeros


def test_the_knees_coupled_dofs_move_as_the_coupling_says():
    """The clips' poses keep MyoLeg's knee equalities (the knee's translations and patella
    as polynomials of the knee angle): from frame to frame, those dofs move by the coupling
    times the joints' own change."""
    env, jt = _joint_target("legs80-walk")
    assert len(jt.coupled_dof) == 14  # 7 per knee
    model, qpos = env.model, env.clip.qpos
    coupled_qadr = model.jnt_qposadr[model.dof_jntid[jt.coupled_dof]]
    largest, worst = 0.0, 0.0
    for t in range(len(qpos) - 1):
        jt.update_coupling((qpos[t] + qpos[t + 1]) / 2)
        predicted = (jt.coupling @ (qpos[t + 1, jt.qadr] - qpos[t, jt.qadr]))[jt.coupled_dof]
        moved = qpos[t + 1, coupled_qadr] - qpos[t, coupled_qadr]
        largest = max(largest, np.abs(moved).max())
        worst = max(worst, np.abs(predicted - moved).max())
    assert largest > 0.1  # the patella turns by a tenth of a radian in a frame
    assert worst < 0.02 * largest


@pytest.mark.parametrize("seed", range(4))
def test_bounded_least_squares_reaches_scipys_optimum(seed):
    from scipy.optimize import lsq_linear

    rng = np.random.default_rng(seed)
    matrix = rng.normal(0, 50, (14, 80)) * (rng.uniform(size=(14, 80)) < 0.3)
    target = rng.normal(0, 100, 14)
    lower = rng.uniform(0, 0.3, 80)
    upper = lower + rng.uniform(0.05, 0.7, 80)
    lam = 0.1**2 * np.sum(matrix**2) / 80
    x = rng.uniform(0, 1, 80)
    kernels.bounded_least_squares(matrix, target, lam, lower, upper, x, 2000)
    stacked = np.vstack([matrix, np.sqrt(lam) * np.eye(80)])
    best = lsq_linear(stacked, np.concatenate([target, np.zeros(80)]), (lower, upper)).x

    def cost(v):
        return np.sum((matrix @ v - target) ** 2) + lam * np.sum(v**2)

    assert np.all((x >= lower) & (x <= upper))
    assert cost(x) == pytest.approx(cost(best), rel=1e-6)


def test_the_excitation_reaches_the_wanted_activation_in_one_substep():
    """Against MuJoCo's muscle dynamics: from any activation, an excitation that reaches a
    wanted activation inside one substep's reach reaches it."""
    env, jt = _joint_target("legs80-walk")
    model, data = env.model, env.data
    rng = np.random.default_rng(1)
    data.act[:] = rng.uniform(0, 1, model.nu)
    lower, upper = np.empty(model.nu), np.empty(model.nu)
    kernels.activation_reach(data.act, jt.dynprm, jt.timestep, lower, upper)
    assert np.all(lower <= data.act) and np.all(data.act <= upper)
    wanted = lower + rng.uniform(0, 1, model.nu) * (upper - lower)
    excitation, total = np.zeros(model.nu), np.zeros(model.nu)
    kernels.excitation_to_reach(data.act, wanted, jt.dynprm, jt.timestep, excitation, total)
    assert np.all((excitation >= 0) & (excitation <= 1))
    data.ctrl[:] = excitation
    mujoco.mj_step(model, data)
    np.testing.assert_allclose(data.act, wanted, atol=1e-9)


def test_the_joint_servo_holds_a_commanded_pose():
    """Weightless and in the air, the legs take the joint angles they are told: the
    reference pose of another frame, plus an offset."""
    env, jt = _joint_target("legs80-walk")
    model = copy.deepcopy(env.model)
    model.opt.gravity[:] = 0.0
    data = mujoco.MjData(model)
    data.qpos[:] = env.clip.qpos[0]
    data.qpos[2] += 1.0  # no floor contact
    mujoco.mj_forward(model, data)
    poses = jt.references(model, env.clip.qpos, np.zeros_like(env.clip.qvel))
    angles = poses[:, : jt.action_size]
    reference = poses[int(np.argmax(np.abs(angles - angles[0]).mean(axis=1)))]
    action = np.zeros(jt.action_size)
    hip = list(env.body.joints).index("hip_flexion_r")
    action[hip] = 0.4  # 0.2 rad more hip flexion than the reference
    wanted = reference[: jt.action_size] + interfaces.JOINT_RESIDUAL_RAD * action
    before = np.abs(data.qpos[jt.qadr] - wanted)
    for _ in range(30):  # one second
        jt.step(model, data, action, reference)
    after = np.abs(data.qpos[jt.qadr] - wanted)
    assert before.mean() > 0.1
    assert after.mean() < 0.25 * before.mean()
    assert after[hip] < 0.05
    np.testing.assert_allclose(jt.targets, wanted, atol=1e-12)


def test_the_joint_targets_act_on_the_tracked_frame_and_are_one_per_joint():
    env, jt = _joint_target("legs80-walk")
    assert env.action_space.shape == (len(env.body.joints),)
    env.step(np.zeros(env.action_space.shape, np.float32))
    np.testing.assert_allclose(jt.targets, env.clip.qpos[env.frame][jt.qadr], atol=1e-12)
    with pytest.raises(ValueError, match=r"shape \(14,\)"):
        env.step(np.zeros(80, np.float32))


def test_the_tilt_rule_ends_a_training_episode_when_the_root_tips_over():
    """The zero excitation tips the body over before any keypoint is 0.5 m off: with the
    tilt rule the episode ends there, named as the tilt's (one past the keypoints)."""
    zero = np.full(80, -1.0, np.float32)
    loose = ImitationEnv("legs80-walk")
    _, later = _run_until_end(loose, zero)
    tilted = ImitationEnv("legs80-walk", termination_tilt=0.3)
    terminated, info = _run_until_end(tilted, zero)
    assert terminated and info["mpjpe"] < 0.5
    assert info["episode_steps"] < later["episode_steps"]
    assert info["ended_by"] == len(tilted.tracked)
    assert np.exp(-3 * 0.3**2) > info["reward_terms"]["upright"]  # tilted past 0.3 rad
    with pytest.raises(ValueError, match="protocol v1's rule"):
        ImitationEnv("legs80-walk", split="test", evaluation=True, termination_tilt=0.3)
    with pytest.raises(ValueError, match=r"termination_tilt must be an angle in \(0, pi\)"):
        ImitationEnv("legs80-walk", termination_tilt=-0.1)


def test_the_pose_reward_mixes_deepmimics_pose_term_into_the_training_reward():
    """At the reference pose the pose term is 1; off it, exp(-2 (root angle^2 + joint
    errors^2)), and the reward is (1 - w) the protocol's + w the pose term."""
    plain = ImitationEnv("legs80-walk")
    posed = ImitationEnv("legs80-walk", pose_reward=0.4)
    action = np.full(80, -0.6, np.float32)
    for env in (plain, posed):
        env.reset(seed=3)
    for _ in range(8):
        _, reward, _, _, info = plain.step(action)
        _, mixed, _, _, posed_info = posed.step(action)
    pose = posed_info["reward_terms"].pop("pose")
    assert posed_info["reward_terms"] == info["reward_terms"]  # same steps, same terms
    assert mixed == pytest.approx(0.6 * reward + 0.4 * pose, rel=1e-12)
    # the pose error by hand: the root's angle from the reference root, the joints' errors
    reference, qpos = posed.clip.qpos[posed.frame], posed.data.qpos
    relative, at = np.empty(4), posed._root_quat
    mujoco.mju_mulQuat(relative, reference[at : at + 4] * [1, -1, -1, -1], qpos[at : at + 4])
    angle = 2 * np.arccos(min(1.0, abs(relative[0])))
    joints = qpos[posed._joint_adr] - reference[posed._joint_adr]
    assert pose == pytest.approx(np.exp(-2 * (angle**2 + joints @ joints)), rel=1e-9)
    assert 0 < pose < 0.99
    posed.reset(seed=3)
    posed.data.qpos[:] = posed.clip.qpos[posed.frame]
    assert posed._pose_error_sq(posed.clip.qpos[posed.frame]) < 1e-6
    with pytest.raises(ValueError, match="protocol v1's terms only"):
        ImitationEnv("legs80-walk", split="test", evaluation=True, pose_reward=0.5)
    with pytest.raises(ValueError, match=r"pose_reward must be a weight in \[0, 1\)"):
        ImitationEnv("legs80-walk", pose_reward=1.0)


def test_the_training_assist_turns_the_root_back_toward_the_reference():
    """Tilted off its reference, the root gets a torque about the tilt's axis that undoes it,
    K = 0.5 m g h per radian; a zero scale, and evaluation, put no force on the body."""
    env = ImitationEnv("legs80-walk", split="test", action_interface="joint_target", assist=1.0)
    env.reset(options={"clip": "walk_1", "start": 10})
    at = env._root_quat
    tilt = np.array([np.cos(0.05), np.sin(0.05), 0.0, 0.0])  # 0.1 rad about the world x axis
    turned = np.empty(4)
    mujoco.mju_mulQuat(turned, tilt, env.data.qpos[at : at + 4])
    env.data.qpos[at : at + 4] = turned
    env.data.qvel[:] = env.clip.qvel[11]
    mujoco.mj_forward(env.model, env.data)
    torque = env._assist_torque(11)
    measures = env.body.measures
    stiffness = 0.5 * measures.total_mass * 9.81 * measures.hip_height
    assert torque[0] == pytest.approx(-0.1 * stiffness, rel=0.02)
    assert np.abs(torque[1:]).max() < 0.02 * abs(torque[0])
    # the step applies it; a zero scale takes it off again
    env.step(np.zeros(env.action_space.shape))
    assert np.abs(env.data.xfrc_applied[env._root_body, 3:]).max() > 0
    env.assist = 0.0
    assert not env.data.xfrc_applied.any()
    with pytest.raises(ValueError, match="no outside force"):
        ImitationEnv("legs80-walk", split="test", evaluation=True, assist=0.5)
    with pytest.raises(ValueError, match=r"assist must be a scale in \[0, 1\]"):
        env.assist = 1.5
