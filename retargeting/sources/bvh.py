"""BVH motion capture (CMU and others) -> canonical `Motion`.

Written here rather than taken from PyPI: the BVH readers there neither report the line or
frame of a fault nor detect units and up axis, and the format is small. Forward kinematics
uses scipy's rotations, so any channel order works (rotation channels compose intrinsically
in the order listed, which is the BVH convention).

Longer than most files (about 380 lines) on purpose: one format's parser, unit and up-axis
detection and forward kinematics, each small and used nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from retargeting.motion import Motion, MotionFormatError, MotionMeta

_ROTATIONS = {"xrotation": "X", "yrotation": "Y", "zrotation": "Z"}
_POSITIONS = {"xposition": 0, "yposition": 1, "zposition": 2}

# BVH joint names (lower case) -> canonical keypoints. CMU's converter names the joint by
# the segment it starts: "LeftUpLeg" sits at the hip, "LeftLeg" at the knee, "LeftFoot" at
# the ankle, "LeftToeBase" at the ball of the foot (the MTP joints).
JOINT_ALIASES = {
    "pelvis": ("hips", "hip", "pelvis", "root"),
    "r_hip": ("rightupleg", "righthip", "rhip", "r_hip", "rightthigh"),
    "l_hip": ("leftupleg", "lefthip", "lhip", "l_hip", "leftthigh"),
    "r_knee": ("rightleg", "rightknee", "rknee", "r_knee", "rightshin"),
    "l_knee": ("leftleg", "leftknee", "lknee", "l_knee", "leftshin"),
    "r_ankle": ("rightfoot", "rightankle", "rankle", "r_ankle"),
    "l_ankle": ("leftfoot", "leftankle", "lankle", "l_ankle"),
    "r_toe": ("righttoebase", "righttoe", "rtoe", "r_toe"),
    "l_toe": ("lefttoebase", "lefttoe", "ltoe", "l_toe"),
    "neck_base": ("neck", "lowerneck"),
    "head": ("head",),
}

# Vertical extent of a standing human skeleton in the rest pose, by unit (metres per unit).
# CMU's ASF converter unit is 1/0.45 inch.
_UNITS = (
    ("m", 1.0, (0.8, 2.5)),
    ("cmu", 0.0254 / 0.45, (14.0, 45.0)),
    ("inch", 0.0254, (45.0, 100.0)),
    ("cm", 0.01, (100.0, 250.0)),
    ("mm", 0.001, (800.0, 2500.0)),
)


@dataclass
class _Joint:
    name: str
    parent: int
    offset: np.ndarray
    channels: list[str] = field(default_factory=list)
    channel_start: int = 0
    line: int = 0


@dataclass(frozen=True)
class BvhSkeleton:
    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray  # (J, 3)
    end_sites: np.ndarray  # (E, 3) rest positions of End Sites, for unit and axis detection


def load_bvh(
    path: str | Path,
    *,
    unit: str | float | None = None,
    up: str | None = None,
    drop_rest_frame: bool | None = None,
    name: str | None = None,
) -> Motion:
    """Read a BVH file into a canonical motion (metres, z up).

    unit: metres per file unit, or one of "m", "cmu", "inch", "cm", "mm"; None detects it
        from the rest skeleton's height. up: "y" or "z"; None detects it from the rest pose
        (legs hang down). drop_rest_frame: drop frame 0 when it is a converter's rest pose
        (whole-number angles, as in some CMU conversions); None drops it only when detected.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise MotionFormatError(path, "file", "not a text file; expected BVH") from None
    lines = text.splitlines()
    joints, end_sites, motion_line = _parse_hierarchy(path, lines)
    frames, frame_time = _parse_motion(path, lines, motion_line, joints)
    skeleton = _skeleton(joints, end_sites)

    notes: list[str] = []
    rotation_columns = [
        j.channel_start + i
        for j in joints
        for i, c in enumerate(j.channels)
        if c.lower() in _ROTATIONS
    ]
    if drop_rest_frame is None:
        drop_rest_frame = len(frames) > 2 and _is_rest_frame(frames, rotation_columns)
    if drop_rest_frame:
        frames = frames[1:]
        notes.append("dropped frame 0: the converter's rest pose, not captured motion")

    scale, unit_name = _unit(path, skeleton, unit)
    up_axis = _up_axis(path, skeleton, up)
    positions = _forward_kinematics(joints, frames) * scale
    if up_axis == "y":
        # +90 degrees about x: y up becomes z up, z forward becomes -y (right-handed kept).
        positions = positions[..., [0, 2, 1]] * np.array([1.0, -1.0, 1.0])
    notes.append(f"unit {unit_name} ({scale:g} m), {up_axis}-up converted to z-up")

    canonical, index = _canonical(skeleton.names)
    if "pelvis" not in canonical:
        raise MotionFormatError(path, "HIERARCHY", "found no root joint to use as the pelvis")
    fps = 1.0 / frame_time
    meta = MotionMeta(source=path.name, original_fps=fps, notes=tuple(notes))
    return Motion(
        name=name or path.stem,
        keypoints=positions[:, index],
        keypoint_names=canonical,
        fps=fps,
        meta=meta,
    )


