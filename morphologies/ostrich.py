"""The musculoskeletal ostrich, built in code with MjSpec from `ostrich_anatomy.toml`.
(About 400 lines on purpose: the whole body's builder, read in the order it assembles the
body.)

A free trunk (torso, pelvis and the jointless wings); per leg a 3-DoF hip, a 2-DoF knee
(flexion and long-axis rotation), the 1-DoF intertarsal ("ankle") and MTP joints, and toes
whose pads and MTP pad meet the ground; a four-segment neck and a head. 34 muscles per leg
(OstrichRL's list and peak forces) on spatial tendons with via points and wrapping
cylinders, and four per neck joint. Every number comes from the parameter file, whose
comments give its source; the builder only assembles.

What is simplified, and why:
- The neck has 4 segments with 2 hinges each instead of 17 vertebrae: the benchmark tracks
  the legs and the pelvis; the neck carries the head's mass and moves it plausibly.
- Segments are solid cylinders for inertia; geometry is capsules and ellipsoids (no meshes).
- Muscles are MuJoCo's rigid-tendon Hill model with default fibre parameters; paths are
  ours, placed so that each muscle has its published primary action (tested).
"""

from __future__ import annotations

import functools
import sys
from importlib.resources import files
from typing import Any

import mujoco
import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

from morphologies.contacts import SIDES
from morphologies.keypoints import FrameConvention, Keypoint
from morphologies.morphology import Morphology, SimSettings
from morphologies.mujoco_warnings import quiet_build

LEG_SEGMENTS = ("femur", "tibiotarsus", "tarsometatarsus")
LEG_JOINTS = ("hip_x", "hip_y", "hip_z", "knee_y", "knee_z", "ankle_y", "mtp_y")
# Joints whose range mirrors on the left leg: rotations about x and z flip under y -> -y.
_MIRRORED = ("hip_x", "hip_z", "knee_z")
_FOOT_CONTYPE, _FOOT_CONAFFINITY = 2, 1  # feet touch the floor (contype 1), not each other
_LENGTHRANGE_SAMPLES = 4000
_FLOOR_CLEARANCE = 0.0005  # m between the lowest foot geom and the floor when standing


@functools.cache
def anatomy() -> dict[str, Any]:
    """The parameter file, parsed (shared: do not modify)."""
    text = files("morphologies").joinpath("ostrich_anatomy.toml").read_text()
    return tomllib.loads(text)


def _mirror(point: list[float], side: str) -> list[float]:
    x, y, z = point
    return [x, y if side == "r" else -y, z]


def _cylinder_inertia(mass: float, length: float, radius: float) -> list[float]:
    transverse = mass * (3 * radius**2 + length**2) / 12
    return [transverse, transverse, mass * radius**2 / 2]


_Y_AXIS_QUAT = [np.sqrt(0.5), -np.sqrt(0.5), 0.0, 0.0]  # turns a cylinder's z axis onto y


@quiet_build
def build_ostrich_spec() -> mujoco.MjSpec:
    """A fresh spec of the ostrich with a `standing` keyframe (feet on the floor at z = 0)."""
    params = anatomy()
    spec = mujoco.MjSpec()
    spec.modelname = "ostrich"
    spec.compiler.degree = False  # the parameter file is in radians
    spec.compiler.inertiafromgeom = mujoco.mjtInertiaFromGeom.mjINERTIAFROMGEOM_FALSE
    spec.compiler.LRopt.mode = mujoco.mjtLRMode.mjLRMODE_NONE  # length ranges: see below
    spec.option.timestep = params["sim"]["timestep"]
    floor = spec.worldbody.add_geom(
        name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05], rgba=[0.8, 0.8, 0.8, 1]
    )
    floor.contype, floor.conaffinity = 1, 1
    spec.worldbody.add_light(
        pos=[0, 0, 4], dir=[0, 0, -1], type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
    )

    trunk = _add_trunk(spec, params)
    for side in SIDES:
        _add_leg(spec, trunk, params, side)
    _add_neck(spec, trunk, params)
    for side in SIDES:
        for muscle in params["muscles"]:
            _add_leg_muscle(spec, muscle, side)
    _add_neck_muscles(spec, params)
    _add_standing_key(spec, params)
    _set_length_ranges(spec)
    return spec


def _add_trunk(spec: mujoco.MjSpec, params: dict[str, Any]) -> mujoco.MjsBody:
    p = params["trunk"]
    trunk = spec.worldbody.add_body(name="trunk", pos=[0, 0, 1.0])
    trunk.add_freejoint(name="root")
    trunk.mass, trunk.ipos, trunk.inertia = p["mass"], p["com"], p["inertia"]
    trunk.explicitinertial = True
    trunk.add_geom(
        name="torso",
        type=mujoco.mjtGeom.mjGEOM_ELLIPSOID,
        pos=p["body_centre"],
        size=p["body_size"],
        rgba=[0.45, 0.35, 0.3, 1],
        # a fallen bird lies on its body: the torso meets the floor (not the legs)
        contype=_FOOT_CONTYPE,
        conaffinity=_FOOT_CONAFFINITY,
    )
    trunk.add_site(name="pelvis", pos=p["pelvis_site"], size=[0.02, 0, 0])
    return trunk


