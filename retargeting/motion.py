"""The canonical motion: named 3-D keypoint trajectories, metres, z up, at a known frame rate.

Every motion source (BVH, AMASS, keypoint files, the procedural generator) produces one;
every retargeter consumes one. Keypoint names follow `morphologies.CANONICAL_KEYPOINTS`
where the source has the point; a source may carry extra names (an ostrich's beak), which
retargeters ignore.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


class MotionFormatError(ValueError):
    """Bad motion input. The message names the file, the field (or line, or frame) and what
    was expected."""

    def __init__(self, path: object, where: str, problem: str) -> None:
        self.path, self.where, self.problem = str(path), where, problem
        super().__init__(f"{path}: {where}: {problem}")


SPECIES = ("human", "ostrich")  # whose motions the retargeters know
MAX_DURATION_S = 600.0  # longer than any clip of the field; guards against a wrong frame rate
# Fastest plausible motion between two frames, m/s, per species: the root (the pelvis, or
# the keypoints' mean) and any keypoint. Sprinters peak near 12.4 m/s and a running foot
# near 2.5x the body's speed; ostriches run at up to about 19 m/s. Past these a motion has
# a wrong unit or frame rate, or damaged frames, and no body could follow it.
MAX_ROOT_SPEED = {"human": 15.0, "ostrich": 25.0}
MAX_KEYPOINT_SPEED = {"human": 40.0, "ostrich": 60.0}


@dataclass(frozen=True)
class MotionMeta:
    """Where a motion comes from. `licence` is the text the source asks users to keep."""

    source: str  # file name or generator description
    subject: str = ""
    licence: str = ""
    original_fps: float = 0.0
    species: str = "human"  # whose movement it is; retargeting picks its method from it
    notes: tuple[str, ...] = ()  # what was done to the data on the way in


@dataclass(frozen=True)
class Motion:
    name: str
    keypoints: np.ndarray  # (T, K, 3) float64, metres, world frame, z up
    keypoint_names: tuple[str, ...]
    fps: float
    meta: MotionMeta = field(default_factory=lambda: MotionMeta(source="unknown"))

    def __post_init__(self) -> None:
        where = self.meta.source
        raw = np.asarray(self.keypoints)
        if raw.dtype.kind not in "iuf":
            raise MotionFormatError(
                where, "keypoints", f"expected real numbers, got an array of {raw.dtype}"
            )
        points = raw.astype(np.float64)
        object.__setattr__(self, "keypoints", points)
        object.__setattr__(self, "keypoint_names", tuple(self.keypoint_names))
        if points.ndim != 3 or points.shape[2] != 3:
            raise MotionFormatError(
                where, "keypoints", f"expected shape (T, K, 3), got {points.shape}"
            )
        if points.shape[0] < 2:
            raise MotionFormatError(
                where, "keypoints", f"expected at least 2 frames, got {points.shape[0]}"
            )
        if points.shape[1] == 0:
            raise MotionFormatError(where, "keypoints", "expected at least one keypoint, got none")
        if points.shape[1] != len(self.keypoint_names):
            raise MotionFormatError(
                where,
                "keypoint_names",
                f"{len(self.keypoint_names)} names for {points.shape[1]} keypoints",
            )
        if len(set(self.keypoint_names)) != len(self.keypoint_names):
            raise MotionFormatError(where, "keypoint_names", "names must be unique")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise MotionFormatError(where, "fps", f"expected a positive number, got {self.fps}")
        if self.duration > MAX_DURATION_S:
            raise MotionFormatError(
                where,
                "fps",
                f"{points.shape[0]} frames at {self.fps:g} fps last {self.duration:.3g} s; "
                f"a motion is at most {MAX_DURATION_S:g} s (is the frame rate right?)",
            )
        if self.meta.species not in SPECIES:
            raise MotionFormatError(
                where, "species", f"{self.meta.species!r} is not one of {', '.join(SPECIES)}"
            )
        bad = np.argwhere(~np.isfinite(points))
        if len(bad):
            frame, point = bad[0][:2]
            raise MotionFormatError(
                where,
                f"frame {frame}",
                f"keypoint {self.keypoint_names[point]!r} is not finite "
                f"({len(bad)} non-finite values in all)",
            )
        self._check_speeds(where)

    def _check_speeds(self, where: str) -> None:
        """Refuse root or keypoint speeds no body reaches (`MAX_ROOT_SPEED`, ...)."""
        species, points = self.meta.species, self.keypoints
        root = (
            points[:, self.keypoint_names.index("pelvis")]
            if "pelvis" in self.keypoint_names
            else points.mean(axis=1)
        )
        checks = (
            ("root", np.linalg.norm(np.diff(root, axis=0), axis=1)[:, None], MAX_ROOT_SPEED),
            ("keypoint", np.linalg.norm(np.diff(points, axis=0), axis=2), MAX_KEYPOINT_SPEED),
        )
        for what, steps, limits in checks:
            speed = steps * self.fps
            if speed.max() > limits[species]:
                frame, point = np.unravel_index(int(np.argmax(speed)), speed.shape)
                name = "the root" if what == "root" else repr(self.keypoint_names[point])
                raise MotionFormatError(
                    where,
                    f"frame {frame + 1}",
                    f"{name} moves at {speed[frame, point]:.3g} m/s from the frame before; a "
                    f"{species}'s {what} moves at most {limits[species]:g} m/s (a wrong unit "
                    "or frame rate, or damaged frames?)",
                )

    @property
    def num_frames(self) -> int:
        return self.keypoints.shape[0]

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return (self.num_frames - 1) / self.fps

    def has(self, *names: str) -> bool:
        return all(n in self.keypoint_names for n in names)

    def keypoint(self, name: str) -> np.ndarray:
        """The (T, 3) trajectory of one keypoint."""
        try:
            return self.keypoints[:, self.keypoint_names.index(name)]
        except ValueError:
            raise KeyError(
                f"motion {self.name!r} has no keypoint {name!r}; it has {list(self.keypoint_names)}"
            ) from None

    def resample(self, fps: float) -> Motion:
        """Linear interpolation to a new frame rate over the same duration (never relabelling)."""
        if fps == self.fps:
            return self
        times = np.arange(self.num_frames) / self.fps
        count = int(np.floor(self.duration * fps + 1e-9)) + 1
        new_times = np.arange(count) / fps
        flat = self.keypoints.reshape(self.num_frames, -1)
        resampled = np.stack([np.interp(new_times, times, column) for column in flat.T], axis=1)
        note = f"resampled {self.fps:g} -> {fps:g} fps by linear interpolation"
        return replace(
            self,
            keypoints=resampled.reshape(count, *self.keypoints.shape[1:]),
            fps=float(fps),
            meta=replace(self.meta, notes=(*self.meta.notes, note)),
        )

    def select(self, names: tuple[str, ...]) -> Motion:
        """The same motion with only the named keypoints, in that order."""
        index = [self.keypoint_names.index(n) for n in names]
        return replace(self, keypoints=self.keypoints[:, index], keypoint_names=tuple(names))
