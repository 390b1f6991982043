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
    for i in range(action.shape[0]):
        a = float(action[i])
        if not math.isfinite(a):
            return math.nan
        excitation[i] = min(max(0.5 * (a + 1.0), 0.0), 1.0)
    return effort(excitation)


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


# -- the muscle-length servo (`benchmark.interfaces`) ----------------------------------------
# MuJoCo's muscle gain and bias (`mju_muscleGain`, `mju_muscleBias`) written again as numba
# functions: the servo evaluates them per muscle at every physics substep, and a call into
# MuJoCo's Python bindings per muscle would cost more than the substep's physics.
# tests/test_interfaces.py checks them against MuJoCo's own.
_MINVAL = 1e-15  # mjMINVAL


@numba.njit(cache=True, inline="always")
def _normalised(length: float, low: float, high: float, prm: np.ndarray) -> tuple[float, float]:
    """(length in units of the optimal length, optimal length L0) as MuJoCo computes them."""
    optimal = (high - low) / max(_MINVAL, prm[1] - prm[0])
    return prm[0] + (length - low) / max(_MINVAL, optimal), optimal


@numba.njit(cache=True, inline="always")
def _peak(acc0: float, prm: np.ndarray) -> float:
    return prm[2] if prm[2] >= 0.0 else prm[3] / max(_MINVAL, acc0)


@numba.njit(cache=True)
def muscle_gain(
    length: float, velocity: float, low: float, high: float, acc0: float, prm: np.ndarray
) -> float:
    """MuJoCo's muscle gain: -F0 FL(length) FV(velocity) (prm: gainprm[:9])."""
    lmin, lmax, vmax, fvmax = prm[4], prm[5], prm[6], prm[8]
    x_len, optimal = _normalised(length, low, high, prm)
    v = velocity / max(_MINVAL, optimal * vmax)
    if x_len < lmin or x_len > lmax:
        fl = 0.0
    else:
        a, b = 0.5 * (lmin + 1.0), 0.5 * (1.0 + lmax)
        if x_len <= a:
            x = (x_len - lmin) / max(_MINVAL, a - lmin)
            fl = 0.5 * x * x
        elif x_len <= 1.0:
            x = (1.0 - x_len) / max(_MINVAL, 1.0 - a)
            fl = 1.0 - 0.5 * x * x
        elif x_len <= b:
            x = (x_len - 1.0) / max(_MINVAL, b - 1.0)
            fl = 1.0 - 0.5 * x * x
        else:
            x = (lmax - x_len) / max(_MINVAL, lmax - b)
            fl = 0.5 * x * x
    y = fvmax - 1.0
    if v <= -1.0:
        fv = 0.0
    elif v <= 0.0:
        fv = (v + 1.0) * (v + 1.0)
    elif v <= y:
        fv = fvmax - (y - v) * (y - v) / max(_MINVAL, y)
    else:
        fv = fvmax
    return -_peak(acc0, prm) * fl * fv


@numba.njit(cache=True)
def muscle_bias(length: float, low: float, high: float, acc0: float, prm: np.ndarray) -> float:
    """MuJoCo's passive muscle force (prm: biasprm[:9], the same values as gainprm)."""
    lmax, fpmax = prm[5], prm[7]
    x_len, _ = _normalised(length, low, high, prm)
    b = 0.5 * (1.0 + lmax)
    if x_len <= 1.0:
        return 0.0
    if x_len <= b:
        x = (x_len - 1.0) / max(_MINVAL, b - 1.0)
        return -_peak(acc0, prm) * fpmax * 0.5 * x * x
    x = (x_len - b) / max(_MINVAL, b - 1.0)
    return -_peak(acc0, prm) * fpmax * (0.5 + x)


