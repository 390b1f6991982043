"""AMASS / SMPL(-H) `.npz` (`poses`, `trans`, `mocap_framerate`) -> canonical `Motion`.

Forward kinematics runs on the SMPL neutral skeleton at zero shape (betas = 0), as Kinesis
does, so a clip gives the same joint centres here as in Kinesis whatever the subject's
recorded shape. No SMPL body-model file is needed: only the 24 joint centres of the rest
pose enter forward kinematics, and those are published numbers.

Joint offsets: SMPL (Loper, Mahmood, Romero, Pons-Moll, Black, "SMPL: A Skinned Multi-Person
Linear Model", SIGGRAPH Asia 2015), neutral model, zero shape; the values are those of the
MJCF humanoid generated from that model by PHC (Luo et al., "Perpetual Humanoid Control for
Real-time Simulated Avatars", ICCV 2023, `smpl_humanoid.xml`), which Kinesis's `smpl_sim`
reproduces. They are given there in a z-up frame (x forward, y left); SMPL's own frame is
y-up (x left, z forward), and AMASS's `poses[:, :3]` (the root orientation) maps that frame
into AMASS's z-up world.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from retargeting.motion import Motion, MotionFormatError, MotionMeta
from retargeting.sources.keypoint_file import read_npz, scalar

# SMPL joint index -> (name, parent, offset from the parent in metres, z-up x-forward frame).
# Only the joints on the way to the legs, the neck and the head; collars and arms are not
# needed for locomotion keypoints.
_SKELETON = {
    0: ("pelvis", -1, (-0.0018, -0.2233, 0.0282)),  # rest position in SMPL's own frame
    1: ("l_hip", 0, (-0.0068, 0.0695, -0.0914)),
    2: ("r_hip", 0, (-0.0043, -0.0677, -0.0905)),
    3: ("spine1", 0, (-0.0267, -0.0025, 0.1090)),
    4: ("l_knee", 1, (-0.0045, 0.0343, -0.3752)),
    5: ("r_knee", 2, (-0.0089, -0.0383, -0.3826)),
    6: ("spine2", 3, (0.0011, 0.0055, 0.1352)),
    7: ("l_ankle", 4, (-0.0437, -0.0136, -0.3980)),
    8: ("r_ankle", 5, (-0.0423, 0.0158, -0.3984)),
    9: ("spine3", 6, (0.0254, 0.0015, 0.0529)),
    10: ("l_toe", 7, (0.1193, 0.0264, -0.0558)),  # SMPL "L_Foot": the ball of the foot
    11: ("r_toe", 8, (0.1233, -0.0254, -0.0481)),
    12: ("neck_base", 9, (-0.0429, -0.0028, 0.2139)),
    15: ("head", 12, (0.0513, 0.0052, 0.0650)),
}
# Canonical keypoints this source gives (the spine joints only carry the chain).
KEYPOINTS = tuple(name for name, _, _ in _SKELETON.values() if not name.startswith("spine"))
BODY_JOINTS = 22  # SMPL-H and SMPL-X poses start with the same 22 body joints
AMASS_LICENCE = (
    "AMASS (Mahmood et al., ICCV 2019) and its sub-datasets: non-commercial scientific "
    "research only, under the licence at https://amass.is.tue.mpg.de/license.html"
)


def _offsets_in_smpl_frame() -> dict[int, np.ndarray]:
    # z-up (x forward, y left, z up) -> SMPL's y-up (x left, y up, z forward)
    offsets = {j: np.array(offset)[[1, 2, 0]] for j, (_, _, offset) in _SKELETON.items()}
    offsets[0] = np.array(_SKELETON[0][2])  # the root is already in SMPL's frame
    return offsets


def smpl_joint_positions(poses: np.ndarray, trans: np.ndarray) -> dict[str, np.ndarray]:
    """World positions (T, 3) of the SMPL joints named in the skeleton table.

    `poses` (T, >= 66) axis-angle per joint, SMPL order; `trans` (T, 3) root translation.
    """
    offsets = _offsets_in_smpl_frame()
    rotation: dict[int, Rotation] = {}
    position: dict[int, np.ndarray] = {}
    for joint, (_, parent, _) in _SKELETON.items():
        local = Rotation.from_rotvec(poses[:, 3 * joint : 3 * joint + 3])
        if parent < 0:
            rotation[joint] = local
            position[joint] = trans + offsets[0]
        else:
            rotation[joint] = rotation[parent] * local
            position[joint] = position[parent] + rotation[parent].apply(offsets[joint])
    return {_SKELETON[j][0]: position[j] for j in _SKELETON}


def load_amass(path: str | Path) -> Motion:
    """Read an AMASS clip (SMPL, SMPL-H or SMPL-X parameters in an `.npz`)."""
    path = Path(path)
    arrays = read_npz(path)
    rate_key = next((k for k in ("mocap_framerate", "mocap_frame_rate") if k in arrays), None)
    for key in ("poses", "trans"):
        if key not in arrays:
            raise MotionFormatError(
                path,
                key,
                f"missing; an AMASS file has poses, trans, mocap_framerate, found {sorted(arrays)}",
            )
    if rate_key is None:
        raise MotionFormatError(path, "mocap_framerate", "missing (nor is mocap_frame_rate there)")
    for key in ("poses", "trans"):
        if arrays[key].dtype.kind not in "iuf":
            raise MotionFormatError(
                path, key, f"expected real numbers, got an array of {arrays[key].dtype}"
            )
    poses = np.asarray(arrays["poses"], dtype=np.float64)
    trans = np.asarray(arrays["trans"], dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] < 3 * BODY_JOINTS:
        raise MotionFormatError(
            path, "poses", f"expected shape (T, >= {3 * BODY_JOINTS}) axis-angle, got {poses.shape}"
        )
    if trans.shape != (len(poses), 3):
        raise MotionFormatError(
            path, "trans", f"expected shape ({len(poses)}, 3), got {trans.shape}"
        )
    for key, values in (("poses", poses), ("trans", trans)):
        bad = np.argwhere(~np.isfinite(values))
        if len(bad):
            raise MotionFormatError(path, key, f"frame {bad[0][0]} is not finite")
    fps = scalar(path, arrays, rate_key)
    joints = smpl_joint_positions(poses, trans)
    return Motion(
        name=path.stem,
        keypoints=np.stack([joints[name] for name in KEYPOINTS], axis=1),
        keypoint_names=KEYPOINTS,
        fps=fps,
        meta=MotionMeta(
            source=str(path),
            subject=str(arrays["gender"]) if "gender" in arrays else "",
            licence=AMASS_LICENCE,
            original_fps=fps,
            notes=("SMPL neutral zero-shape forward kinematics",),
        ),
    )
