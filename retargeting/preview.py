"""A stick-figure check of a retargeting: the keypoint targets made from the source (scaled to
the body, or Froude-scaled onto the ostrich) against the body's keypoints after IK, at the
first, middle and last frame."""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

from morphologies import Morphology
from retargeting.datasets.clip import Clip
from retargeting.motion import Motion
from retargeting.retarget import reference_targets

# Bones drawn between canonical keypoints, where both ends exist.
BONES = (
    ("pelvis", "r_hip"), ("pelvis", "l_hip"),
    ("r_hip", "r_knee"), ("r_knee", "r_ankle"), ("r_ankle", "r_toe"), ("r_ankle", "r_heel"),
    ("l_hip", "l_knee"), ("l_knee", "l_ankle"), ("l_ankle", "l_toe"), ("l_ankle", "l_heel"),
    ("r_ankle", "r_mtp"), ("r_mtp", "r_toe"), ("l_ankle", "l_mtp"), ("l_mtp", "l_toe"),
    ("pelvis", "torso"), ("pelvis", "neck_base"), ("neck_base", "head"), ("pelvis", "head"),
)  # fmt: skip


def draw_preview(motion: Motion, clip: Clip, morphology: Morphology, path: str | Path) -> Path:
    """Write a PNG with three 3-D panels (first, middle, last frame of the clip)."""
    import matplotlib  # noqa: PLC0415 (matplotlib: heavy, figures only)

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt  # noqa: PLC0415 (matplotlib: heavy, figures only)

    source, _ = reference_targets(motion, morphology, clip.fps)
    frames = sorted({0, clip.qpos.shape[0] // 2, clip.qpos.shape[0] - 1})
    figure = plt.figure(figsize=(4.2 * len(frames), 4.6))
    for column, frame in enumerate(frames):
        axes = figure.add_subplot(1, len(frames), column + 1, projection="3d")
        _skeleton(
            axes,
            source.keypoints[min(frame, source.num_frames - 1)],
            source.keypoint_names,
            "tab:blue",
            "targets from the source",
        )
        _skeleton(
            axes,
            clip.keypoints[frame],
            clip.keypoint_names,
            "tab:red",
            f"{morphology.name} after IK",
        )
        body_points, body_names = _body_points(morphology, clip.qpos[frame])
        _skeleton(
            axes,
            body_points,
            body_names,
            "tab:red",
            None,
            alpha=0.35,
        )
        centre = clip.keypoints[frame].mean(axis=0)
        half = 0.95  # a 1.9 m cube around the body: room for the head
        axes.set_xlim(centre[0] - half, centre[0] + half)
        axes.set_ylim(centre[1] - half, centre[1] + half)
        axes.set_zlim(0.0, 2 * half)
        axes.set_box_aspect((1, 1, 1))
        axes.set_title(f"frame {frame} of {clip.qpos.shape[0]} ({frame / clip.fps:.2f} s)")
        axes.set_xlabel("x (m)")
        axes.set_ylabel("y (m)")
        axes.set_zlabel("z (m)")
    figure.axes[0].legend(loc="upper left", fontsize=8)
    status = "accepted" if not clip.rejected else "rejected: " + "; ".join(clip.rejected)
    figure.suptitle(
        f"{clip.name} -> {morphology.name}: "
        f"mean residual {clip.quality.residual_mean_mm:.1f} mm, {status}"
    )
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _body_points(morphology: Morphology, qpos: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """All of the body's canonical keypoints at one pose (the tracked ones are a subset)."""

    model = morphology.model()
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    index = morphology.keypoint_index()
    return index.positions(data), index.names


def _skeleton(axes, points, names, colour, label, alpha=1.0) -> None:
    named = dict(zip(names, points, strict=True))
    drawn = False
    for a, b in BONES:
        through_mtp = (a, b) in (
            ("r_ankle", "r_toe"),
            ("l_ankle", "l_toe"),
        ) and f"{a[0]}_mtp" in named
        if a in named and b in named and not through_mtp:
            line = np.stack([named[a], named[b]])
            axes.plot(
                *line.T, color=colour, alpha=alpha, linewidth=2, label=None if drawn else label
            )
            drawn = True
    axes.scatter(*points.T, color=colour, alpha=alpha, s=12)
