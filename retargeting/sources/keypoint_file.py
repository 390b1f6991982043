"""Keypoint `.npz` files -> canonical `Motion`.

The format: `keypoints` (T, K, 3) in metres, world frame, z up; `keypoint_names` (K,)
strings; `fps` a positive scalar. Optional `subject` and `licence` strings. This is the
format of the real ostrich keypoint clips used to validate cross-species retargeting.
An optional `species` string says whose motion it is ("human" unless given).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from retargeting.motion import Motion, MotionFormatError, MotionMeta

REQUIRED = ("keypoints", "keypoint_names", "fps")


def load_keypoint_npz(path: str | Path, *, licence: str = "", species: str = "") -> Motion:
    """Read one keypoint clip; every fault names the file and the field."""
    path = Path(path)
    arrays = read_npz(path)
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise MotionFormatError(
            path,
            missing[0],
            f"missing; a keypoint file has {list(REQUIRED)}, found {sorted(arrays)}",
        )
    names = arrays["keypoint_names"]
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise MotionFormatError(
            path,
            "keypoint_names",
            f"expected a 1-D array of strings, got {names.dtype} {names.shape}",
        )
    fps = scalar(path, arrays, "fps")
    return Motion(
        name=path.stem,
        keypoints=arrays["keypoints"],
        keypoint_names=tuple(str(n) for n in names),
        fps=fps,
        meta=MotionMeta(
            source=str(path),
            subject=str(arrays["subject"]) if "subject" in arrays else "",
            licence=str(arrays["licence"]) if "licence" in arrays else licence,
            original_fps=fps,
            species=species or (str(arrays["species"]) if "species" in arrays else "human"),
        ),
    )


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an `.npz`, without pickles; unreadable files raise MotionFormatError."""
    if not path.is_file():
        raise MotionFormatError(path, "file", "does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise MotionFormatError(path, "file", f"not a readable .npz archive ({error})") from None


def scalar(path: Path, arrays: dict[str, np.ndarray], key: str) -> float:
    value = arrays[key]
    if value.size != 1 or value.dtype.kind not in "iuf":
        raise MotionFormatError(path, key, f"expected one number, got {value.dtype} {value.shape}")
    return float(value.reshape(()))
