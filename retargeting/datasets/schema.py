"""The dataset schema, version 1 (documented for users in docs/dataset_format.md).

File attributes: schema_version, morphology, model_hash, package_version, creation (JSON).
One group per clip under /clips, with arrays qpos (T, nq), qvel (T, nv), keypoints
(T, K, 3), foot_contacts (T, 2) and attributes fps, keypoint_names, source, subject,
licence, original_fps, notes, quality, rejected.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

FILE_ATTRIBUTES = ("schema_version", "morphology", "model_hash", "package_version", "creation")
CLIP_ARRAYS = ("qpos", "qvel", "keypoints", "foot_contacts")
CLIP_ATTRIBUTES = (
    "fps",
    "keypoint_names",
    "source",
    "subject",
    "licence",
    "original_fps",
    "notes",
    "quality",
    "rejected",
)


class DatasetFormatError(ValueError):
    """A dataset file that cannot be used; names the file, the field and the problem."""

    def __init__(self, path: object, field: str, problem: str) -> None:
        self.path, self.field, self.problem = str(path), field, problem
        super().__init__(f"{path}: {field}: {problem}")


class ModelHashMismatch(DatasetFormatError):
    """The file was made for a different build of the morphology's model."""
