"""Videos of a body tracking its reference: `benchmark render`.

Each frame is MuJoCo's offscreen renderer on a light scene (no shadows, reflections or
skybox, so a CPU renders 640x480 quickly): muscles coloured by activation (blue at rest, red
at full activation), the reference keypoints as a green ghost skeleton, a camera that follows
the pelvis from the body's side, and the clip frame and live MPJPE in the top-left corner.
Without a display MuJoCo needs `MUJOCO_GL=osmesa` (Debian: libosmesa6, which the setup
installs) or `egl`; osmesa is chosen when nothing is set. Videos are written with imageio
(MP4 through its bundled ffmpeg, or GIF by the file suffix).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

import morphologies
from benchmark import protocol
from benchmark.agents import load_agent
from benchmark.episode import Job, evaluation_env, play
from retargeting.datasets import open_dataset
from retargeting.files import atomic_path

GHOST_RGBA = (0.1, 0.85, 0.2, 0.85)
REST_RGBA = np.array([0.2, 0.3, 0.9, 1.0])
ACTIVE_RGBA = np.array([0.95, 0.1, 0.1, 1.0])
# each canonical keypoint's parent in the skeleton; a ghost bone joins a keypoint to its
# nearest tracked ancestor, so any subset of keypoints draws a connected figure
PARENT = {
    "r_hip": "pelvis",
    "l_hip": "pelvis",
    "r_knee": "r_hip",
    "l_knee": "l_hip",
    "r_ankle": "r_knee",
    "l_ankle": "l_knee",
    "r_heel": "r_ankle",
    "l_heel": "l_ankle",
    "r_mtp": "r_ankle",
    "l_mtp": "l_ankle",
    "r_toe": "r_mtp",
    "l_toe": "l_mtp",
    "torso": "pelvis",
    "neck_base": "torso",
    "head": "neck_base",
}


def ensure_gl_backend() -> None:
    """MuJoCo picks its GL backend from MUJOCO_GL when it is first imported. Where none was
    chosen and there is no display, use OSMesa (software), swapping it in if mujoco is
    already imported; a backend named after the import is honoured the same way."""
    wanted = os.environ.get("MUJOCO_GL") or ("glfw" if os.environ.get("DISPLAY") else "osmesa")
    if wanted not in ("osmesa", "egl"):
        return
    os.environ["MUJOCO_GL"] = wanted
    from mujoco.rendering.classic import gl_context  # noqa: PLC0415 (GL backend picked at run time)

    current = getattr(gl_context, "GLContext", None)
    if current is not None and current.__module__.startswith(f"mujoco.{wanted}"):
        return
    try:
        if wanted == "osmesa":
            from mujoco.osmesa import GLContext  # noqa: PLC0415 (GL backend picked at run time)
        else:
            from mujoco.egl import GLContext  # noqa: PLC0415 (GL backend picked at run time)
    except (ImportError, OSError, AttributeError) as error:
        raise RuntimeError(
            f"offscreen rendering with MUJOCO_GL={wanted} is not available ({error}); on "
            "Debian or Ubuntu install libosmesa6 (or libegl1 and set MUJOCO_GL=egl)"
        ) from None
    gl_context.GLContext = GLContext


def bones(names: tuple[str, ...]) -> list[tuple[int, int]]:
    """Index pairs joining each keypoint to its nearest present ancestor."""
    index = {name: i for i, name in enumerate(names)}
    pairs = []
    for name in names:
        parent = PARENT.get(name)
        while parent is not None and parent not in index:
            parent = PARENT.get(parent)
        if parent is not None:
            pairs.append((index[parent], index[name]))
    return pairs


@dataclass(frozen=True)
class RenderSettings:
    width: int = 640
    height: int = 480
    distance: float = 3.0  # camera distance (m) at size scale 1
    elevation: float = -12.0  # degrees
    ghost: bool = True
    overlay: bool = True


class FrameRenderer:
    """Renders frames of one body's model; the ghost and the overlay are per frame."""

    def __init__(
        self, body: morphologies.Morphology, model, settings: RenderSettings | None = None
    ) -> None:
        ensure_gl_backend()

        self.mujoco = mujoco
        self.settings = settings or RenderSettings()
        self.model = model
        # the light scene: no reflections, no multisampling, coarser spheres and capsules;
        # on a CPU (OSMesa) this takes a 640x480 frame of the 80-muscle legs from about 200 ms
        # to about 40 ms. Visual settings only: the physics is untouched.
        model.mat_reflectance[:] = 0.0
        model.vis.quality.offsamples = 0
        model.vis.quality.numslices, model.vis.quality.numstacks = 12, 8
        self.renderer = mujoco.Renderer(model, self.settings.height, self.settings.width)
        flags = self.renderer.scene.flags
        for flag in ("mjRND_SHADOW", "mjRND_REFLECTION", "mjRND_SKYBOX"):
            flags[getattr(mujoco.mjtRndFlag, flag)] = False
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        root = model.joint(body.root_joint).bodyid[0]
        self.camera.trackbodyid = int(root)
        scale = protocol.size_scale(body)
        self.camera.distance = self.settings.distance * scale
        self.camera.elevation = self.settings.elevation
        self.root, self.forward = int(root), np.asarray(body.frame.forward_vector)
        self.aimed = False  # the azimuth is set from the body's heading at the first frame
        self.tendons = model.actuator_trnid[:, 0][
            model.actuator_trntype == mujoco.mjtTrn.mjTRN_TENDON
        ]
        self.muscle_rows = np.flatnonzero(model.actuator_trntype == mujoco.mjtTrn.mjTRN_TENDON)
        self.radius = 0.025 * scale

    def frame(
        self,
        data,
        ghost: np.ndarray | None = None,
        ghost_bones: list[tuple[int, int]] | None = None,
        text: list[str] | None = None,
    ) -> np.ndarray:
        if not self.aimed:
            # a side view: the camera looks 90 degrees left of where the body faces
            heading = data.xmat[self.root].reshape(3, 3) @ self.forward
            self.camera.azimuth = float(np.degrees(np.arctan2(heading[1], heading[0]))) + 90.0
            self.aimed = True
        if len(self.tendons) and data.act.size:
            activation = np.clip(data.act[self.muscle_rows], 0.0, 1.0)[:, None]
            self.model.tendon_rgba[self.tendons] = (
                1.0 - activation
            ) * REST_RGBA + activation * ACTIVE_RGBA
        self.renderer.update_scene(data, self.camera)
        if ghost is not None and self.settings.ghost:
            self._add_ghost(ghost, ghost_bones or [])
        pixels = self.renderer.render()
        if text and self.settings.overlay:
            pixels = _overlay(pixels, text)
        return pixels

    def _add_ghost(self, points: np.ndarray, pairs: list[tuple[int, int]]) -> None:
        mujoco, scene = self.mujoco, self.renderer.scene
        rgba = np.array(GHOST_RGBA, dtype=np.float32)
        identity = np.eye(3).ravel()
        for point in points:
            if scene.ngeom >= scene.maxgeom:
                return
            geom = scene.geoms[scene.ngeom]
            size = [self.radius, 0.0, 0.0]
            mujoco.mjv_initGeom(geom, mujoco.mjtGeom.mjGEOM_SPHERE, size, point, identity, rgba)
            scene.ngeom += 1
        for a, b in pairs:
            if scene.ngeom >= scene.maxgeom:
                return
            geom = scene.geoms[scene.ngeom]
            mujoco.mjv_initGeom(
                geom, mujoco.mjtGeom.mjGEOM_CAPSULE, np.zeros(3), np.zeros(3), identity, rgba
            )
            mujoco.mjv_connector(
                geom, mujoco.mjtGeom.mjGEOM_CAPSULE, 0.4 * self.radius, points[a], points[b]
            )
            scene.ngeom += 1

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixel (column, row) of world points in the last rendered frame."""
        camera = self.renderer.scene.camera[0]
        forward, up = np.asarray(camera.forward), np.asarray(camera.up)
        right = np.cross(forward, up)
        offset = np.asarray(points) - np.asarray(camera.pos)
        depth = offset @ forward
        x = offset @ right / depth * camera.frustum_near
        y = offset @ up / depth * camera.frustum_near
        # perspective: the frustum's width follows from its height and the image's aspect
        width, height = self.settings.width, self.settings.height
        span = (camera.frustum_top - camera.frustum_bottom) * width / height
        left = camera.frustum_center - span / 2.0
        column = (x - left) / span * width
        row = (camera.frustum_top - y) / (camera.frustum_top - camera.frustum_bottom)
        return np.stack([column, row * height], axis=1)

    def close(self) -> None:
        self.renderer.close()


def _overlay(pixels: np.ndarray, lines: list[str]) -> np.ndarray:
    from PIL import Image, ImageDraw  # noqa: PLC0415 (PIL: frame captions only)

    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    width = 8 + 7 * max(len(line) for line in lines)
    draw.rectangle([4, 4, width, 8 + 14 * len(lines)], fill=(0, 0, 0))
    for row, line in enumerate(lines):
        draw.text((8, 6 + 14 * row), line, fill=(255, 255, 255))
    return np.asarray(image)


@dataclass(frozen=True)
class RenderReport:
    path: Path
    frames: int
    width: int
    height: int
    seconds: float  # wall time of rendering alone (simulation and encoding excluded)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else float("nan")


def agent_frames(
    agent_spec: str, task_id: str, clip: str, settings: RenderSettings, frames: int | None
) -> Iterator[tuple[np.ndarray, float]]:
    """Frames of one evaluation episode (frame 0 on, as the protocol) and each one's render
    time; the reference agent replays the clip."""

    agent = load_agent(agent_spec)
    env = evaluation_env(agent, task_id, "all")
    renderer = FrameRenderer(env.body, env.model, settings)
    pairs = bones(env.tracked)
    limit = len(env.clip.qpos) if frames is None else frames
    try:
        for index, step in enumerate(play(agent, env, Job(env.task.id, 0, clip, "all"))):
            mpjpe = step.info.get("mpjpe", 0.0)
            text = [f"{task_id} {clip}", f"frame {env.frame}", f"MPJPE {1000 * mpjpe:6.1f} mm"]
            started = time.perf_counter()
            pixels = renderer.frame(env.data, env.clip.keypoints[env.frame], pairs, text)
            yield pixels, time.perf_counter() - started
            if index == limit - 1:
                return
    finally:
        renderer.close()


def dataset_frames(
    path: Path, clip: str, settings: RenderSettings, frames: int | None
) -> Iterator[tuple[np.ndarray, float]]:
    """Frames of a retargeted clip alone (its qpos), with its keypoints as the ghost."""

    with open_dataset(path) as dataset:
        if clip not in dataset.names:
            raise KeyError(f"{path}: no clip {clip!r}; it has {', '.join(dataset.names)}")
        reference = dataset.clip(clip)
        body = dataset.morphology
    model = body.model()
    data = mujoco.MjData(model)
    renderer = FrameRenderer(body, model, settings)
    pairs = bones(reference.keypoint_names)
    try:
        count = len(reference.qpos) if frames is None else min(frames, len(reference.qpos))
        for frame in range(count):
            data.qpos[:] = reference.qpos[frame]
            mujoco.mj_forward(model, data)
            text = [f"{Path(path).name} {clip}", f"frame {frame}"]
            started = time.perf_counter()
            pixels = renderer.frame(data, reference.keypoints[frame], pairs, text)
            yield pixels, time.perf_counter() - started
    finally:
        renderer.close()


def side_by_side(
    left: Iterator[tuple[np.ndarray, float]], right: Iterator[tuple[np.ndarray, float]]
) -> Iterator[tuple[np.ndarray, float]]:
    """Two frame streams joined left and right, until both end (the shorter one's last frame
    holds, so a body that falls early stays in view)."""
    last_left = last_right = None
    for pair in itertools.zip_longest(left, right):
        (a, ta), (b, tb) = pair[0] or (last_left, 0.0), pair[1] or (last_right, 0.0)
        last_left, last_right = a, b
        yield np.concatenate([a, b], axis=1), ta + tb


def write_video(
    frames: Iterator[tuple[np.ndarray, float]], path: Path, fps: float = 30.0
) -> RenderReport:
    """Encode frames to MP4 (libx264) or GIF, or keep the last one as a PNG still, chosen by
    the suffix; returns what was written."""
    import imageio.v2 as imageio  # noqa: PLC0415 (imageio: video writing only)

    path = Path(path)
    if path.suffix.lower() not in (".mp4", ".gif", ".png"):
        raise ValueError(f"{path}: the output must end in .mp4, .gif or .png")
    if path.suffix.lower() == ".png":
        count, seconds, last = 0, 0.0, None
        for pixels, elapsed in frames:
            count, seconds, last = count + 1, seconds + elapsed, pixels
        if last is None:
            raise ValueError(f"{path}: no frame was rendered")
        imageio.imwrite(path, last)
        return RenderReport(path, count, last.shape[1], last.shape[0], seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"fps": fps}
    if path.suffix.lower() == ".mp4":
        options.update(codec="libx264", macro_block_size=8, quality=7)
    else:
        options["duration"] = 1.0 / fps
        options.pop("fps")
    frames = iter(frames)
    first = next(frames)  # bad input (an unknown clip, an agent) fails before a file is made
    count, seconds, shape = 0, 0.0, first[0].shape
    with atomic_path(path) as partial, imageio.get_writer(partial, **options) as writer:
        for pixels, elapsed in itertools.chain([first], frames):
            writer.append_data(pixels)
            count, seconds = count + 1, seconds + elapsed
    return RenderReport(path, count, shape[1], shape[0], seconds)
