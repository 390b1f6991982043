"""The environment's per-step arithmetic, compiled with numba.

Why compiled: one control step of human_legs_80 is about 280 us of MuJoCo physics. The same
observation and tracking errors written as numpy calls on these small arrays take some 40
calls of about 1 us each, which made `env.step` 1.4x the raw physics (goal: 1.15x). As
plain loops compiled once (cached on disk), they take a few microseconds. No library
computes an imitation observation from `MjData` fields, so these loops are ours.

Conventions: `xmat` rows are row-major 3x3 rotations (body to world); the heading frame is
the root's forward direction projected on the floor (z up), so a world vector v becomes
(v_x c + v_y s, -v_x s + v_y c, v_z) with (c, s) the heading's cosine and sine.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def excite(action: np.ndarray, excitation: np.ndarray) -> float:
    """Excitation (a + 1) / 2, clipped to [0, 1], into `excitation`; returns the effort
    |u|_1 + |u|_2, or NaN when any action value is NaN or infinite."""
    total = 0.0
    squares = 0.0
    for i in range(action.shape[0]):
        a = float(action[i])
        if not math.isfinite(a):
            return math.nan
        u = min(max(0.5 * (a + 1.0), 0.0), 1.0)
        excitation[i] = u
        total += u
        squares += u * u
    return total + math.sqrt(squares)


@numba.njit(cache=True)
def tracked_points(
    xpos: np.ndarray, site_xpos: np.ndarray, ids: np.ndarray, is_site: np.ndarray
) -> np.ndarray:
    """World positions of the tracked keypoints: body origins or sites."""
    points = np.empty((ids.shape[0], 3))
    for k in range(ids.shape[0]):
        source = site_xpos if is_site[k] else xpos
        for j in range(3):
            points[k, j] = source[ids[k], j]
    return points


@numba.njit(cache=True)
def score(
    points: np.ndarray,
    previous: np.ndarray,
    reference: np.ndarray,
    reference_velocity: np.ndarray,
    pelvis: int,
    fps: float,
    qpos: np.ndarray,
    reference_qpos: np.ndarray,
    joint_adr: np.ndarray,
    root_xmat: np.ndarray,
    up: np.ndarray,
):
    """Tracking errors of one step against one reference frame.

    Returns (velocity, errors, mpjpe, mpjpe_root_relative, velocity_error,
    position_mean_sq, velocity_mean_sq, joint_error_sq, tilt): keypoint velocities as
    backward differences, per-keypoint distances, their mean with and without the pelvis
    offset, the mean keypoint velocity error, the mean squared position and velocity error per
    component, the mean squared joint-angle error, and the root's tilt from upright (rad).
    """
    count = points.shape[0]
    velocity = np.empty((count, 3))
    errors = np.empty(count)
    position_sq = 0.0
    velocity_sq = 0.0
    root_relative = 0.0
    velocity_error = 0.0
    for k in range(count):
        squared = 0.0
        squared_velocity = 0.0
        squared_relative = 0.0
        for j in range(3):
            offset = points[k, j] - reference[k, j]
            squared += offset * offset
            relative = offset - (points[pelvis, j] - reference[pelvis, j])
            squared_relative += relative * relative
            velocity[k, j] = (points[k, j] - previous[k, j]) * fps
            dv = velocity[k, j] - reference_velocity[k, j]
            squared_velocity += dv * dv
        errors[k] = math.sqrt(squared)
        position_sq += squared
        velocity_sq += squared_velocity
        root_relative += math.sqrt(squared_relative)
        velocity_error += math.sqrt(squared_velocity)
    joint_sq = 0.0
    for adr in joint_adr:
        d = qpos[adr] - reference_qpos[adr]
        joint_sq += d * d
    world_up_z = root_xmat[6] * up[0] + root_xmat[7] * up[1] + root_xmat[8] * up[2]
    tilt = math.acos(min(1.0, max(-1.0, world_up_z)))
    return (
        velocity,
        errors,
        errors.sum() / count,
        root_relative / count,
        velocity_error / count,
        position_sq / (3 * count),
        velocity_sq / (3 * count),
        joint_sq / max(joint_adr.shape[0], 1),
        tilt,
    )


@numba.njit(cache=True, inline="always")
def _put(out: np.ndarray, at: int, x: float, y: float, z: float, c: float, s: float) -> None:
    out[at] = x * c + y * s
    out[at + 1] = -x * s + y * c
    out[at + 2] = z


@numba.njit(cache=True)
def observe(
    size: int,
    root: int,
    forward: np.ndarray,
    xpos: np.ndarray,
    xmat: np.ndarray,
    cvel: np.ndarray,
    subtree_com: np.ndarray,
    body_rootid: np.ndarray,
    contact_geoms: np.ndarray,
    foot_of_geom: np.ndarray,
    floor: int,
    muscle_length: np.ndarray,
    length_low: np.ndarray,
    length_span: np.ndarray,
    muscle_velocity: np.ndarray,
    muscle_force: np.ndarray,
    peak_force: np.ndarray,
    activation: np.ndarray,
    points: np.ndarray,
    velocity: np.ndarray,
    reference: np.ndarray,
    reference_velocity: np.ndarray,
    frame: int,
    frames_ahead: int,
) -> np.ndarray:
    """The observation vector; its layout is documented in `benchmark.env`.

    Bodies are 1 .. nbody - 1 (all but the world); `reference` and `reference_velocity` are
    the clip's whole (T, K, 3) arrays, read at frames frame + 1 .. frame + frames_ahead
    (the last frame repeats past the clip's end).
    """
    out = np.empty(size, np.float32)
    n = xpos.shape[0] - 1
    r = xmat[root]
    fx = r[0] * forward[0] + r[1] * forward[1] + r[2] * forward[2]
    fy = r[3] * forward[0] + r[4] * forward[1] + r[5] * forward[2]
    norm = math.hypot(fx, fy)
    c, s = (fx / norm, fy / norm) if norm > 0.0 else (1.0, 0.0)
    rx, ry, rz = xpos[root, 0], xpos[root, 1], xpos[root, 2]

    out[0] = rz
    out[1] = -r[6]  # world -z in the root frame: the third row of the rotation, negated
    out[2] = -r[7]
    out[3] = -r[8]
    at = 4
    for b in range(1, n + 1):  # positions relative to the root
        _put(out, at, xpos[b, 0] - rx, xpos[b, 1] - ry, xpos[b, 2] - rz, c, s)
        at += 3
    for column in range(2):  # first, then second column of each body's rotation
        for b in range(1, n + 1):
            m = xmat[b]
            _put(out, at, m[column], m[3 + column], m[6 + column], c, s)
            at += 3
    for b in range(1, n + 1):
        # cvel is [angular, linear] at the subtree centre of mass of the body's root;
        # the body origin moves at linear + angular x (origin - centre)
        com = subtree_com[body_rootid[b]]
        wx, wy, wz = cvel[b, 0], cvel[b, 1], cvel[b, 2]
        dx, dy, dz = xpos[b, 0] - com[0], xpos[b, 1] - com[1], xpos[b, 2] - com[2]
        vx = cvel[b, 3] + wy * dz - wz * dy
        vy = cvel[b, 4] + wz * dx - wx * dz
        vz = cvel[b, 5] + wx * dy - wy * dx
        _put(out, at, vx, vy, vz, c, s)
        at += 3
    for b in range(1, n + 1):
        _put(out, at, cvel[b, 0], cvel[b, 1], cvel[b, 2], c, s)
        at += 3
    out[at] = 0.0
    out[at + 1] = 0.0
    for i in range(contact_geoms.shape[0]):
        g0, g1 = contact_geoms[i, 0], contact_geoms[i, 1]
        other = g1 if g0 == floor else (g0 if g1 == floor else -1)
        if other >= 0 and foot_of_geom[other] >= 0:
            out[at + foot_of_geom[other]] = 1.0
    at += 2
    nu = muscle_length.shape[0]
    for i in range(nu):
        out[at + i] = (muscle_length[i] - length_low[i]) / length_span[i]
        out[at + nu + i] = muscle_velocity[i] / length_span[i]
        out[at + 2 * nu + i] = muscle_force[i] / peak_force[i]
        out[at + 3 * nu + i] = activation[i]
    at += 4 * nu
    last = reference.shape[0] - 1
    count = points.shape[0]
    for ahead in range(1, frames_ahead + 1):
        f = min(frame + ahead, last)
        for k in range(count):
            p, q = reference[f, k], reference_velocity[f, k]
            _put(out, at, p[0] - points[k, 0], p[1] - points[k, 1], p[2] - points[k, 2], c, s)
            _put(
                out,
                at + 3 * count,
                q[0] - velocity[k, 0],
                q[1] - velocity[k, 1],
                q[2] - velocity[k, 2],
                c,
                s,
            )
            _put(out, at + 6 * count, p[0] - rx, p[1] - ry, p[2] - rz, c, s)
            at += 3
        at += 6 * count
    return out
