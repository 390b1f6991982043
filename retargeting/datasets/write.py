"""Writing datasets: clip by clip into `<file>.partial`, renamed into place when complete.

An interrupted write leaves the `.partial` file with every clip finished so far; the next
writer for the same file, morphology, model and creation parameters picks it up and skips
those clips. A reader never sees a half-written file under the final name.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np

from morphologies import Morphology
from retargeting.datasets.clip import Clip
from retargeting.datasets.schema import CLIP_ARRAYS, CLIP_ATTRIBUTES, SCHEMA_VERSION

# HDF5's 1.10 file format checksums its metadata (superblock 3, version-2 object headers),
# and fletcher32 checksums each array chunk: a damaged file is then refused by the library.
# The older format it writes by default has no metadata checksums, and on some damaged
# files libhdf5 loops forever or crashes instead of raising (found by the corruption test).
# Text attributes are fixed-length strings for the same reason: h5py's default, the
# variable-length string, lives in HDF5's global heap, which has no checksum.
FILE_FORMAT = ("v110", "v110")


def _set_attributes(target: h5py.AttributeManager, values: dict) -> None:
    for key, value in values.items():
        if isinstance(value, str):
            encoded = value.encode("utf-8")
            value = np.array(encoded, dtype=h5py.string_dtype("utf-8", max(len(encoded), 1)))
        target[key] = value


def _text(value: object) -> object:
    """A text attribute as written, whichever way it was stored."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def package_version() -> str:
    try:
        return version("crossmimic")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


class DatasetWriter:
    """Append clips to a dataset file; `close()` (or leaving the `with`) publishes it."""

    def __init__(
        self,
        path: str | Path,
        morphology: Morphology,
        creation: dict,
        dtype: type[np.floating] = np.float64,
    ) -> None:
        self.path = Path(path)
        self.dtype = dtype  # of qpos, qvel and keypoints; the shipped suites use float32
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        attributes = {
            "schema_version": SCHEMA_VERSION,
            "morphology": morphology.name,
            "model_hash": morphology.model_hash,
            "package_version": package_version(),
            "creation": json.dumps(creation, sort_keys=True),
        }
        self._file = self._resume(attributes) or self._start(attributes)

    def _start(self, attributes: dict) -> h5py.File:
        handle = h5py.File(self.partial, "w", libver=FILE_FORMAT)
        _set_attributes(handle.attrs, attributes)
        handle.create_group("clips")
        return handle

    def _resume(self, attributes: dict) -> h5py.File | None:
        if not self.partial.exists():
            return None
        try:
            handle = h5py.File(self.partial, "r+")
        except OSError:
            return None  # unreadable leftovers: start again
        same = all(
            _text(handle.attrs.get(k)) == v for k, v in attributes.items() if k != "package_version"
        )
        if not same or "clips" not in handle:
            handle.close()
            return None
        for name in list(handle["clips"]):  # drop a clip the interruption cut short
            group = handle["clips"][name]
            if not all(k in group for k in CLIP_ARRAYS) or not all(
                k in group.attrs for k in CLIP_ATTRIBUTES
            ):
                del handle["clips"][name]
        return handle

    @property
    def done(self) -> set[str]:
        """Clips already in the file (from this run or an interrupted one)."""
        return set(self._file["clips"])

    def add(self, clip: Clip) -> None:
        group = self._file["clips"].create_group(clip.name)
        for key in ("qpos", "qvel", "keypoints"):
            data = np.asarray(getattr(clip, key), dtype=self.dtype)
            group.create_dataset(key, data=data, compression="gzip", shuffle=True, fletcher32=True)
        group.create_dataset(
            "foot_contacts", data=clip.foot_contacts.astype(bool), chunks=True, fletcher32=True
        )
        meta = clip.meta
        _set_attributes(
            group.attrs,
            {
                "fps": float(clip.fps),
                "keypoint_names": json.dumps(list(clip.keypoint_names)),
                "source": meta.source,
                "subject": meta.subject,
                "licence": meta.licence,
                "original_fps": float(meta.original_fps),
                "notes": json.dumps(list(meta.notes)),
                "quality": json.dumps(clip.quality.as_dict()),
                "rejected": json.dumps(list(clip.rejected)),
            },
        )
        self._file.flush()

    def close(self) -> Path:
        """Finish the file and move it into place; returns its final path."""
        self._file.close()
        os.replace(self.partial, self.path)
        return self.path

    def abandon(self) -> None:
        """Stop without publishing; the `.partial` file stays for a later resume, unless it
        holds no clip (then there is nothing to resume, and nothing is left behind)."""
        empty = not self.done
        self._file.close()
        if empty:
            self.partial.unlink(missing_ok=True)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()


def write_dataset(
    path: str | Path, morphology: Morphology, clips: list[Clip], creation: dict | None = None
) -> Path:
    """Write `clips` of `morphology` to a new dataset file at `path` (atomically)."""
    with DatasetWriter(path, morphology, creation or {}) as writer:
        for clip in clips:
            if clip.name not in writer.done:
                writer.add(clip)
    return Path(path)
