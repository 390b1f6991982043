"""A stable fingerprint of a compiled MuJoCo model.

Datasets and results are bound to the exact model they were made with, so the hash must be
the same for the same model on every machine and change whenever anything that affects the
physics, the keypoints or the standing pose changes.

Why not hash the MJB file that `mj_saveModel` writes: it embeds the absolute paths of the mesh
files (`model.paths`), which differ between installs. Instead every numeric array of the model
is hashed by name, leaving out asset paths and rendering-only fields. Floating-point arrays
are rounded to float32 first, so last-bit differences of the compiler's arithmetic between
CPUs (mesh inertia, for one) do not split the hash.
"""

from __future__ import annotations

import hashlib

import mujoco
import numpy as np

# Fields that do not change the simulation or the keypoints: asset file paths and the look of
# the model. Matched as prefixes of MjModel attribute names.
_IGNORED_PREFIXES = (
    "nbuffer",  # the size of the model's buffer, which holds the asset paths
    "paths",
    "npaths",
    "mesh_pathadr",
    "hfield_pathadr",
    "texture_pathadr",
    "skin_",
    "nskin",
    "tex_",
    "ntex",
    "mat_",
    "nmat",
    "light_",
    "nlight",
    "cam_",
    "ncam",
    "vis",
    "stat",
    "flex_rgba",
)
_IGNORED_SUFFIXES = ("_rgba", "_matid", "_group")

# Simulation options that are part of the model's physics.
_OPTION_FIELDS = (
    "timestep",
    "gravity",
    "wind",
    "density",
    "viscosity",
    "impratio",
    "tolerance",
    "integrator",
    "cone",
    "jacobian",
    "solver",
    "iterations",
    "ls_iterations",
    "noslip_iterations",
    "disableflags",
    "enableflags",
    "o_margin",
    "o_solref",
    "o_solimp",
    "o_friction",
)


def _hashed_fields(model: mujoco.MjModel) -> list[str]:
    fields = []
    for name in dir(model):
        if name.startswith("_") or name.startswith(_IGNORED_PREFIXES):
            continue
        if name.endswith(_IGNORED_SUFFIXES):
            continue
        value = getattr(model, name)
        if isinstance(value, (np.ndarray, int, bytes)) and not isinstance(value, bool):
            fields.append(name)
    return sorted(fields)


def _feed(digest: hashlib._Hash, label: str, value: object) -> None:
    if isinstance(value, bytes):  # the names buffer
        digest.update(label.encode() + value)
        return
    array = np.asarray(value)
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    digest.update(label.encode())
    digest.update(str(array.shape).encode())
    digest.update(np.ascontiguousarray(array).tobytes())


def model_hash(model: mujoco.MjModel) -> str:
    """Return the SHA-256 hex digest of the model's physics, geometry, names and keyframes."""
    digest = hashlib.sha256()
    for name in _hashed_fields(model):
        _feed(digest, name, getattr(model, name))
    for name in _OPTION_FIELDS:
        if hasattr(model.opt, name):
            _feed(digest, f"opt.{name}", getattr(model.opt, name))
    return digest.hexdigest()
