"""One MJX world's reset and control step as JAX array functions (`benchmark.mjx_env` vmaps
and compiles them): the arithmetic of `benchmark.kernels` and `benchmark.env.ImitationEnv.step`
line for line, on `mjx.Data`.

MuJoCo's muscle gain and bias are written again in JAX (as `benchmark.kernels` writes them in
numba, and tests check those against `mju_muscleGain` / `mju_muscleBias`): the servo needs
them per muscle at every substep, and MJX keeps its own private.
"""

from __future__ import annotations

import contextlib
import io
from typing import NamedTuple

import jax
import jax.numpy as jnp

# mujoco.mjx prints its failed import of MuJoCo Warp, an engine this backend does not use
with contextlib.redirect_stdout(io.StringIO()):
    from mujoco import mjx

from benchmark import interfaces, protocol

MAX_VALUE = 1e10  # mjMAXVAL: MuJoCo counts a larger qpos, qvel or qacc as diverged
_MINVAL = 1e-15  # mjMINVAL


class Tables(NamedTuple):
    """The task's constant arrays, on the device: the clips padded to the longest, and what
    a step reads besides MuJoCo's data (`ImitationEnv.step_arrays`)."""

    qpos: jax.Array  # (clips, frames, nq)
    qvel: jax.Array
    keypoints: jax.Array  # (clips, frames, K, 3)
    keypoint_velocity: jax.Array
    muscle_lengths: jax.Array  # (clips, frames, nu); zeros unless reference_length
    last: jax.Array  # (clips,) each clip's last frame
    tracked_ids: jax.Array
    tracked_sites: jax.Array
    joint_adr: jax.Array
    body_rootid: jax.Array
    foot_of_geom: jax.Array
    forward: jax.Array
    up: jax.Array
    length_low: jax.Array
    length_span: jax.Array
    peak_force: jax.Array
    # the servo's constants (benchmark.interfaces.MuscleLengthServo)
    lengthrange: jax.Array
    acc0: jax.Array
    gainprm: jax.Array
    biasprm: jax.Array
    kp: jax.Array
    kd: jax.Array
    peak: jax.Array
    target_low: jax.Array
    target_span: jax.Array


class Static(NamedTuple):
    """The settings compiled into the step (hashable)."""

    interface: str
    residual: bool
    substeps: int
    pelvis_row: int
    root_body: int
    floor: int
    fps: float
    scale: float
    frames_ahead: int
    rule: str  # the termination rule; its distance is an argument, so it may change
    evaluation: bool


class World(NamedTuple):
    """One world's state between control steps."""

    data: mjx.Data
    clip: jax.Array  # int
    frame: jax.Array
    start: jax.Array
    points: jax.Array  # tracked keypoints (K, 3)
    velocity: jax.Array  # their backward-difference velocities
    key: jax.Array


# -- MuJoCo's muscle curves (benchmark.kernels.muscle_gain / muscle_bias, vectorised) ---------
def _normalised(length, t: Tables):
    prm = t.gainprm
    optimal = (t.lengthrange[:, 1] - t.lengthrange[:, 0]) / jnp.maximum(
        _MINVAL, prm[:, 1] - prm[:, 0]
    )
    return prm[:, 0] + (length - t.lengthrange[:, 0]) / jnp.maximum(_MINVAL, optimal), optimal


def muscle_gain(length, velocity, t: Tables):
    prm = t.gainprm
    lmin, lmax, vmax, fvmax = prm[:, 4], prm[:, 5], prm[:, 6], prm[:, 8]
    x_len, optimal = _normalised(length, t)
    v = velocity / jnp.maximum(_MINVAL, optimal * vmax)
    a, b = 0.5 * (lmin + 1.0), 0.5 * (1.0 + lmax)
    x1 = (x_len - lmin) / jnp.maximum(_MINVAL, a - lmin)
    x2 = (1.0 - x_len) / jnp.maximum(_MINVAL, 1.0 - a)
    x3 = (x_len - 1.0) / jnp.maximum(_MINVAL, b - 1.0)
    x4 = (lmax - x_len) / jnp.maximum(_MINVAL, lmax - b)
    fl = jnp.where(
        x_len <= a,
        0.5 * x1 * x1,
        jnp.where(
            x_len <= 1.0, 1 - 0.5 * x2 * x2, jnp.where(x_len <= b, 1 - 0.5 * x3 * x3, 0.5 * x4 * x4)
        ),
    )
    fl = jnp.where((x_len < lmin) | (x_len > lmax), 0.0, fl)
    y = fvmax - 1.0
    fv = jnp.where(
        v <= -1.0,
        0.0,
        jnp.where(
            v <= 0.0,
            (v + 1.0) ** 2,
            jnp.where(v <= y, fvmax - (y - v) ** 2 / jnp.maximum(_MINVAL, y), fvmax),
        ),
    )
    return -t.peak * fl * fv