def _parse_hierarchy(
    path: Path, lines: list[str]
) -> tuple[list[_Joint], list[tuple[int, np.ndarray]], int]:
    joints: list[_Joint] = []
    stack: list[int] = []  # open joints; -1 marks an End Site block
    pending: tuple[str, int] | None = None  # a joint (or End Site) waiting for its "{"
    end_sites: list[tuple[int, np.ndarray]] = []
    seen_root = False
    for number, raw in enumerate(lines, start=1):
        words = raw.split()
        if not words:
            continue
        keyword = words[0].upper()
        where = f"line {number}"
        if keyword == "HIERARCHY":
            continue
        if pending is not None and keyword != "{":
            what = f"JOINT {pending[0]}" if pending[1] > 0 else "End Site"
            raise MotionFormatError(path, where, f"expected '{{' after {what}, got {words[0]!r}")
        if keyword == "MOTION":
            if stack or pending:
                raise MotionFormatError(path, where, "MOTION before the hierarchy was closed")
            if not joints:
                raise MotionFormatError(path, where, "MOTION before any ROOT joint")
            return joints, end_sites, number
        if keyword in ("ROOT", "JOINT"):
            if len(words) < 2:
                raise MotionFormatError(path, where, f"{keyword} without a name")
            if keyword == "ROOT" and (seen_root or stack):
                raise MotionFormatError(path, where, "a second ROOT; expected one skeleton")
            if keyword == "JOINT" and not stack:
                raise MotionFormatError(path, where, "JOINT outside any ROOT")
            if stack and stack[-1] == -1:
                raise MotionFormatError(path, where, "JOINT inside an End Site")
            seen_root = True
            pending = (" ".join(words[1:]), number)
        elif keyword == "END":
            if not stack:
                raise MotionFormatError(path, where, "End Site outside any joint")
            pending = ("", -number)
        elif keyword == "{":
            if pending is None:
                raise MotionFormatError(path, where, "'{' without a ROOT, JOINT or End Site")
            joint_name, at = pending
            pending = None
            if at < 0:
                stack.append(-1)
                end_sites.append((stack[-2], np.zeros(3)))
            else:
                parent = stack[-1] if stack else -1
                joints.append(_Joint(joint_name, parent, np.zeros(3), line=at))
                stack.append(len(joints) - 1)
        elif keyword == "}":
            if not stack:
                raise MotionFormatError(path, where, "'}' without an open block")
            stack.pop()
        elif keyword == "OFFSET":
            if not stack:
                raise MotionFormatError(path, where, "OFFSET outside a joint")
            offset = _floats(path, where, words[1:], 3, "OFFSET")
            if stack[-1] == -1:
                end_sites[-1] = (end_sites[-1][0], offset)
            else:
                joints[stack[-1]].offset = offset
        elif keyword == "CHANNELS":
            if not stack or stack[-1] == -1:
                raise MotionFormatError(path, where, "CHANNELS outside a joint")
            try:
                count = int(words[1])
            except (IndexError, ValueError):
                raise MotionFormatError(path, where, "CHANNELS needs a count") from None
            names = words[2:]
            if len(names) != count:
                raise MotionFormatError(
                    path, where, f"CHANNELS says {count} channels but names {len(names)}"
                )
            unknown = [c for c in names if c.lower() not in _ROTATIONS | _POSITIONS]
            if unknown:
                raise MotionFormatError(path, where, f"unknown channel(s) {unknown}")
            joints[stack[-1]].channels = names
        else:
            raise MotionFormatError(path, where, f"unexpected {words[0]!r} in the hierarchy")
    raise MotionFormatError(path, "end of file", "no MOTION section (truncated file?)")


