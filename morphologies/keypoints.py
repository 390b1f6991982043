"""The canonical keypoints every body and motion source names, where a body places them, and
which of its axes are forward and up."""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

# Canonical keypoint names, shared by every morphology and every motion source. A body may
# lack some (no heel on a bird's foot? then it has none); the tracked set is per morphology.
CANONICAL_KEYPOINTS = (
    "pelvis",
    "r_hip",
    "l_hip",
    "r_knee",
    "l_knee",
    "r_ankle",
    "l_ankle",
    "r_heel",
    "l_heel",
    "r_mtp",
    "l_mtp",
    "r_toe",
    "l_toe",
    "torso",
    "neck_base",
    "head",
)

_AXES = {
    "+x": (1.0, 0.0, 0.0),
    "-x": (-1.0, 0.0, 0.0),
    "+y": (0.0, 1.0, 0.0),
    "-y": (0.0, -1.0, 0.0),
    "+z": (0.0, 0.0, 1.0),
    "-z": (0.0, 0.0, -1.0),
}


@dataclass(frozen=True)
class Keypoint:
    """A canonical keypoint placed on a body origin or a site of the model."""

    name: str
    element: str  # "body" or "site"
    target: str  # the body or site name in the compiled model

    def __post_init__(self) -> None:
        if self.name not in CANONICAL_KEYPOINTS:
            raise ValueError(
                f"keypoint {self.name!r} is not canonical; expected one of {CANONICAL_KEYPOINTS}"
            )
        if self.element not in ("body", "site"):
            raise ValueError(f"keypoint {self.name!r}: element must be 'body' or 'site'")


@dataclass(frozen=True)
class FrameConvention:
    """Which model axes are forward and up when the body stands in its standing pose."""

    forward: str  # one of "+x", "-x", "+y", "-y"
    up: str = "+z"

    def __post_init__(self) -> None:
        for label, axis in (("forward", self.forward), ("up", self.up)):
            if axis not in _AXES:
                raise ValueError(f"frame {label} axis {axis!r}: expected one of {sorted(_AXES)}")
        if abs(np.dot(self.forward_vector, self.up_vector)) > 0:
            raise ValueError(f"forward {self.forward} and up {self.up} must be orthogonal")

    @property
    def forward_vector(self) -> np.ndarray:
        return np.array(_AXES[self.forward])

    @property
    def up_vector(self) -> np.ndarray:
        return np.array(_AXES[self.up])

    @property
    def left_vector(self) -> np.ndarray:
        """Right-handed: left = up x forward."""
        return np.cross(self.up_vector, self.forward_vector)


@dataclass(frozen=True)
class KeypointIndex:
    """Keypoint names resolved to body and site ids of one compiled model."""

    names: tuple[str, ...]
    is_site: np.ndarray  # (K,) bool
    ids: np.ndarray  # (K,) body or site id

    @classmethod
    def resolve(cls, model: mujoco.MjModel, keypoints: tuple[Keypoint, ...]) -> KeypointIndex:
        ids = []
        for kp in keypoints:
            obj = mujoco.mjtObj.mjOBJ_SITE if kp.element == "site" else mujoco.mjtObj.mjOBJ_BODY
            idx = mujoco.mj_name2id(model, obj, kp.target)
            if idx < 0:
                raise ValueError(
                    f"keypoint {kp.name!r}: the model has no {kp.element} named {kp.target!r}"
                )
            ids.append(idx)
        return cls(
            names=tuple(k.name for k in keypoints),
            is_site=np.array([k.element == "site" for k in keypoints]),
            ids=np.array(ids, dtype=np.int64),
        )

    def positions(self, data: mujoco.MjData, names: tuple[str, ...] | None = None) -> np.ndarray:
        # Vectorised over keypoints: this runs every IK iteration and, later, every env step.
        out = np.empty((len(self.names), 3))
        out[~self.is_site] = data.xpos[self.ids[~self.is_site]]
        out[self.is_site] = data.site_xpos[self.ids[self.is_site]]
        return out if names is None else out[[self.row(n) for n in names]]

    def row(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no keypoint {name!r}; this body has {list(self.names)}") from None