@numba.njit(cache=True)
def length_targets(
    action: np.ndarray, low: np.ndarray, span: np.ndarray, targets: np.ndarray
) -> bool:
    """Target lengths low + (a + 1) / 2 span (a clipped to [-1, 1]) into `targets`; False
    when any action value is NaN or infinite."""
    for i in range(action.shape[0]):
        a = float(action[i])
        if not math.isfinite(a):
            return False
        targets[i] = low[i] + 0.5 * (min(max(a, -1.0), 1.0) + 1.0) * span[i]
    return True


@numba.njit(cache=True)
def servo(
    targets: np.ndarray,
    length: np.ndarray,
    velocity: np.ndarray,
    lengthrange: np.ndarray,
    acc0: np.ndarray,
    gainprm: np.ndarray,
    biasprm: np.ndarray,
    kp: np.ndarray,
    kd: np.ndarray,
    peak: np.ndarray,
    excitation: np.ndarray,
    excitation_sum: np.ndarray,
) -> None:
    """One substep of the servo: the force F = clip(kp (L* - L) - kd dL/dt, -F0, 0), then
    the excitation u = clip((F - bias) / min(-1, gain), 0, 1) that MuJoCo's muscle turns
    into F at the current length and velocity at full activation; u into `excitation`,
    and added to `excitation_sum`."""
    for i in range(targets.shape[0]):
        low, high = lengthrange[i, 0], lengthrange[i, 1]
        force = kp[i] * (targets[i] - length[i]) - kd[i] * velocity[i]
        force = min(max(force, -peak[i]), 0.0)
        bias = muscle_bias(length[i], low, high, acc0[i], biasprm[i])
        gain = min(-1.0, muscle_gain(length[i], velocity[i], low, high, acc0[i], gainprm[i]))
        u = min(max((force - bias) / gain, 0.0), 1.0)
        excitation[i] = u
        excitation_sum[i] += u


@numba.njit(cache=True)
def effort(excitation: np.ndarray) -> float:
    """|u|_1 + |u|_2 of non-negative excitations."""
    total = 0.0
    squares = 0.0
    for u in excitation:
        total += u
        squares += u * u
    return total + math.sqrt(squares)


@numba.njit(cache=True)
def joint_coupling(
    qpos: np.ndarray,
    joint_dof: np.ndarray,
    coupled_dof: np.ndarray,
    coupled_joint: np.ndarray,
    coupled_qadr: np.ndarray,
    coupled_x0: np.ndarray,
    coupled_coef: np.ndarray,
    out: np.ndarray,
) -> None:
    """(nv, J) dof velocities per unit velocity of each controlled joint into `out`: 1 at the
    joint's own dof, and d y / d x for each dof y = poly(x) that a joint equality ties to it
    (MyoLeg's knee moves its translations and patella this way)."""
    out[:, :] = 0.0
    for k in range(joint_dof.shape[0]):
        out[joint_dof[k], k] = 1.0
    for e in range(coupled_dof.shape[0]):
        x = qpos[coupled_qadr[e]] - coupled_x0[e]
        a = coupled_coef[e]
        out[coupled_dof[e], coupled_joint[e]] = a[1] + x * (
            2.0 * a[2] + x * (3.0 * a[3] + x * 4.0 * a[4])
        )


@numba.njit(cache=True)
def joint_torques(
    targets: np.ndarray,
    target_velocity: np.ndarray,
    qpos: np.ndarray,
    qvel: np.ndarray,
    joint_qadr: np.ndarray,
    joint_dof: np.ndarray,
    coupling: np.ndarray,
    full_mass: np.ndarray,
    bias_force: np.ndarray,
    omega: float,
) -> np.ndarray:
    """Desired torques of the controlled joints: PD at the acceleration level, scaled by the
    joints' effective inertia, plus the forces to cancel,
    tau = C^T M C (omega^2 (q* - q) + 2 omega (v* - v)) + C^T bias_force."""
    nv, joints = coupling.shape
    accel = np.empty(joints)
    for k in range(joints):
        accel[k] = omega * omega * (targets[k] - qpos[joint_qadr[k]]) + 2.0 * omega * (
            target_velocity[k] - qvel[joint_dof[k]]
        )
    dof_accel = np.zeros(nv)  # C accel: every dof's acceleration, coupled ones included
    for r in range(nv):
        for k in range(joints):
            dof_accel[r] += coupling[r, k] * accel[k]
    force = np.empty(nv)  # M C accel + bias
    for r in range(nv):
        total = bias_force[r]
        for c in range(nv):
            total += full_mass[r, c] * dof_accel[c]
        force[r] = total
    torques = np.zeros(joints)
    for k in range(joints):
        for r in range(nv):
            torques[k] += coupling[r, k] * force[r]
    return torques