def _add_leg(spec: mujoco.MjSpec, trunk: mujoco.MjsBody, params: dict[str, Any], side: str) -> None:
    segments, joints = params["segments"], params["joints"]
    parent, pos = trunk, _mirror(params["trunk"]["hip"], side)
    for name in (*LEG_SEGMENTS, "toes"):
        body = parent.add_body(name=f"{side}_{name}", pos=pos)
        seg = segments[name]
        if name == "toes":
            body.ipos = _mirror(seg["com"], side)
            body.inertia = [seg["mass"] * seg["radius"] ** 2] * 3
        else:
            length = seg["length"]
            body.ipos = [0, 0, -seg["com_fraction"] * length]
            body.inertia = _cylinder_inertia(seg["mass"], length, seg["radius"])
            body.add_geom(
                name=f"{side}_{name}",
                type=mujoco.mjtGeom.mjGEOM_CAPSULE,
                fromto=[0, 0, 0, 0, 0, -length],
                size=[seg["radius"] * 0.6, 0, 0],
                rgba=[0.55, 0.42, 0.35, 1],
                contype=0,
                conaffinity=0,
            )
            pos = [0, 0, -length]
        body.mass = seg["mass"]
        body.explicitinertial = True
        for joint_name, joint in joints.items():
            if isinstance(joint, dict) and joint["body"] == name:
                low, high = joint["range"]
                if side == "l" and joint_name in _MIRRORED:
                    low, high = -high, -low
                body.add_joint(
                    name=f"{side}_{joint_name}",
                    type=mujoco.mjtJoint.mjJNT_HINGE,
                    axis=joint["axis"],
                    range=[low, high],
                    limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                    damping=joints["damping"],
                    armature=joints["armature"],
                )
        parent = body
    _add_foot(parent, spec.body(f"{side}_tarsometatarsus"), segments, side)
    for wrap_name, wrap in params["wraps"].items():
        body = spec.body(f"{side}_{wrap['body']}")
        body.add_geom(
            name=f"{side}_{wrap_name}",
            type=mujoco.mjtGeom.mjGEOM_CYLINDER,
            pos=wrap["centre"],
            quat=_Y_AXIS_QUAT,
            size=[wrap["radius"], 0.03, 0],
            rgba=[0.6, 0.6, 0.9, 0.3],
            group=3,
            contype=0,
            conaffinity=0,
        )
        body.add_site(name=f"{side}_{wrap_name}_side", pos=_mirror(wrap["side"], side))


def _add_foot(
    toes: mujoco.MjsBody, metatarsus: mujoco.MjsBody, segments: dict[str, Any], side: str
) -> None:
    seg = segments["toes"]
    metatarsus.add_geom(
        name=f"{side}_mtp_pad",
        type=mujoco.mjtGeom.mjGEOM_SPHERE,
        pos=[0, 0, -segments["tarsometatarsus"]["length"]],
        size=[seg["mtp_pad_radius"], 0, 0],
        rgba=[0.4, 0.3, 0.25, 1],
        contype=_FOOT_CONTYPE,
        conaffinity=_FOOT_CONAFFINITY,
    )
    for digit in ("digit3", "digit4"):
        tip = _mirror(seg[digit], side)
        toes.add_geom(
            name=f"{side}_{digit}",
            type=mujoco.mjtGeom.mjGEOM_CAPSULE,
            fromto=[0.02, 0, tip[2], *tip],
            size=[seg["pad_radius"], 0, 0],
            rgba=[0.4, 0.3, 0.25, 1],
            contype=_FOOT_CONTYPE,
            conaffinity=_FOOT_CONAFFINITY,
        )
    toes.add_site(name=f"{side}_toe", pos=_mirror(seg["toe_site"], side), size=[0.015, 0, 0])


