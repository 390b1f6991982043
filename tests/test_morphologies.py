"""The human morphologies: counts, determinism, stability, keypoints, frame, muscle readings."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import morphologies
from morphologies import FrameConvention, Keypoint, Morphology, SimSettings

EXPECTED_MUSCLES = {
    "human_legs_80": 80,
    "human_legs_abs_86": 86,
    "human_legs_back_290": 290,
    "human_fullbody_416": 416,
}
HUMANS = list(EXPECTED_MUSCLES)


def standing_data(body: Morphology) -> mujoco.MjData:
    model = body.model()
    data = mujoco.MjData(model)
    data.qpos[:] = body.standing_qpos()
    mujoco.mj_forward(model, data)
    return data


def test_registry_lists_the_human_bodies():
    assert set(HUMANS) <= set(morphologies.names())


@pytest.mark.parametrize("name", HUMANS)
def test_muscle_count_is_exact(name):
    body = morphologies.get(name)
    assert body.num_muscles == EXPECTED_MUSCLES[name]
    assert len(body.muscles) == EXPECTED_MUSCLES[name]
    assert len(set(body.muscles)) == EXPECTED_MUSCLES[name]


@pytest.mark.parametrize("name", HUMANS)
def test_build_is_deterministic(name):
    body = morphologies.get(name)
    first = morphologies.model_hash(body.build_model())
    second = morphologies.model_hash(body.build_model())
    assert first == second == body.model_hash
    assert len(body.model_hash) == 64


def test_hashes_differ_between_bodies():
    hashes = {morphologies.get(name).model_hash for name in HUMANS}
    assert len(hashes) == len(HUMANS)


def test_legs_back_is_one_free_body_with_legs_under_the_trunk():
    body = morphologies.get("human_legs_back_290")
    model = body.model()
    free = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
    assert [model.joint(j).name for j in free] == ["root"]
    pelvis = model.body("pelvis").id
    lumbar = model.body("lumbar5").id
    root_body = model.jnt_bodyid[free[0]]
    # legs and lumbar spine both hang from the free root body
    assert model.body_rootid[pelvis] == model.body_rootid[lumbar] == root_body
    # MyoBack's lumbar joints are kept (they are passive in myolegs)
    assert {"flex_extension", "lat_bending", "axial_rotation"} <= set(body.joints)
    assert model.nq == 53  # 35 of MyoLeg + 18 of MyoBack, as Kinesis's legs_back


@pytest.mark.slow
@pytest.mark.parametrize("name", HUMANS)
def test_standing_with_zero_excitation_simulates_one_second(name):
    body = morphologies.get(name)
    model = body.model()
    data = standing_data(body)
    pelvis = body.keypoint_index().row("pelvis")
    start = body.keypoint_positions(data)[pelvis].copy()
    horizontal = ~np.isclose(body.frame.up_vector, 1.0)
    steps = round(1.0 / model.opt.timestep)
    for step in range(steps):
        data.ctrl[:] = 0.0
        mujoco.mj_step(model, data)
        if (step + 1) * model.opt.timestep <= 0.2 + 1e-9:
            moved = body.keypoint_positions(data)[pelvis] - start
            assert np.linalg.norm(moved[horizontal]) < 0.2, f"pelvis left its start at step {step}"
    assert np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()
    warnings = {mujoco.mjtWarning(i).name: data.warning[i].number for i in range(len(data.warning))}
    assert not any(warnings.values()), warnings


@pytest.mark.parametrize("name", HUMANS)
def test_standing_pose_has_feet_on_the_floor(name):
    body = morphologies.get(name)
    model = body.model()
    data = standing_data(body)
    floor_contacts = [
        c
        for c in data.contact[: data.ncon]
        if model.geom_bodyid[c.geom1] == 0 or model.geom_bodyid[c.geom2] == 0
    ]
    assert len(floor_contacts) >= 4  # heels and forefeet of both feet
    assert min(c.dist for c in floor_contacts) > -1e-3  # no penetration beyond 1 mm


@pytest.mark.parametrize("name", HUMANS)
def test_every_keypoint_resolves_and_tracked_is_a_subset(name):
    body = morphologies.get(name)
    model = body.model()
    for kp in body.keypoints:
        obj = mujoco.mjtObj.mjOBJ_SITE if kp.element == "site" else mujoco.mjtObj.mjOBJ_BODY
        assert mujoco.mj_name2id(model, obj, kp.target) >= 0, kp
    names = {kp.name for kp in body.keypoints}
    assert set(body.tracked_keypoints) <= names
    assert set(names) <= set(morphologies.CANONICAL_KEYPOINTS)
    positions = body.keypoint_positions(standing_data(body))
    assert positions.shape == (len(body.keypoints), 3) and np.isfinite(positions).all()


def test_tracked_keypoints_follow_the_protocol():
    legs = morphologies.get("human_legs_80").tracked_keypoints
    assert legs == ("pelvis", "r_knee", "l_knee", "r_ankle", "l_ankle", "r_toe", "l_toe")
    for name in ("human_legs_abs_86", "human_legs_back_290", "human_fullbody_416"):
        assert morphologies.get(name).tracked_keypoints == (*legs, "head")


@pytest.mark.parametrize("name", HUMANS)
def test_frame_convention_puts_toes_ahead_of_heels_and_left_on_the_left(name):
    body = morphologies.get(name)
    data = standing_data(body)
    kp = dict(zip([k.name for k in body.keypoints], body.keypoint_positions(data), strict=True))
    forward, left, up = body.frame.forward_vector, body.frame.left_vector, body.frame.up_vector
    for side in ("r", "l"):
        assert (kp[f"{side}_toe"] - kp[f"{side}_heel"]) @ forward > 0.1  # a foot's length ahead
    assert (kp["l_hip"] - kp["r_hip"]) @ left > 0.1
    assert (kp["head"] - kp["pelvis"]) @ up > 0.4
    # Moving the root along the declared forward axis moves every keypoint that way.
    model = body.model()
    qpos = body.standing_qpos()
    qpos[model.jnt_qposadr[model.joint(body.root_joint).id] + np.arange(3)] += 0.3 * forward
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    moved = body.keypoint_positions(data)
    assert np.allclose((moved - np.stack(list(kp.values()))) @ forward, 0.3)


@pytest.mark.parametrize("name", HUMANS)
def test_size_and_simulation_settings(name):
    body = morphologies.get(name)
    size = body.measures
    assert 0.8 < size.hip_height < 1.0
    assert abs(size.leg_length - size.hip_height) < 0.05  # standing straight
    assert abs(size.total_mass - float(np.sum(body.model().body_mass))) < 1e-9
    assert 70.0 < size.total_mass < 90.0
    assert body.model().opt.timestep == pytest.approx(1.0 / 150.0)
    assert body.sim.substeps == 5 and body.sim.control_hz == pytest.approx(30.0)


def test_muscle_readings_report_length_velocity_force_and_activation():
    body = morphologies.get("human_legs_80")
    model = body.model()
    data = standing_data(body)
    readings = body.muscle_readings(data)
    for array in (readings.length, readings.velocity, readings.force, readings.activation):
        assert array.shape == (model.nu,)
    assert np.array_equal(readings.length, data.actuator_length)
    assert not readings.activation.any()

    excited = model.actuator("soleus_r").id
    for _ in range(body.sim.substeps * 3):
        data.ctrl[:] = 0.0
        data.ctrl[excited] = 1.0
        mujoco.mj_step(model, data)
    readings = body.muscle_readings(data)
    assert readings.activation[excited] > 0.5
    assert np.count_nonzero(readings.activation) == 1
    assert readings.force[excited] < -100.0  # muscles pull: MuJoCo reports negative force
    assert np.array_equal(readings.force, data.actuator_force)
    assert np.array_equal(readings.velocity, data.actuator_velocity)
    readings.length[:] = 0.0  # a copy: the simulation is untouched
    assert data.actuator_length.any()


def test_unknown_morphology_lists_the_known_names():
    with pytest.raises(morphologies.UnknownMorphologyError) as error:
        morphologies.get("human_legs_81")
    message = str(error.value)
    assert "human_legs_81" in message
    for name in HUMANS:
        assert name in message


def test_records_reject_inconsistent_definitions():
    body = morphologies.get("human_legs_80")
    with pytest.raises(ValueError, match="not canonical"):
        Keypoint("left_hip", "body", "femur_l")
    with pytest.raises(ValueError, match="element"):
        Keypoint("l_hip", "joint", "hip_flexion_l")
    with pytest.raises(ValueError, match="orthogonal"):
        FrameConvention(forward="+z", up="+z")
    with pytest.raises(ValueError, match="expected one of"):
        FrameConvention(forward="north")
    with pytest.raises(ValueError, match="tracked keypoints"):
        Morphology(
            name="broken",
            description="",
            provenance="",
            build_spec=body.build_spec,
            keypoints=body.keypoints[:3],
            tracked_keypoints=("head",),
            frame=body.frame,
            sim=SimSettings(timestep=0.005, substeps=4),
        )


def test_a_keypoint_on_a_missing_body_is_reported_by_name():
    body = morphologies.get("human_legs_80")
    broken = Morphology(
        name="broken_legs",
        description="",
        provenance="",
        build_spec=body.build_spec,
        keypoints=(Keypoint("pelvis", "body", "no_such_body"),),
        tracked_keypoints=("pelvis",),
        frame=body.frame,
        sim=body.sim,
    )
    with pytest.raises(ValueError, match="no body named 'no_such_body'"):
        broken.keypoint_index()


def test_register_refuses_a_duplicate_name():
    with pytest.raises(ValueError, match="already registered"):
        morphologies.register(morphologies.get("human_legs_80"))


@pytest.mark.parametrize("name", HUMANS)
def test_the_floor_is_one_plane_at_zero(name):
    # myo-sim's default scene has a 1.05 m pedestal over a floor 0.4 m lower (see human.py)
    model = morphologies.get(name).model()
    world = [g for g in range(model.ngeom) if model.geom_bodyid[g] == 0]
    assert len(world) == 1
    assert model.geom_type[world[0]] == mujoco.mjtGeom.mjGEOM_PLANE
    assert model.geom_pos[world[0]][2] == 0.0


@pytest.mark.parametrize("name", ["human_legs_80", "human_legs_back_290"])
def test_feet_are_the_colliding_geoms_below_each_ankle(name):
    from morphologies.contacts import floor_geom, foot_geoms

    body = morphologies.get(name)
    model = body.model()
    feet = foot_geoms(body)
    assert set(feet) == {"r", "l"}
    for side, geoms in feet.items():
        bodies = {model.body(model.geom_bodyid[g]).name for g in geoms}
        assert bodies == {f"calcn_{side}", f"toes_{side}"}
    assert model.geom_type[floor_geom(model)] == mujoco.mjtGeom.mjGEOM_PLANE