def _parse_motion(
    path: Path, lines: list[str], motion_line: int, joints: list[_Joint]
) -> tuple[np.ndarray, float]:
    start = 0
    for joint in joints:
        joint.channel_start = start
        start += len(joint.channels)
    channel_count = start

    header = [(n, line.split()) for n, line in enumerate(lines, start=1) if n > motion_line]
    header = [(n, words) for n, words in header if words]
    if len(header) < 2:
        raise MotionFormatError(path, f"line {motion_line}", "MOTION without Frames and Frame Time")
    (n_frames_line, frames_words), (n_time_line, time_words) = header[0], header[1]
    if [w.lower() for w in frames_words[:1]] != ["frames:"] or len(frames_words) != 2:
        raise MotionFormatError(path, f"line {n_frames_line}", "expected 'Frames: N'")
    if [w.lower() for w in time_words[:2]] != ["frame", "time:"] or len(time_words) != 3:
        raise MotionFormatError(path, f"line {n_time_line}", "expected 'Frame Time: seconds'")
    try:
        declared = int(frames_words[1])
        frame_time = float(time_words[2])
    except ValueError:
        raise MotionFormatError(
            path, f"line {n_frames_line}", "frame count and frame time must be numbers"
        ) from None
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise MotionFormatError(path, f"line {n_time_line}", "Frame Time must be positive")

    rows = header[2:]
    if len(rows) != declared:
        found = "truncated file?" if len(rows) < declared else "extra lines at the end?"
        raise MotionFormatError(
            path, "MOTION", f"'Frames: {declared}' but {len(rows)} frame lines ({found})"
        )
    frames = np.empty((declared, channel_count))
    for index, (number, words) in enumerate(rows):
        where = f"line {number} (frame {index})"
        frames[index] = _floats(path, where, words, channel_count, "frame")
        if not np.isfinite(frames[index]).all():
            column = int(np.flatnonzero(~np.isfinite(frames[index]))[0])
            raise MotionFormatError(path, where, f"channel {_channel_name(joints, column)} is NaN")
    return frames, frame_time


def _floats(path: Path, where: str, words: list[str], count: int, what: str) -> np.ndarray:
    if len(words) != count:
        raise MotionFormatError(path, where, f"{what} has {len(words)} values, expected {count}")
    try:
        return np.array([float(w) for w in words])
    except ValueError:
        raise MotionFormatError(path, where, f"{what} has a value that is not a number") from None


def _channel_name(joints: list[_Joint], column: int) -> str:
    for joint in joints:
        if joint.channel_start <= column < joint.channel_start + len(joint.channels):
            return f"{joint.name}.{joint.channels[column - joint.channel_start]}"
    return str(column)