def muscle_bias(length, t: Tables):
    prm = t.biasprm
    lmax, fpmax = prm[:, 5], prm[:, 7]
    x_len, _ = _normalised(length, t)
    b = 0.5 * (1.0 + lmax)
    x = (x_len - 1.0) / jnp.maximum(_MINVAL, b - 1.0)
    far = (x_len - b) / jnp.maximum(_MINVAL, b - 1.0)
    passive = jnp.where(x_len <= b, 0.5 * x * x, 0.5 + far)
    return jnp.where(x_len <= 1.0, 0.0, -t.peak * fpmax * passive)


def _servo(targets, length, velocity, t: Tables):
    """benchmark.kernels.servo: the excitation that makes each muscle's force the PD force."""
    force = jnp.clip(t.kp * (targets - length) - t.kd * velocity, -t.peak, 0.0)
    bias = muscle_bias(length, t)
    gain = jnp.minimum(-1.0, muscle_gain(length, velocity, t))
    return jnp.clip((force - bias) / gain, 0.0, 1.0)


def _effort(u):
    return u.sum() + jnp.sqrt((u * u).sum())


# -- physics ------------------------------------------------------------------------------
def _substep(m: mjx.Model, x: mjx.Data, control) -> tuple[mjx.Data, jax.Array]:
    """mjx.step split where mj_step1 / mj_step2 split it: the control is computed from the
    lengths and velocities of the state it acts on. Sensors are skipped: the environment
    reads none (myo-sim's sensors do not act on the dynamics)."""
    x = mjx.fwd_position(m, x)
    x = mjx.fwd_velocity(m, x)
    u = control(x)
    x = mjx.fwd_actuation(m, x.replace(ctrl=u))
    x = mjx.fwd_acceleration(m, x)
    x = x.replace(qacc=x.qacc_smooth) if x._impl.efc_J.size == 0 else mjx.solve(m, x)
    return mjx.euler(m, x), u


def _tracked(x: mjx.Data, t: Tables):
    return jnp.where(t.tracked_sites[:, None], x.site_xpos[t.tracked_ids], x.xpos[t.tracked_ids])


# -- observation and score (benchmark.kernels.observe / score) --------------------------------
def _rotate(v, c, s):
    return jnp.stack([v[..., 0] * c + v[..., 1] * s, -v[..., 0] * s + v[..., 1] * c, v[..., 2]], -1)


def observe(x: mjx.Data, w: World, t: Tables, st: Static):
    r = x.xmat[st.root_body]
    heading = r @ t.forward
    norm = jnp.hypot(heading[0], heading[1])
    c = jnp.where(norm > 0, heading[0] / jnp.where(norm > 0, norm, 1.0), 1.0)
    s = jnp.where(norm > 0, heading[1] / jnp.where(norm > 0, norm, 1.0), 0.0)
    root = x.xpos[st.root_body]
    bodies = x.xpos[1:]
    com = x.subtree_com[t.body_rootid[1:]]
    angular, linear = x.cvel[1:, :3], x.cvel[1:, 3:]
    contact = x._impl.contact
    active = contact.dist < contact.includemargin
    g0, g1 = contact.geom[:, 0], contact.geom[:, 1]
    other = jnp.where(g0 == st.floor, g1, jnp.where(g1 == st.floor, g0, -1))
    side = t.foot_of_geom[other]  # other = -1 reads the appended -1
    feet = jnp.stack([jnp.any(active & (side == k)) for k in (0, 1)]).astype(jnp.float32)
    nu = t.length_low.shape[0]
    velocity = x._impl.actuator_velocity
    frames = jnp.minimum(w.frame + jnp.arange(1, st.frames_ahead + 1), t.last[w.clip])
    reference = t.keypoints[w.clip, frames]  # (ahead, K, 3)
    reference_velocity = t.keypoint_velocity[w.clip, frames]
    task = jnp.concatenate(
        [
            _rotate(reference - w.points, c, s).reshape(st.frames_ahead, -1),
            _rotate(reference_velocity - w.velocity, c, s).reshape(st.frames_ahead, -1),
            _rotate(reference - root, c, s).reshape(st.frames_ahead, -1),
        ],
        axis=1,
    )
    parts = [
        root[2:3],
        -r[2],
        _rotate(bodies - root, c, s).ravel(),
        _rotate(x.xmat[1:, :, 0], c, s).ravel(),
        _rotate(x.xmat[1:, :, 1], c, s).ravel(),
        _rotate(linear + jnp.cross(angular, bodies - com), c, s).ravel(),
        _rotate(angular, c, s).ravel(),
        feet,
        (x.actuator_length - t.length_low) / t.length_span,
        velocity / t.length_span,
        x.actuator_force / t.peak_force,
        x.act[:nu],
        task.ravel(),
    ]
    return jnp.concatenate([jnp.asarray(p, jnp.float32) for p in parts])


