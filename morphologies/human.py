"""The human bodies of the suite, all from MyoSuite's model package myo-sim (Apache-2.0).

| name                  | myo-sim source                                  | muscles |
|-----------------------|-------------------------------------------------|---------|
| `human_legs_80`       | `myolegs`: MyoLeg on a passive torso scaffold     | 80      |
| `human_legs_abs_86`   | `myolegs_abdomen`: MyoLeg + 6 abdominal muscles   | 86      |
| `human_legs_back_290` | ours: `myotorso` (MyoBack, 210) + MyoLeg fragment | 290     |
| `human_fullbody_416`  | `myofullbody`: torso, both arms, legs             | 416     |

Geometry, muscles and postures are myo-sim's, unchanged; the only setting we change is the
physics step (protocol v1: 1/150 s, 5 substeps per 30 Hz control step, as Kinesis). The
standing pose is myo-sim's `standing` posture (feet flat, 0.1 mm above the floor).

Frame: MyoLeg faces -y with z up, so the body's left is +x. Keypoints are body origins, as
Kinesis tracks them: hips at the femur heads, knees at the tibia origins, ankles at the talus,
heels at the calcaneus origin (behind and below the ankle), MTP joints at the toes body.
"""

from __future__ import annotations

from collections.abc import Callable

import mujoco
import myo_sim
from myo_sim.build.compose import LEG_CONTACTS_XML, build_spec, find_body
from myo_sim.build.keyframes import add_posture_keyframes
from myo_sim.build.utils import add_contact_pairs

from morphologies.keypoints import FrameConvention, Keypoint
from morphologies.morphology import Morphology, SimSettings
from morphologies.mujoco_warnings import quiet_build

KINESIS_SIM = SimSettings(timestep=1.0 / 150.0, substeps=5)
MYOLEG_FRAME = FrameConvention(forward="-y", up="+z")


def _myo_sim_spec(name: str) -> Callable[[], mujoco.MjSpec]:
    @quiet_build
    def build() -> mujoco.MjSpec:
        return on_flat_floor(myo_sim.load_spec(name, build_kwargs={"postures": ["standing"]}))

    build.__name__ = f"build_{name}"
    return build


@quiet_build
def build_legs_back_spec() -> mujoco.MjSpec:
    """MyoLeg under the 210-muscle MyoBack trunk: one free-floating body, 290 muscles.

    myo-sim has no registry entry for this body. As in its own `myolegs` and `myofullbody`
    compositions, the legs fragment is attached to a frame on the torso's root body, which
    gets the free joint; here the torso keeps its lumbar joints and 210 muscles (in `myolegs`
    it is a passive scaffold). The posture is `myolegs`'s standing posture: the legs hang from
    the same root body at the same place, and the lumbar joints stay at their neutral qpos0.
    """
    spec = build_spec("myotorso")
    root = find_body(spec, "Full Body")
    root.add_freejoint(name="root")
    legs_frame = root.add_frame(name="legs_attach")
    legs = myo_sim.FRAGMENT_SPEC_BUILDERS["myolegs"]()
    spec.attach(legs, prefix="", suffix="", frame=legs_frame)
    add_contact_pairs(spec, LEG_CONTACTS_XML)
    spec.modelname = "human_legs_back_290"
    add_posture_keyframes(spec, "myolegs", ["standing"])
    return on_flat_floor(spec)


