"""Reading datasets lazily, refusing files that do not fit the installed morphology.

Opening checks the whole layout (attributes, every clip's fields and shapes) without
reading the arrays; `clip(name)` reads one clip. Every fault is a `DatasetFormatError`
that names the file, the field and the problem.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np

import morphologies
from morphologies import Morphology
from retargeting.datasets.clip import Clip
from retargeting.datasets.schema import (
    CLIP_ARRAYS,
    CLIP_ATTRIBUTES,
    FILE_ATTRIBUTES,
    SCHEMA_VERSION,
    DatasetFormatError,
    ModelHashMismatch,
)
from retargeting.motion import MotionMeta
from retargeting.quality import Quality

# Errors h5py and the decoders raise on damaged content; each becomes a DatasetFormatError.
_DAMAGE = (OSError, KeyError, TypeError, ValueError, AttributeError, RuntimeError)


class Dataset:
    """One dataset file. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        path: str | Path,
        morphology: Morphology | None = None,
        *,
        allow_model_mismatch: bool = False,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DatasetFormatError(self.path, "file", "does not exist")
        try:
            self._file = h5py.File(self.path, "r")
        except _DAMAGE as error:
            raise DatasetFormatError(
                self.path, "file", f"not a readable HDF5 file ({error})"
            ) from None
        try:
            self.morphology = self._check_header(morphology, allow_model_mismatch)
            self.names = self._check_clips()
        except DatasetFormatError:
            self._file.close()
            raise
        except _DAMAGE as error:
            self._file.close()
            raise DatasetFormatError(self.path, "file", f"damaged ({error})") from None

    # -- checks -----------------------------------------------------------------------
    def _fail(self, field: str, problem: str) -> DatasetFormatError:
        return DatasetFormatError(self.path, field, problem)

    def _check_header(self, morphology: Morphology | None, allow_mismatch: bool) -> Morphology:
        attrs = self._file.attrs
        for key in FILE_ATTRIBUTES:
            if key not in attrs:
                raise self._fail(key, "missing file attribute")
        version = attrs["schema_version"]
        if not isinstance(version, (int, np.integer)):
            raise self._fail("schema_version", f"expected an integer, got {version!r}")
        if version > SCHEMA_VERSION:
            raise self._fail(
                "schema_version",
                f"version {version} is newer than this crossmimic reads ({SCHEMA_VERSION}); "
                "upgrade crossmimic",
            )
        if version < 1:
            raise self._fail("schema_version", f"expected >= 1, got {version}")
        name = self._text(attrs["morphology"], "morphology")
        if morphology is None:
            try:
                morphology = morphologies.get(name)
            except LookupError:
                raise self._fail("morphology", f"{name!r} is not an installed morphology") from None
        elif morphology.name != name:
            raise self._fail("morphology", f"file is for {name!r}, not {morphology.name!r}")
        mismatch = morphology.model_mismatch(self._text(attrs["model_hash"], "model_hash"))
        if mismatch:
            message = f"the file was {mismatch}; its clips may not replay on this model"
            if not allow_mismatch:
                raise ModelHashMismatch(
                    self.path, "model_hash", message + " (allow_model_mismatch=True to load anyway)"
                )
            warnings.warn(f"{self.path}: model_hash: {message}", stacklevel=3)
        self.creation = self._json(attrs["creation"], "creation", dict)
        return morphology

    def _check_clips(self) -> tuple[str, ...]:
        if "clips" not in self._file or not isinstance(self._file["clips"], h5py.Group):
            raise self._fail("clips", "missing group")
        model = self.morphology.model()
        names = tuple(sorted(self._file["clips"]))
        for name in names:
            group = self._file["clips"][name]
            where = f"clips/{name}"
            if not isinstance(group, h5py.Group):
                raise self._fail(where, "expected a group")
            for key in CLIP_ATTRIBUTES:
                if key not in group.attrs:
                    raise self._fail(f"{where}.{key}", "missing attribute")
            for key in CLIP_ARRAYS:
                if key not in group or not isinstance(group[key], h5py.Dataset):
                    raise self._fail(f"{where}/{key}", "missing array")
            keypoint_names = self._json(
                group.attrs["keypoint_names"], f"{where}.keypoint_names", list
            )
            frames = group["qpos"].shape[0] if group["qpos"].ndim else 0
            expected = {
                "qpos": (frames, model.nq),
                "qvel": (frames, model.nv),
                "keypoints": (frames, len(keypoint_names), 3),
                "foot_contacts": (frames, 2),
            }
            for key, shape in expected.items():
                if group[key].shape != shape:
                    raise self._fail(
                        f"{where}/{key}", f"expected shape {shape}, got {group[key].shape}"
                    )
            if frames < 1:
                raise self._fail(f"{where}/qpos", "no frames")
            attrs = group.attrs
            if not self._number(attrs["fps"]) > 0:
                raise self._fail(
                    f"{where}.fps", f"expected a positive number, got {attrs['fps']!r}"
                )
            if not self._number(attrs["original_fps"]) >= 0:
                raise self._fail(
                    f"{where}.original_fps",
                    f"expected a number >= 0, got {attrs['original_fps']!r}",
                )
            for key in ("source", "subject", "licence"):
                self._text(attrs[key], f"{where}.{key}")
            for key, kind in (("notes", list), ("rejected", list), ("quality", dict)):
                self._json(attrs[key], f"{where}.{key}", kind)
        return names

    @staticmethod
    def _number(value: object) -> float:
        """The value as a float; NaN (fails every comparison) when it is not a number."""
        if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (float, int, np.floating, np.integer)
        ):
            return float("nan")
        return float(value)

    def _text(self, value: object, field: str) -> str:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            raise self._fail(field, f"expected text, got {value!r}")
        return value

    def _json(self, value: object, field: str, kind: type) -> object:
        try:
            decoded = json.loads(self._text(value, field))
        except json.JSONDecodeError:
            raise self._fail(field, "expected JSON text") from None
        if not isinstance(decoded, kind):
            raise self._fail(field, f"expected a JSON {kind.__name__}")
        return decoded

    # -- access -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[Clip]:
        return (self.clip(name) for name in self.names)

    def clip(self, name: str) -> Clip:
        """Read one clip's arrays and metadata."""
        if name not in self.names:
            raise KeyError(f"{self.path}: no clip {name!r}; it has {list(self.names)}")
        where = f"clips/{name}"
        group = self._file["clips"][name]
        arrays = {}
        for key in CLIP_ARRAYS:
            try:
                # float64 whatever was stored: the shipped suites keep float32 on disk
                arrays[key] = group[key][()] if key == "foot_contacts" else _float64(group[key])
            except _DAMAGE as error:
                raise self._fail(f"{where}/{key}", f"unreadable ({error})") from None
        attrs = group.attrs
        try:
            quality = Quality(**self._json(attrs["quality"], f"{where}.quality", dict))
        except TypeError as error:
            raise self._fail(f"{where}.quality", f"unexpected fields ({error})") from None
        try:
            return self._clip(name, where, arrays, attrs, quality)
        except _DAMAGE as error:
            raise self._fail(where, f"damaged ({error})") from None

    def _clip(self, name, where, arrays, attrs, quality) -> Clip:
        return Clip(
            name=name,
            morphology=self.morphology.name,
            fps=float(attrs["fps"]),
            qpos=arrays["qpos"],
            qvel=arrays["qvel"],
            keypoint_names=tuple(
                self._json(attrs["keypoint_names"], f"{where}.keypoint_names", list)
            ),
            keypoints=arrays["keypoints"],
            foot_contacts=arrays["foot_contacts"].astype(bool),
            quality=quality,
            rejected=tuple(self._json(attrs["rejected"], f"{where}.rejected", list)),
            meta=MotionMeta(
                source=self._text(attrs["source"], f"{where}.source"),
                subject=self._text(attrs["subject"], f"{where}.subject"),
                licence=self._text(attrs["licence"], f"{where}.licence"),
                original_fps=float(attrs["original_fps"]),
                notes=tuple(self._json(attrs["notes"], f"{where}.notes", list)),
            ),
        )

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _float64(array: h5py.Dataset) -> np.ndarray:
    return np.asarray(array[()], dtype=np.float64)


def open_dataset(
    path: str | Path, morphology: Morphology | None = None, *, allow_model_mismatch: bool = False
) -> Dataset:
    """Open a dataset; its morphology is looked up by name unless given."""
    return Dataset(path, morphology, allow_model_mismatch=allow_model_mismatch)
