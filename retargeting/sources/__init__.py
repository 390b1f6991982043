"""Motion sources: each reads one kind of file into a canonical `Motion`.

`load_motion` picks the reader from the file: `.bvh` is motion capture; an `.npz` with
`poses` is AMASS/SMPL, one with `keypoints` is a keypoint file.
"""

from __future__ import annotations

from pathlib import Path

from retargeting.motion import Motion, MotionFormatError
from retargeting.sources.amass import load_amass
from retargeting.sources.bvh import load_bvh
from retargeting.sources.keypoint_file import load_keypoint_npz, read_npz

__all__ = ["load_amass", "load_bvh", "load_keypoint_npz", "load_motion"]


def load_motion(path: str | Path) -> Motion:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return load_bvh(path)
    if suffix == ".npz":
        keys = read_npz(path).keys()
        if "poses" in keys:
            return load_amass(path)
        if "keypoints" in keys:
            return load_keypoint_npz(path)
        raise MotionFormatError(
            path, "file", f"an .npz needs 'poses' (AMASS) or 'keypoints', found {sorted(keys)}"
        )
    raise MotionFormatError(path, "file", f"unknown motion format {suffix!r}; use .bvh or .npz")