def _add_neck(spec: mujoco.MjSpec, trunk: mujoco.MjsBody, params: dict[str, Any]) -> None:
    neck = params["neck"]
    parent, pos = trunk, params["trunk"]["neck_base"]
    joint_options = {
        "type": mujoco.mjtJoint.mjJNT_HINGE,
        "limited": mujoco.mjtLimited.mjLIMITED_TRUE,
        "damping": neck["damping"],
        "armature": params["joints"]["armature"],
    }
    for index, (length, mass) in enumerate(zip(neck["lengths"], neck["masses"], strict=True)):
        body = parent.add_body(name=f"neck{index + 1}", pos=pos)
        body.mass, body.ipos = mass, [0, 0, length / 2]
        body.inertia = _cylinder_inertia(mass, length, neck["radius"])
        body.explicitinertial = True
        body.add_joint(
            name=f"neck{index + 1}_y", axis=[0, 1, 0], range=neck["pitch_range"],
            stiffness=neck["stiffness"], **joint_options,
        )  # fmt: skip
        body.add_joint(
            name=f"neck{index + 1}_x", axis=[1, 0, 0], range=neck["side_range"],
            stiffness=neck["stiffness"], **joint_options,
        )  # fmt: skip
        body.add_geom(
            type=mujoco.mjtGeom.mjGEOM_CAPSULE,
            fromto=[0, 0, 0, 0, 0, length],
            size=[neck["radius"] * 0.7, 0, 0],
            rgba=[0.55, 0.42, 0.35, 1],
            contype=0,
            conaffinity=0,
        )
        parent, pos = body, [0, 0, length]
    head = parent.add_body(name="head", pos=pos)
    head.mass, head.ipos, head.explicitinertial = neck["head_mass"], [0.05, 0, 0], True
    head.inertia = [0.004, 0.006, 0.006]
    for axis_name, axis in (("y", [0, 1, 0]), ("x", [1, 0, 0])):
        head.add_joint(
            name=f"head_{axis_name}", axis=axis, stiffness=neck["head_stiffness"],
            range=neck["pitch_range"] if axis_name == "y" else neck["side_range"],
            **joint_options,
        )  # fmt: skip
    head.add_geom(
        type=mujoco.mjtGeom.mjGEOM_ELLIPSOID,
        pos=[0.04, 0, 0],
        size=[0.08, 0.05, 0.05],
        rgba=[0.55, 0.42, 0.35, 1],
        contype=0,
        conaffinity=0,
    )
    head.add_site(name="beak", pos=neck["beak"], size=[0.01, 0, 0])


def _add_leg_muscle(spec: mujoco.MjSpec, muscle: dict[str, Any], side: str) -> None:
    name = f"{side}_{muscle['name']}"
    tendon = spec.add_tendon(name=name, rgba=[0.8, 0.2, 0.2, 1], width=0.006)
    count = 0
    for step in muscle["path"]:
        if isinstance(step, str):  # a wrapping cylinder, kept on its side by its side site
            tendon.wrap_geom(f"{side}_{step}", f"{side}_{step}_side")
            continue
        body, *point = step
        site = f"{name}_{count}"
        spec.body(f"{side}_{body}" if body != "trunk" else "trunk").add_site(
            name=site, pos=_mirror(point, side), size=[0.005, 0, 0], group=4
        )
        tendon.wrap_site(site)
        count += 1
    _add_muscle_actuator(spec, name, muscle["fmax"])


def _add_muscle_actuator(spec: mujoco.MjSpec, tendon: str, force: float) -> None:
    actuator = spec.add_actuator(name=tendon, target=tendon)
    actuator.trntype = mujoco.mjtTrn.mjTRN_TENDON
    # MuJoCo's muscle defaults, spelled out, and the peak force (see the parameter file).
    actuator.set_to_muscle(
        timeconst=[0.01, 0.04], tausmooth=0.0, range=[0.75, 1.05], force=force, scale=200.0,
        lmin=0.5, lmax=1.6, vmax=1.5, fpmax=1.3, fvmax=1.2,
    )  # fmt: skip
    actuator.ctrlrange = [0.0, 1.0]
    actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE


def _add_neck_muscles(spec: mujoco.MjSpec, params: dict[str, Any]) -> None:
    neck = params["neck"]
    off, lateral = neck["muscle_offset"], neck["muscle_side_offset"]
    lengths = neck["lengths"]
    links = ["trunk"] + [f"neck{i + 1}" for i in range(len(lengths))] + ["head"]
    base = np.array(params["trunk"]["neck_base"])
    for index in range(1, len(links)):
        parent, child = links[index - 1], links[index]
        # the parent's point lies below the joint, the child's above it
        below = base if parent == "trunk" else np.array([0.0, 0.0, lengths[index - 2]])
        for face, x in (("dorsal", -off), ("ventral", off)):
            for side, y in (("r", -lateral), ("l", lateral)):
                name = f"{child}_{face}_{side}"
                tendon = spec.add_tendon(name=name, rgba=[0.8, 0.2, 0.2, 1], width=0.004)
                spec.body(parent).add_site(
                    name=f"{name}_0", pos=list(below + [x, y, -0.08]), size=[0.005, 0, 0], group=4
                )
                spec.body(child).add_site(
                    name=f"{name}_1", pos=[x, y, 0.08], size=[0.005, 0, 0], group=4
                )
                tendon.wrap_site(f"{name}_0")
                tendon.wrap_site(f"{name}_1")
                _add_muscle_actuator(spec, name, neck["muscle_force"])