@numba.njit(cache=True)
def muscle_joint_torques(
    coupling: np.ndarray,
    moment_rownnz: np.ndarray,
    moment_rowadr: np.ndarray,
    moment_colind: np.ndarray,
    moment: np.ndarray,
    length: np.ndarray,
    velocity: np.ndarray,
    lengthrange: np.ndarray,
    acc0: np.ndarray,
    gainprm: np.ndarray,
    biasprm: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, offset): the controlled joints' torques at muscle activations a are
    matrix @ a + offset, from MuJoCo's sparse moment arms, gains and passive forces at the
    present lengths and velocities, through the coupling C."""
    joints = coupling.shape[1]
    muscles = length.shape[0]
    matrix = np.zeros((joints, muscles))
    offset = np.zeros(joints)
    for i in range(muscles):
        low, high = lengthrange[i, 0], lengthrange[i, 1]
        gain = muscle_gain(length[i], velocity[i], low, high, acc0[i], gainprm[i])
        bias = muscle_bias(length[i], low, high, acc0[i], biasprm[i])
        start = moment_rowadr[i]
        for n in range(start, start + moment_rownnz[i]):
            dof, arm = moment_colind[n], moment[n]
            for k in range(joints):
                ck = coupling[dof, k]
                if ck != 0.0:
                    matrix[k, i] += arm * ck * gain
                    offset[k] += arm * ck * bias
    return matrix, offset


@numba.njit(cache=True)
def activation_reach(
    act: np.ndarray, dynprm: np.ndarray, timestep: float, lower: np.ndarray, upper: np.ndarray
) -> None:
    """The activations one substep can reach, into `lower` and `upper`: MuJoCo's muscle
    time constants (activation dynprm[0] (0.5 + 1.5 a), deactivation dynprm[1] / (0.5 +
    1.5 a)) and its Euler step, excitation at 0 or 1."""
    for i in range(act.shape[0]):
        a = min(max(act[i], 0.0), 1.0)
        scale = 0.5 + 1.5 * a
        upper[i] = min(1.0, a + timestep * (1.0 - a) / (dynprm[i, 0] * scale))
        lower[i] = max(0.0, a - timestep * a * scale / dynprm[i, 1])


@numba.njit(cache=True)
def bounded_least_squares(
    matrix: np.ndarray,
    target: np.ndarray,
    lam: float,
    lower: np.ndarray,
    upper: np.ndarray,
    x: np.ndarray,
    sweeps: int,
) -> None:
    """min |matrix x - target|^2 + lam |x|^2 over lower <= x <= upper, by cyclic coordinate
    descent from `x` (clipped into the bounds), in place. Why by hand: scipy's lsq_linear
    takes about a millisecond for the 14 x 80 problem of a legs substep, three times the
    substep's physics; warm-started, a few sweeps of this loop take microseconds."""
    rows, columns = matrix.shape
    residual = np.empty(rows)
    for k in range(rows):
        residual[k] = -target[k]
    for i in range(columns):
        x[i] = min(max(x[i], lower[i]), upper[i])
        for k in range(rows):
            residual[k] += matrix[k, i] * x[i]
    for _ in range(sweeps):
        for i in range(columns):
            grad, curvature = lam * x[i], lam
            for k in range(rows):
                grad += matrix[k, i] * residual[k]
                curvature += matrix[k, i] * matrix[k, i]
            if curvature <= 0.0:
                continue
            value = min(max(x[i] - grad / curvature, lower[i]), upper[i])
            delta = value - x[i]
            if delta != 0.0:
                x[i] = value
                for k in range(rows):
                    residual[k] += matrix[k, i] * delta