def _skeleton(joints: list[_Joint], sites: list[tuple[int, np.ndarray]]) -> BvhSkeleton:
    rest = np.zeros((len(joints), 3))
    for i, joint in enumerate(joints):
        rest[i] = joint.offset + (rest[joint.parent] if joint.parent >= 0 else 0.0)
    end_sites = np.array([rest[parent] + offset for parent, offset in sites]).reshape(-1, 3)
    return BvhSkeleton(
        names=tuple(j.name for j in joints),
        parents=tuple(j.parent for j in joints),
        offsets=rest,
        end_sites=end_sites,
    )


def _is_rest_frame(frames: np.ndarray, rotation_columns: list[int]) -> bool:
    def whole(row: np.ndarray) -> bool:
        values = row[rotation_columns]
        return bool(np.all(values == np.round(values)))

    return whole(frames[0]) and not whole(frames[1])


def _unit(path: Path, skeleton: BvhSkeleton, unit: str | float | None) -> tuple[float, str]:
    if isinstance(unit, (int, float)):
        return float(unit), f"{unit:g} m"
    if isinstance(unit, str):
        for name, scale, _ in _UNITS:
            if unit == name:
                return scale, name
        raise MotionFormatError(
            path,
            "unit",
            f"unknown unit {unit!r}; expected a number or one of {[u[0] for u in _UNITS]}",
        )
    points = np.vstack([skeleton.offsets, skeleton.end_sites])
    extent = float(np.max(np.ptp(points, axis=0)))
    for name, scale, (low, high) in _UNITS:
        if low <= extent <= high:
            return scale, name
    raise MotionFormatError(
        path,
        "OFFSET",
        f"cannot tell the length unit from a rest skeleton {extent:g} units tall; "
        "pass unit= (metres per unit)",
    )


def _up_axis(path: Path, skeleton: BvhSkeleton, up: str | None) -> str:
    if up is not None:
        if up not in ("y", "z"):
            raise MotionFormatError(path, "up", f"expected 'y' or 'z', got {up!r}")
        return up
    # In the rest pose the feet hang below the root: the axis of the largest downward reach.
    lowest = np.vstack([skeleton.offsets, skeleton.end_sites]).min(axis=0)
    axis = int(np.argmin(lowest))
    if axis == 0:
        raise MotionFormatError(path, "OFFSET", "the skeleton hangs along x; pass up='y' or 'z'")
    return "yz"[axis - 1]


def _forward_kinematics(joints: list[_Joint], frames: np.ndarray) -> np.ndarray:
    count = frames.shape[0]
    positions = np.zeros((count, len(joints), 3))
    rotations: list[Rotation] = []
    for index, joint in enumerate(joints):
        local_translation = np.broadcast_to(joint.offset, (count, 3)).copy()
        order, angles = "", []
        for k, channel in enumerate(joint.channels):
            column = frames[:, joint.channel_start + k]
            key = channel.lower()
            if key in _POSITIONS:
                local_translation[:, _POSITIONS[key]] = column
            else:
                order += _ROTATIONS[key]
                angles.append(column)
        local = (
            Rotation.from_euler(order, np.stack(angles, axis=1), degrees=True)
            if order
            else Rotation.identity(count)
        )
        if joint.parent < 0:
            positions[:, index] = local_translation
            rotations.append(local)
        else:
            parent = rotations[joint.parent]
            positions[:, index] = positions[:, joint.parent] + parent.apply(local_translation)
            rotations.append(parent * local)
    return positions


def _canonical(names: tuple[str, ...]) -> tuple[tuple[str, ...], list[int]]:
    lowered = [n.lower() for n in names]
    canonical, index = [], []
    for keypoint, aliases in JOINT_ALIASES.items():
        for alias in aliases:
            if alias in lowered:
                if keypoint == "pelvis" and lowered.index(alias) != 0:
                    continue  # the pelvis is the root joint, whatever its name
                canonical.append(keypoint)
                index.append(lowered.index(alias))
                break
    if "pelvis" not in canonical and names:
        canonical.insert(0, "pelvis")
        index.insert(0, 0)
    return tuple(canonical), index