def _add_standing_key(spec: mujoco.MjSpec, params: dict[str, Any]) -> None:
    """The standing keyframe, its height set so that the lowest foot geom is on the floor."""
    model = spec.compile()
    data = mujoco.MjData(model)
    qpos = model.qpos0.copy()
    stand = params["standing"]
    for side in SIDES:
        for joint in ("hip_y", "knee_y", "ankle_y", "mtp_y"):
            qpos[model.jnt_qposadr[model.joint(f"{side}_{joint}").id]] = stand[joint]
    angles = [*stand["neck"], stand["head"]]
    names = [f"neck{i + 1}" for i in range(len(stand["neck"]))] + ["head"]
    for name, (pitch, bend) in zip(names, angles, strict=True):
        qpos[model.jnt_qposadr[model.joint(f"{name}_y").id]] = pitch
        qpos[model.jnt_qposadr[model.joint(f"{name}_x").id]] = bend
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    torso = model.geom("torso").id
    feet = [g for g in np.flatnonzero(model.geom_contype == _FOOT_CONTYPE) if g != torso]
    floor = model.geom("floor").id
    fromto = np.zeros(6)
    lowest = min(mujoco.mj_geomDistance(model, data, g, floor, 2.0, fromto) for g in feet)
    qpos[2] -= lowest - _FLOOR_CLEARANCE
    spec.add_key(name="standing", qpos=qpos)
    # the neck's springs hold it in the standing pose, not straight up
    for joint in spec.joints:
        if joint.name.startswith(("neck", "head")):
            joint.springref = float(qpos[model.jnt_qposadr[model.joint(joint.name).id]])


def _set_length_ranges(spec: mujoco.MjSpec) -> None:
    """Each muscle's length range: min and max over sampled configurations of its joints.

    MuJoCo's own `lengthrange` computation drives each actuator in a simulation; sampling
    the joint ranges kinematically gives the same bounds for these paths, deterministically
    and in a fraction of the time.
    """
    model = spec.compile()
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    hinges = np.flatnonzero(model.jnt_type == int(mujoco.mjtJoint.mjJNT_HINGE))
    adr = model.jnt_qposadr[hinges]
    low, high = model.jnt_range[hinges].T
    lengths = np.empty((_LENGTHRANGE_SAMPLES + 2, model.ntendon))
    samples = rng.uniform(low, high, size=(_LENGTHRANGE_SAMPLES, len(hinges)))
    for row, values in enumerate([low, high, *samples]):
        data.qpos[:] = model.qpos0
        data.qpos[adr] = values
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        mujoco.mj_tendon(model, data)
        lengths[row] = data.ten_length
    for actuator in spec.actuators:
        column = model.tendon(actuator.target).id
        actuator.lengthrange = [lengths[:, column].min(), lengths[:, column].max()]


def _keypoints() -> tuple[Keypoint, ...]:
    points = [Keypoint("pelvis", "site", "pelvis")]
    bodies = {"hip": "femur", "knee": "tibiotarsus", "ankle": "tarsometatarsus", "mtp": "toes"}
    for joint, body in bodies.items():
        for side in SIDES:
            points.append(Keypoint(f"{side}_{joint}", "body", f"{side}_{body}"))
    for side in SIDES:
        points.append(Keypoint(f"{side}_toe", "site", f"{side}_toe"))
    points += [Keypoint("neck_base", "body", "neck1"), Keypoint("head", "body", "head")]
    return tuple(points)


def _sim_settings() -> SimSettings:
    sim = anatomy()["sim"]
    return SimSettings(timestep=sim["timestep"], substeps=sim["substeps"])


OSTRICH = Morphology(
    name="ostrich",
    description="musculoskeletal ostrich: 68 leg muscles, 20 neck muscles, digitigrade legs",
    provenance=(
        "crossmimic, built in code from morphologies/ostrich_anatomy.toml "
        "(OstrichRL's segment lengths, masses, ranges and muscle forces; MIT)"
    ),
    build_spec=build_ostrich_spec,
    keypoints=_keypoints(),
    tracked_keypoints=(
        "pelvis",
        "r_knee",
        "l_knee",
        "r_ankle",
        "l_ankle",
        "r_mtp",
        "l_mtp",
        "r_toe",
        "l_toe",
    ),  # fmt: skip
    frame=FrameConvention(forward="+x", up="+z"),
    sim=_sim_settings(),
    species="ostrich",
    leg_chain=("hip", "knee", "ankle", "mtp"),
    foot_fall_per_frame=0.3,  # toes fall up to 13 cm a frame as they touch down running
)