@numba.njit(cache=True)
def excitation_to_reach(
    act: np.ndarray,
    wanted: np.ndarray,
    dynprm: np.ndarray,
    timestep: float,
    excitation: np.ndarray,
    excitation_sum: np.ndarray,
) -> None:
    """The excitation whose Euler step of MuJoCo's muscle dynamics takes each activation
    from `act` to `wanted` (clipped to [0, 1]), into `excitation`, added to `excitation_sum`."""
    for i in range(act.shape[0]):
        a = min(max(act[i], 0.0), 1.0)
        scale = 0.5 + 1.5 * a
        tau = dynprm[i, 0] * scale if wanted[i] > a else dynprm[i, 1] / scale
        u = min(max(a + tau * (wanted[i] - a) / timestep, 0.0), 1.0)
        excitation[i] = u
        excitation_sum[i] += u


@numba.njit(cache=True)
def joint_servo(
    targets: np.ndarray,
    target_velocity: np.ndarray,
    qpos: np.ndarray,
    qvel: np.ndarray,
    joint_qadr: np.ndarray,
    joint_dof: np.ndarray,
    coupling: np.ndarray,
    full_mass: np.ndarray,
    bias_force: np.ndarray,
    moment_rownnz: np.ndarray,
    moment_rowadr: np.ndarray,
    moment_colind: np.ndarray,
    moment: np.ndarray,
    length: np.ndarray,
    velocity: np.ndarray,
    lengthrange: np.ndarray,
    acc0: np.ndarray,
    gainprm: np.ndarray,
    biasprm: np.ndarray,
    act: np.ndarray,
    dynprm: np.ndarray,
    omega: float,
    regularisation: float,
    timestep: float,
    sweeps: int,
    excitation: np.ndarray,
    excitation_sum: np.ndarray,
) -> float:
    """One substep of the joint-target interface: desired torques (`joint_torques`), the next
    activations that come closest to them within one substep's reach (`bounded_least_squares`
    on `muscle_joint_torques`, |a|^2 weighted by `regularisation`^2 times a muscle's mean
    squared torque column), and the excitation that reaches them. Returns the relative
    torque residual |A a + b - tau| / |tau|.

    The muscles' gains are planned isometric (at zero velocity), so their force-velocity
    curve acts as the damping it does in the body instead of being cancelled. Planned at
    their present velocities, the light feet rang: weightless, holding a pose, ankle errors
    burst to 0.4 rad (isometric: at most 0.17), and on the floor the zero action kept the
    body up for 25 and 12 frames of the two test clips (isometric: 27 and 25)."""
    wanted = joint_torques(
        targets,
        target_velocity,
        qpos,
        qvel,
        joint_qadr,
        joint_dof,
        coupling,
        full_mass,
        bias_force,
        omega,
    )
    matrix, offset = muscle_joint_torques(
        coupling,
        moment_rownnz,
        moment_rowadr,
        moment_colind,
        moment,
        length,
        np.zeros_like(velocity),  # isometric: see the docstring
        lengthrange,
        acc0,
        gainprm,
        biasprm,
    )
    muscles = length.shape[0]
    lam = regularisation * regularisation * np.sum(matrix * matrix) / muscles
    lower, upper = np.empty(muscles), np.empty(muscles)
    activation_reach(act, dynprm, timestep, lower, upper)
    nxt = act.copy()
    bounded_least_squares(matrix, wanted - offset, lam, lower, upper, nxt, sweeps)
    excitation_to_reach(act, nxt, dynprm, timestep, excitation, excitation_sum)
    miss = matrix @ nxt + offset - wanted
    return math.sqrt((miss @ miss) / max(wanted @ wanted, _MINVAL))