def _score(x: mjx.Data, points, previous, clip, frame, t: Tables, st: Static):
    reference = t.keypoints[clip, frame]
    velocity = (points - previous) * st.fps
    offset = points - reference
    errors = jnp.linalg.norm(offset, axis=1)
    relative = offset - offset[st.pelvis_row]
    dv = velocity - t.keypoint_velocity[clip, frame]
    count = points.shape[0]
    joint = x.qpos[t.joint_adr] - t.qpos[clip, frame][t.joint_adr]
    tilt = jnp.arccos(jnp.clip(x.xmat[st.root_body][2] @ t.up, -1.0, 1.0))
    return {
        "velocity": velocity,
        "errors": errors,
        "mpjpe": errors.mean(),
        "mpjpe_root_relative": jnp.linalg.norm(relative, axis=1).mean(),
        "velocity_error": jnp.linalg.norm(dv, axis=1).mean(),
        "position_sq": (offset * offset).sum() / (3 * count),
        "velocity_sq": (dv * dv).sum() / (3 * count),
        "joint_error_sq": (joint * joint).sum() / max(t.joint_adr.shape[0], 1),
        "tilt": tilt,
    }


# -- one world ------------------------------------------------------------------------------
def reset_world(m, template, key, clip, start, t: Tables, st: Static) -> tuple[World, jax.Array]:
    """A world at (clip, start); clip < 0 draws a clip, start < 0 a frame, as
    `ImitationEnv.reset` does in training (other draws than NumPy's generator)."""
    key, pick_clip, pick_frame = jax.random.split(key, 3)
    clips = t.last.shape[0]
    clip = jnp.where(clip < 0, jax.random.randint(pick_clip, (), 0, clips), clip)
    drawn = jax.random.randint(pick_frame, (), 0, jnp.maximum(t.last[clip], 1))
    start = jnp.where(start < 0, drawn, start)
    x = template.replace(qpos=t.qpos[clip, start], qvel=t.qvel[clip, start])
    x = mjx.forward(m, x)
    world = World(x, clip, start, start, _tracked(x, t), t.keypoint_velocity[clip, start], key)
    return world, observe(x, world, t, st)


def step_world(m, w: World, action, distance, t: Tables, st: Static):
    """One control step of one world: (world, observation, reward, terminated, truncated,
    info), as `ImitationEnv.step` returns them (info: arrays)."""
    action = jnp.asarray(action, t.kp.dtype)
    frame = w.frame + 1
    if st.interface == "excitation":
        excitation = jnp.clip(0.5 * (action + 1.0), 0.0, 1.0)

        def control(x):
            return excitation
    else:
        if st.residual:
            low = t.muscle_lengths[w.clip, frame] - interfaces.RESIDUAL_M
            span = 2 * interfaces.RESIDUAL_M
        else:
            low, span = t.target_low, t.target_span
        targets = low + 0.5 * (jnp.clip(action, -1.0, 1.0) + 1.0) * span

        def control(x):
            return _servo(targets, x.actuator_length, x._impl.actuator_velocity, t)

    def substep(_, carry):
        x, total = carry
        stepped, u = _substep(m, x, control)
        # put_data and make_data may give index fields another integer width than a step
        stepped = jax.tree_util.tree_map(lambda new, old: new.astype(old.dtype), stepped, x)
        return stepped, total + u

    x, total = jax.lax.fori_loop(0, st.substeps, substep, (w.data, jnp.zeros_like(action)))
    effort = _effort(total / st.substeps)
    # as after mj_step on the CPU, positions, contacts and muscle lengths are those the
    # last substep's forward pass computed, before its integration
    failure = ~(
        jnp.all(jnp.abs(x.qpos) < MAX_VALUE)
        & jnp.all(jnp.abs(x.qvel) < MAX_VALUE)
        & jnp.all(jnp.abs(x.qacc) < MAX_VALUE)
    )
    points = _tracked(x, t)
    score = _score(x, points, w.points, w.clip, frame, t, st)
    weights, r = protocol.REWARD_WEIGHTS, {}
    r["position"] = jnp.exp(-protocol.POSITION_SCALE * score["position_sq"])
    r["velocity"] = jnp.exp(-protocol.VELOCITY_SCALE * score["velocity_sq"])
    r["upright"] = jnp.exp(-protocol.UPRIGHT_SCALE * score["tilt"] ** 2)
    r["energy"] = jnp.exp(-protocol.ENERGY_SCALE * effort)
    reward = sum(weights[k] * r[k] for k in r)
    off = score["mpjpe"] if st.rule == "mean-error" else score["errors"].max()
    ended = ~failure & (off > distance * st.scale)
    terminated = failure | ended
    truncated = ~terminated & (frame >= t.last[w.clip])
    world = World(x, w.clip, frame, w.start, points, score["velocity"], w.key)
    observation = jnp.where(failure, 0.0, observe(x, world, t, st))
    info = {
        "mpjpe": score["mpjpe"],
        "keypoint_errors": score["errors"],
        "episode_steps": frame - w.start,
        "ended_by": jnp.where(ended, jnp.argmax(score["errors"]), -1),
        "failure": failure,
        "reward_terms": r,
    }
    return world, observation, reward, terminated, truncated, info
