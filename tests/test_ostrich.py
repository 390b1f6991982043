"""The musculoskeletal ostrich: anatomy against the reference, muscle actions, stability."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import morphologies
from morphologies.contacts import floor_distances, floor_geom, foot_geoms
from morphologies.ostrich import LEG_SEGMENTS

# The 34 pelvic-limb muscles per side (OstrichRL's list: Hutchinson et al. 2015's 35 less
# FCLA) with their peak forces (N) and the primary sagittal action each must have at the
# standing pose. Written out here, not read from the parameter file, so that the test checks
# the model against the literature rather than against itself.
MUSCLES = {
    "ic": (1389, "hip", "flexor"),
    "ila": (1765, "hip", "flexor"),
    "ilp": (1765, "hip", "extensor"),
    "fmtl": (1935, "knee", "extensor"),
    "fmtim": (2207, "knee", "extensor"),
    "fmtm": (1589, "knee", "extensor"),
    "amb1": (1472, "hip", "flexor"),
    "amb2": (2293, "hip", "flexor"),
    "ilfba": (1754, "knee", "flexor"),
    "ilfbp": (1754, "knee", "flexor"),
    "ife": (979, "hip", "flexor"),
    "itca": (1397, "hip", "flexor"),
    "itcp": (1397, "hip", "flexor"),
    "itcr": (830, "hip", "flexor"),
    "itm": (681, "hip", "flexor"),
    "ifi": (911, "hip", "flexor"),
    "fclp": (1044, "hip", "extensor"),
    "fcm": (1609, "hip", "extensor"),
    "pifml": (1316, "hip", "extensor"),
    "om": (3624, "hip", "extensor"),
    "isf": (919, "hip", "extensor"),
    "cfp": (1625, "hip", "extensor"),
    "gl": (2336, "ankle", "extensor"),
    "gim": (1298, "ankle", "extensor"),
    "gm": (3624, "ankle", "extensor"),
    "edl": (5333, "mtp", "extensor"),
    "tcf": (5186, "ankle", "flexor"),
    "tct": (5186, "ankle", "flexor"),
    "fdl": (1631, "mtp", "flexor"),
    "fhl": (969, "mtp", "flexor"),
    "fp_pd3": (1654, "mtp", "flexor"),
    "fpd3": (3711, "mtp", "flexor"),
    "fpd4": (1935, "mtp", "flexor"),
    "fl": (2771, "ankle", "extensor"),
}
# Each sagittal joint and the sign of the angle that flexes it: the femur swings forward for
# a negative hip angle, the knee bends for a positive one, the tarsometatarsus swings forward
# (intertarsal flexion) for a negative one, the toes curl toward the sole for a positive one.
JOINTS = {
    "hip": ("hip_y", -1),
    "knee": ("knee_y", 1),
    "ankle": ("ankle_y", -1),
    "mtp": ("mtp_y", 1),
}
SEGMENT_LENGTHS = {"femur": 0.240, "tibiotarsus": 0.442, "tarsometatarsus": 0.426}
DISTAL = {"femur": "tibiotarsus", "tibiotarsus": "tarsometatarsus", "tarsometatarsus": "toes"}


@pytest.fixture(scope="module")
def ostrich():
    return morphologies.get("ostrich")


@pytest.fixture(scope="module")
def standing(ostrich):
    model = ostrich.model()
    data = mujoco.MjData(model)
    data.qpos[:] = ostrich.standing_qpos()
    mujoco.mj_forward(model, data)
    return model, data


def test_leg_muscles_are_the_published_list_with_their_peak_forces(ostrich):
    model = ostrich.model()
    leg = [m for m in ostrich.muscles if not m.startswith(("neck", "head"))]
    assert len(leg) == 68
    assert sorted(leg) == sorted(f"{s}_{name}" for s in ("r", "l") for name in MUSCLES)
    for side in ("r", "l"):
        for name, (force, _, _) in MUSCLES.items():
            actuator = model.actuator(f"{side}_{name}")
            assert model.actuator_gainprm[actuator.id, 2] == force  # MuJoCo's muscle force
            assert model.actuator_trntype[actuator.id] == mujoco.mjtTrn.mjTRN_TENDON
    neck = [m for m in ostrich.muscles if m.startswith(("neck", "head"))]
    assert len(neck) == 20  # four per joint of the simplified neck (see morphologies/ostrich.py)
    assert ostrich.num_muscles == model.nu == 88


def test_mass_is_the_published_total(ostrich):
    assert abs(ostrich.measures.total_mass - 78.6) / 78.6 < 0.03


def test_leg_segment_lengths_match_the_reference(standing):
    model, data = standing
    for side in ("r", "l"):
        for segment in LEG_SEGMENTS:
            proximal = data.xpos[model.body(f"{side}_{segment}").id]
            distal = data.xpos[model.body(f"{side}_{DISTAL[segment]}").id]
            length = np.linalg.norm(distal - proximal)
            assert abs(length - SEGMENT_LENGTHS[segment]) < 0.01, (side, segment, length)


def _moment_arm(model, qpos, tendon: str, joint: str) -> float:
    """Torque about the joint per newton of tendon tension: -d(length)/d(angle)."""
    data = mujoco.MjData(model)
    address = model.jnt_qposadr[model.joint(joint).id]
    lengths = []
    for step in (-1e-5, 1e-5):
        data.qpos[:] = qpos
        data.qpos[address] += step
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        mujoco.mj_tendon(model, data)
        lengths.append(data.ten_length[model.tendon(tendon).id])
    return -(lengths[1] - lengths[0]) / 2e-5


@pytest.mark.parametrize("side", ["r", "l"])
@pytest.mark.parametrize("muscle", sorted(MUSCLES))
def test_each_leg_muscle_has_its_published_action_at_the_standing_pose(ostrich, muscle, side):
    _, joint, action = MUSCLES[muscle]
    joint_name, flexion = JOINTS[joint]
    arm = _moment_arm(
        ostrich.model(), ostrich.standing_qpos(), f"{side}_{muscle}", f"{side}_{joint_name}"
    )
    assert abs(arm) > 0.005, f"{side}_{muscle}: moment arm {arm * 1000:.1f} mm about {joint}"
    assert (np.sign(arm) == flexion) == (action == "flexor"), (
        f"{side}_{muscle} should be a {joint} {action}; moment arm {arm * 1000:+.1f} mm"
    )


def test_standing_pose_is_a_crouched_digitigrade_stance_on_the_floor(ostrich, standing):
    model, data = standing
    points = dict(
        zip([k.name for k in ostrich.keypoints], ostrich.keypoint_positions(data), strict=True)
    )
    straight = sum(SEGMENT_LENGTHS.values())
    for side in ("r", "l"):
        hip, knee, ankle, mtp, toe = (
            points[f"{side}_{n}"] for n in ("hip", "knee", "ankle", "mtp", "toe")
        )
        assert hip[2] - mtp[2] < 0.95 * straight  # crouched: hip to MTP well short of the leg
        assert knee[0] > hip[0] and ankle[0] < knee[0] and mtp[0] > ankle[0]  # the zig-zag
        assert ankle[2] > 0.3  # on its toes: the intertarsal joint high over the floor
        assert mtp[2] < 0.06 and toe[0] > mtp[0] + 0.1  # MTP pad down, toes forward
    feet = [g for geoms in foot_geoms(ostrich).values() for g in geoms]
    distances = floor_distances(model, data, feet, floor_geom(model))
    assert distances.min() > -1e-3 and distances.min() < 2e-3  # touching, not sinking
    assert abs(points["l_hip"][1] - points["r_hip"][1]) > 0.05  # left is +y


def test_toe_ground_height_matches_the_standing_toe(ostrich, standing):
    from retargeting.sources.ostrich import TOE_GROUND_HEIGHT

    _, data = standing
    toes = ostrich.keypoint_positions(data, ("r_toe", "l_toe"))
    np.testing.assert_allclose(toes[:, 2], TOE_GROUND_HEIGHT, atol=0.003)


def test_keypoints_and_the_tracked_set_follow_the_protocol(ostrich):
    names = {k.name for k in ostrich.keypoints}
    assert {"pelvis", "neck_base", "head"} | {
        f"{s}_{n}" for s in ("r", "l") for n in ("hip", "knee", "ankle", "mtp", "toe")
    } == names
    assert ostrich.tracked_keypoints == (
        "pelvis", "r_knee", "l_knee", "r_ankle", "l_ankle", "r_mtp", "l_mtp", "r_toe", "l_toe",
    )  # fmt: skip
    assert ostrich.species == "ostrich"


def test_size_fields_scale_the_thresholds(ostrich, standing):
    from benchmark import protocol

    _, data = standing
    size = ostrich.measures
    assert 0.9 < size.hip_height < 1.19  # crouched, under the straight-leg 1.186 m
    mtp_height = ostrich.keypoint_positions(data, ("r_mtp",))[0, 2]
    assert size.leg_length == pytest.approx(sum(SEGMENT_LENGTHS.values()) + mtp_height, abs=0.005)
    assert protocol.size_scale(ostrich) == pytest.approx(size.hip_height / 0.867, rel=0.01)


def test_build_is_deterministic(ostrich):
    assert morphologies.model_hash(ostrich.build_model()) == ostrich.model_hash


def test_length_ranges_hold_every_pose_of_the_joint_ranges(ostrich, standing):
    model, data = standing
    low, high = model.actuator_lengthrange.T
    assert (high > low).all()
    assert ((data.actuator_length >= low) & (data.actuator_length <= high)).all()


def test_zero_excitation_from_standing_simulates_one_second_stably(ostrich):
    model = ostrich.model()
    data = mujoco.MjData(model)
    data.qpos[:] = ostrich.standing_qpos()
    steps = round(1.0 / model.opt.timestep)
    for _ in range(steps):
        data.ctrl[:] = 0.0
        mujoco.mj_step(model, data)
    assert np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()
    warnings = {mujoco.mjtWarning(i).name: data.warning[i].number for i in range(len(data.warning))}
    assert not any(warnings.values()), warnings
    assert np.abs(data.qvel).max() < 20.0  # it sinks into a crouch; nothing flies apart
    assert data.qpos[2] > 0.2  # the trunk is still above the floor