def on_flat_floor(spec: mujoco.MjSpec) -> mujoco.MjSpec:
    """Stand the body on one floor plane at z = 0, in place; returns the spec.

    myo-sim's scene stands the body on a pedestal (a cylinder of 1.05 m radius, top 15 mm
    up) over a floor 0.4 m lower, so a walking clip steps off its edge. We keep only the
    floor plane, raise it to z = 0 and lower the standing keyframes by the pedestal's height
    (the decorative scene meshes go too: they do not collide and slow rendering).
    """
    top = 0.0
    for geom in list(spec.worldbody.geoms):
        if geom.type == mujoco.mjtGeom.mjGEOM_CYLINDER:
            top = max(top, geom.pos[2] + geom.size[1])
        if geom.type == mujoco.mjtGeom.mjGEOM_PLANE:
            geom.pos = [0.0, 0.0, 0.0]
        else:
            spec.delete(geom)
    root = spec.joint("root")
    if root is None or root.type != mujoco.mjtJoint.mjJNT_FREE:
        raise ValueError(f"{spec.modelname}: expected a free joint named 'root'")
    for key in spec.keys:
        qpos = list(key.qpos)
        qpos[2] -= top  # the root is the first joint, so its height is qpos[2]
        key.qpos = qpos
    return spec


def _myoleg_keypoints() -> tuple[Keypoint, ...]:
    bodies = {"hip": "femur", "knee": "tibia", "ankle": "talus", "heel": "calcn", "mtp": "toes"}
    points = [Keypoint("pelvis", "body", "pelvis")]
    for joint, body in bodies.items():
        for side in ("r", "l"):
            points.append(Keypoint(f"{side}_{joint}", "body", f"{body}_{side}"))
    # The MyoLeg "toes" body origin is the MTP joint; it is also the toe keypoint that Kinesis
    # tracks (SMPL's toe joint sits at the ball of the foot).
    for side in ("r", "l"):
        points.append(Keypoint(f"{side}_toe", "body", f"toes_{side}"))
    # Every myo-sim human carries a torso and a head body, jointed or not.
    points += [Keypoint("torso", "body", "torso"), Keypoint("head", "body", "head")]
    return tuple(points)


_LEGS_TRACKED = ("pelvis", "r_knee", "l_knee", "r_ankle", "l_ankle", "r_toe", "l_toe")
_TRUNK_TRACKED = (*_LEGS_TRACKED, "head")

_MYO_SIM = f"myo-sim {myo_sim.__version__} (MyoSuite models, Apache-2.0)"

HUMAN_MORPHOLOGIES = (
    Morphology(
        name="human_legs_80",
        description="MyoLeg: 80 leg muscles on a rigid torso and head (Kinesis 'legs')",
        provenance=f"{_MYO_SIM}, model 'myolegs'",
        build_spec=_myo_sim_spec("myolegs"),
        keypoints=_myoleg_keypoints(),
        tracked_keypoints=_LEGS_TRACKED,
        frame=MYOLEG_FRAME,
        sim=KINESIS_SIM,
    ),
    Morphology(
        name="human_legs_abs_86",
        description="MyoLeg plus 6 abdominal muscles on a 3-DoF lumbar joint (Kinesis 'legs_abs')",
        provenance=f"{_MYO_SIM}, model 'myolegs_abdomen'",
        build_spec=_myo_sim_spec("myolegs_abdomen"),
        keypoints=_myoleg_keypoints(),
        tracked_keypoints=_TRUNK_TRACKED,
        frame=MYOLEG_FRAME,
        sim=KINESIS_SIM,
    ),
    Morphology(
        name="human_legs_back_290",
        description="MyoLeg under the 210-muscle MyoBack trunk (Kinesis 'legs_back')",
        provenance=f"{_MYO_SIM}, 'myotorso' + 'myolegs' fragment, composed by crossmimic",
        build_spec=build_legs_back_spec,
        keypoints=_myoleg_keypoints(),
        tracked_keypoints=_TRUNK_TRACKED,
        frame=MYOLEG_FRAME,
        sim=KINESIS_SIM,
    ),
    Morphology(
        name="human_fullbody_416",
        description="MyoFullBody: trunk, both arms and legs, 416 muscles",
        provenance=f"{_MYO_SIM}, model 'myofullbody'",
        build_spec=_myo_sim_spec("myofullbody"),
        keypoints=_myoleg_keypoints(),
        tracked_keypoints=_TRUNK_TRACKED,
        frame=MYOLEG_FRAME,
        sim=KINESIS_SIM,
    ),
)
