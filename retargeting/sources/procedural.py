"""A built-in, deterministic generator of human locomotion keypoints: the default data.

Walking (0.8-1.8 m/s) and running (2.5-4 m/s), straight or turning, with optional start
from and stop to standing. Same parameters, bit-identical output: only numpy arithmetic on
the parameters, no randomness.

Where the numbers come from:
- Sagittal hip, knee and ankle angles over the gait cycle: walking at natural cadence from
  Winter, "Biomechanics and Motor Control of Human Movement", 4th ed. (2009), ch. 4 and
  app. A; running at about 3.2 m/s from Novacheck, "The biomechanics of running", Gait &
  Posture 7:77-95 (1998), fig. 5-7. Tabulated here at 10 % steps, read off the published
  mean curves (about +-3 degrees), and interpolated with periodic cubic splines.
- Stance fraction: 62 % of the walking cycle at normal speed, less when faster (Perry &
  Burnfield, "Gait Analysis", 2nd ed., 2010); 39 % of the running cycle (Novacheck 1998).
- Stride length from speed and hip height: Alexander, "The gait of bipedal and quadrupedal
  animals", Int. J. Robotics Research 3(2):49-59 (1984), stride / h = 2.3 (v^2 / g h)^0.3;
  cadence is speed / stride length.
- Segment proportions of the source skeleton: Winter (2009), table 4.1, as fractions of
  body height. The hip joint centres are not in that table (its 0.191 H is the breadth
  across the hips, outside the joints): they are 0.094 H apart here, the human models'
  separation for their leg length (MyoLeg: 15.5 cm between hip joints on 0.80 m legs, 0.19
  of leg length; here 0.094 / 0.491 = 0.19), so that scaling, which keeps the legs' frontal
  directions, carries the step width over unchanged. (Placing them 0.191 H apart put the
  retargeted ankles 3 cm apart and the legs through each other in 40-65 % of the frames.)
- Step width (between the feet's centre lines) 0.13 leg length, the preferred width in
  walking of Donelan, Kram & Kuo, "Mechanical and metabolic determinants of the preferred
  step width in human walking", Proc. R. Soc. B 268:1985-1992 (2001); the same in running,
  where people step nearer the midline, because narrower steps put the human models' feet
  (7 cm wide) against each other as one passes the other.
- Lateral sway of the pelvis: the linear inverted pendulum over each stance foot (Kajita et
  al., "The 3D linear inverted pendulum mode", IROS 2001) at the pelvis height, periodic
  from step to step: at single-stance midpoint the pelvis is (W / 2) (1 - 1 / cosh(o T / 2))
  toward the stance foot, W the step width, T the step time, o = sqrt(g / hip height), and
  it crosses the midline at each hand-over. Without it the body's weight stays between the
  feet while one of them is lifted.
- Vertical motion of the pelvis in walking: a sinusoid at step frequency, lowest in the
  middle of double support, peak to peak the body's vertical excursion measured by
  Orendurff et al., "The effect of walking speed on center of mass displacement", J.
  Rehabil. Res. Dev. 41(6A):829-834 (2004): about 2.7 cm at 0.7 m/s to 4.8 cm at 1.6 m/s,
  linear in speed here, for a 1.75 m subject. Its mean height is the highest at which every
  planted foot stays within the leg's reach, so the stance knee bends where a long step
  needs it. (Followed from the stance legs' own geometry instead, the pelvis rose and fell
  by 11-14 cm at 1.5-1.8 m/s, and the retargeted walks asked the floor for -0.42 to 2.41
  body weights, pulling in up to 13 frames a clip: `scripts/clip_dynamics.py`, retargeting
  version 5.) Running keeps the stance legs' geometry, whose flight phases set the height.
- The toe keypoint is the ball of the foot's joint centre (the metatarsophalangeal joint),
  _MTP_HEIGHT above the sole, as BVH's ToeBase, SMPL's foot joint and the human models' toes
  body are. (On the sole, it pitched every retargeted foot about 7 degrees toes-down: the
  models stood on their forefoot with the heels 2 cm up.) In walking only, for now: with it
  the runs' retargeted toes slid 20.7 mm a frame in run_3.6, past the skating gate (20).

Stance feet do not slide: each foot is planted where it lands (heel first, rolling to the
ball of the foot) and the leg reaches it by two-link inverse kinematics from the hip, so
the normative knee curve is followed in swing and adjusted slightly in stance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline, PchipInterpolator

from retargeting.motion import Motion, MotionMeta

GRAVITY = 9.81
# m/s, the fastest the pelvis rises or falls (about the peak in running, Novacheck 1998)
PELVIS_MAX_VERTICAL_SPEED = 0.6
SWING_CLEARANCE = 0.025  # m, least height of a swinging foot at mid-swing; rises fast after toe-off
_PHASE = np.linspace(0.0, 1.0, 11)
# degrees at 0, 10, ..., 100 % of the cycle from heel strike; + = flexion / dorsiflexion
_WALK = {
    "hip": (30, 25, 15, 5, -5, -10, 0, 20, 30, 32, 30),
    "knee": (5, 18, 15, 8, 5, 12, 38, 60, 45, 15, 5),
    "ankle": (0, -6, 3, 8, 10, 0, -18, -8, 0, 0, 0),
}
_RUN = {
    "hip": (35, 25, 12, 2, -8, 5, 28, 45, 50, 45, 35),
    "knee": (20, 38, 30, 20, 25, 60, 90, 95, 60, 30, 20),
    "ankle": (5, 15, 20, 5, -15, -20, -5, 5, 10, 10, 5),
}
_TOE_OFF = {"walk": 0.62, "run": 0.39}  # stance fraction of the tabulated curves
# Winter (2009) table 4.1, fractions of body height
_THIGH, _SHANK, _FOOT, _ANKLE_HEIGHT = 0.245, 0.246, 0.152, 0.039
_MTP_HEIGHT = 0.0115  # the MTP joint centre above the sole, fraction of body height (2 cm)
# Orendurff et al. (2004), module docstring: the pelvis's vertical excursion in walking (m,
# peak to peak) at two speeds (m/s), linear in between and beyond, taken for an adult of
# _EXCURSION_HEIGHT and scaled with body height
_EXCURSION_AT = ((0.7, 0.027), (1.6, 0.048))
_EXCURSION_HEIGHT = 1.75  # m
_HIP_JOINTS = 0.094  # hip joint centres apart, fraction of body height (module docstring)
_STEP_WIDTH = 0.13  # fraction of leg length (hip height), module docstring
_NECK, _HEAD, _HIP_HEIGHT = 0.818, 0.936, 0.530
_TOES = 0.03  # toe length beyond the ball of the foot (about a fifth of the foot)
KEYPOINTS = (
    "pelvis", "r_hip", "l_hip", "r_knee", "l_knee", "r_ankle", "l_ankle",
    "r_heel", "l_heel", "r_toe", "l_toe", "neck_base", "head",
)  # fmt: skip


@dataclass(frozen=True)
class GaitSpec:
    """One procedural clip. `turn_rate` in degrees per second, positive to the left."""

    kind: str  # "walk" or "run"
    speed: float  # m/s
    duration: float = 6.0  # s
    turn_rate: float = 0.0
    start_stop: bool = False  # stand still, speed up, go, slow down, stand still
    height: float = 1.75  # m, body height of the source skeleton
    fps: float = 120.0

    def __post_init__(self) -> None:
        ranges = {"walk": (0.8, 1.8), "run": (2.5, 4.0)}
        if self.kind not in ranges:
            raise ValueError(f"gait kind must be 'walk' or 'run', got {self.kind!r}")
        low, high = ranges[self.kind]
        if not low <= self.speed <= high:
            raise ValueError(f"{self.kind} speed must be in [{low}, {high}] m/s, got {self.speed}")
        if self.duration <= 0 or self.height <= 0 or self.fps <= 0:
            raise ValueError("duration, height and fps must be positive")

    @property
    def name(self) -> str:
        turn = f"_turn{'left' if self.turn_rate > 0 else 'right'}{abs(self.turn_rate):g}"
        return (
            f"{self.kind}_{self.speed:g}"
            + (turn if self.turn_rate else "")
            + ("_startstop" if self.start_stop else "")
        )

    @property
    def hip_height(self) -> float:
        return _HIP_HEIGHT * self.height

    @property
    def stride_length(self) -> float:
        froude = self.speed**2 / (GRAVITY * self.hip_height)
        return 2.3 * self.hip_height * froude**0.3

    @property
    def stance_fraction(self) -> float:
        if self.kind == "walk":
            return 0.62 - 0.05 * (self.speed - 1.3)
        return 0.39 - 0.03 * (self.speed - 3.2)

    @property
    def stride_frequency(self) -> float:
        return self.speed / self.stride_length


def generate(spec: GaitSpec) -> Motion:
    """Keypoints of one clip (see the module docstring)."""
    h = spec.height
    thigh, shank = _THIGH * h, _SHANK * h
    heel_local = np.array([-0.22 * _FOOT * h, -_ANKLE_HEIGHT * h])  # (forward, up) from ankle
    ball_local = np.array([0.55 * _FOOT * h, -_ANKLE_HEIGHT * h])
    times = np.arange(int(round(spec.duration * spec.fps)) + 1) / spec.fps
    effort = _effort(spec, times)  # 0 standing .. 1 full gait
    # seconds of full gait so far (trapezoidal integral of the effort)
    gait_time = np.concatenate([[0.0], np.cumsum(effort[1:] + effort[:-1]) / 2 / spec.fps])
    heading = np.radians(spec.turn_rate) * gait_time
    forward = np.stack([np.cos(heading), np.sin(heading), 0 * heading], axis=1)
    left = np.stack([-np.sin(heading), np.cos(heading), 0 * heading], axis=1)
    up = np.array([0.0, 0.0, 1.0])
    distance = spec.speed * gait_time
    curves = _curves(spec)
    duty = spec.stance_fraction
    hip_scale = _hip_scale(spec, curves, thigh, shank, heel_local, ball_local)

    legs = {}
    for side, offset in (("r", 0.0), ("l", 0.5)):
        phase = (spec.stride_frequency * times + offset) % 1.0
        hip_a, knee_a, ankle_a = (
            curves[j](_curve_phase(phase, duty, spec.kind)) for j in ("hip", "knee", "ankle")
        )
        hip_a = np.radians(effort * hip_scale * hip_a)
        knee_a, ankle_a = np.radians(effort * knee_a), np.radians(effort * ankle_a)
        legs[side] = _sagittal(hip_a, knee_a, ankle_a, thigh, shank, heel_local, ball_local)
        legs[side]["stance"] = phase < duty
        legs[side]["phase"] = phase
        legs[side]["duty"] = duty

    # Pelvis: along the path at the commanded speed; its height keeps the stance feet on
    # the floor (from the stance legs' own geometry), interpolated through flight phases.
    implied = np.full((2, len(times)), np.inf)
    for row, leg in enumerate(legs.values()):
        contact = np.minimum(leg["heel"][:, 1], leg["ball"][:, 1])
        implied[row, leg["stance"]] = -contact[leg["stance"]]
    height = implied.min(axis=0)
    known = np.isfinite(height)
    height = PchipInterpolator(times[known], height[known])(times)
    # the lower envelope steps down where a new stance leg takes over (17 cm in one frame at
    # 1.8 m/s); a pelvis cannot, so the envelope is made continuous from below
    height = _continuous_below(height, spec.fps)
    walking = spec.kind == "walk"
    if walking:  # a sinusoid about the mean, lowered below into reach (module docstring)
        height = np.mean(height) + effort * _vertical_motion(spec, times)
    path = np.zeros((len(times), 3))
    middle = (heading[1:] + heading[:-1]) / 2
    path[1:, 0] = np.cumsum(np.diff(distance) * np.cos(middle))
    path[1:, 1] = np.cumsum(np.diff(distance) * np.sin(middle))
    hip_half_width = 0.5 * _HIP_JOINTS * h
    foot_half_width = 0.5 * _STEP_WIDTH * spec.hip_height
    sway = effort * _lateral_sway(spec, times, foot_half_width)
    reach = 0.995 * (thigh + shank)

    for _ in range(3):  # lower the pelvis wherever a planted foot is out of the leg's reach
        centre = path + up * height[:, None] + sway[:, None] * left
        out: dict[str, np.ndarray] = {}
        allowed = np.full(len(times), np.inf)
        for side, sign in (("r", -1.0), ("l", 1.0)):
            leg = legs[side]
            hip = centre + sign * hip_half_width * left
            ankle, heel, ball = (
                hip
                + leg[key][:, :1] * forward
                + leg[key][:, 1:] * up
                + (sign * (foot_half_width - hip_half_width) - sway)[:, None] * left
                for key in ("ankle", "heel", "ball")
            )
            _plant_stance_feet(leg, ankle, heel, ball, forward, heel_local, ball_local, _TOES * h)
            across = np.linalg.norm((ankle - hip)[:, :2], axis=1)
            top = ankle[:, 2] + np.sqrt(np.maximum(reach**2 - across**2, 0.0))
            allowed = np.where(leg["stance"], np.minimum(allowed, top), allowed)
            out.update(
                {
                    f"{side}_hip": hip,
                    f"{side}_ankle": ankle,
                    f"{side}_heel": heel,
                    f"{side}_toe": _mtp_joint(heel, ball, _MTP_HEIGHT * h) if walking else ball,
                }
            )
        if np.all(height <= allowed + 1e-9):
            break
        if walking:  # lowered as a whole, so that the curve keeps its shape
            height = height - np.max(height - allowed)
        else:
            height = _continuous_below(np.minimum(height, allowed), spec.fps)
    for side in ("r", "l"):
        out[f"{side}_knee"] = _two_link_knee(
            out[f"{side}_hip"], out[f"{side}_ankle"], thigh, shank, forward
        )
    pelvis = (out["r_hip"] + out["l_hip"]) / 2
    lean = np.radians(3.0 if spec.kind == "walk" else 8.0)  # forward trunk lean
    trunk = np.cos(lean) * up + np.sin(lean) * forward
    out["pelvis"] = pelvis
    out["neck_base"] = pelvis + (_NECK - _HIP_HEIGHT) * h * trunk
    out["head"] = pelvis + (_HEAD - _HIP_HEIGHT) * h * trunk
    return Motion(
        name=spec.name,
        keypoints=np.stack([out[n] for n in KEYPOINTS], axis=1),
        keypoint_names=KEYPOINTS,
        fps=spec.fps,
        meta=MotionMeta(
            source=f"crossmimic procedural gait {spec}",
            subject=f"procedural, height {spec.height:g} m",
            licence="generated by crossmimic (Apache-2.0); no third-party data",
            original_fps=spec.fps,
        ),
    )


def _vertical_motion(spec: GaitSpec, times: np.ndarray) -> np.ndarray:
    """The walking pelvis's height about its mean (m): lowest in the middle of each double
    support (the right leg's phase (duty - 0.5) / 2 and half a cycle later), highest in
    mid single stance, peak to peak Orendurff's excursion at this speed and height."""
    (slow, low), (fast, high) = _EXCURSION_AT
    at_speed = low + (high - low) * (spec.speed - slow) / (fast - slow)
    excursion = at_speed * spec.height / _EXCURSION_HEIGHT
    lowest = (spec.stance_fraction - 0.5) / 2
    phase = (spec.stride_frequency * times) % 1.0
    return -0.5 * excursion * np.cos(4.0 * np.pi * (phase - lowest))


def _mtp_joint(heel: np.ndarray, ball: np.ndarray, height: float) -> np.ndarray:
    """The MTP joint centre: `height` above the ball of the foot, square to the sole."""
    sole = ball - heel
    sole /= np.linalg.norm(sole, axis=1, keepdims=True)
    up = np.array([0.0, 0.0, 1.0])
    normal = up - (sole @ up)[:, None] * sole
    return ball + height * normal / np.linalg.norm(normal, axis=1, keepdims=True)


def _continuous_below(height: np.ndarray, fps: float) -> np.ndarray:
    """The highest curve nowhere above `height` whose vertical speed stays within
    PELVIS_MAX_VERTICAL_SPEED: height(s) + speed |t - s| minimised over s (the lower
    envelope of cones under the curve). It equals `height` wherever that already moves
    slower, and ramps down ahead of a step down, so stance feet stay within reach."""
    times = np.arange(len(height)) / fps
    cones = height[None, :] + PELVIS_MAX_VERTICAL_SPEED * np.abs(times[:, None] - times[None, :])
    return cones.min(axis=1)


def _lateral_sway(spec: GaitSpec, times: np.ndarray, foot_half_width: float) -> np.ndarray:
    """The pelvis's offset to the left of the path (m): the periodic linear inverted pendulum
    over the stance foot (module docstring). Support passes from one foot to the other
    halfway between two single-stance midpoints, where the offset is zero."""
    frequency = spec.stride_frequency
    omega = np.sqrt(GRAVITY / spec.hip_height)
    half_step = 0.25 / frequency  # s, from a single-stance midpoint to the next hand-over
    # right single-stance midpoint at right phase duty / 2, the left's half a cycle later
    cycle = (frequency * times - spec.stance_fraction / 2 + 0.25) % 1.0
    side = np.where(cycle < 0.5, -1.0, 1.0)  # the supporting foot: -1 right, +1 left
    from_midpoint = ((cycle % 0.5) - 0.25) / frequency
    return (
        side * foot_half_width * (1 - np.cosh(omega * from_midpoint) / np.cosh(omega * half_step))
    )


def _effort(spec: GaitSpec, times: np.ndarray) -> np.ndarray:
    """How much of the gait is on: 1 throughout, or 0 -> 1 -> 0 for a start and a stop."""
    if not spec.start_stop:
        return np.ones_like(times)
    rest, ramp = 0.6, 1.2  # s standing, s to reach full speed
    end = times[-1]
    rise = np.clip((times - rest) / ramp, 0.0, 1.0)
    fall = np.clip((end - rest - times) / ramp, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(rise, fall))


def _curves(spec: GaitSpec) -> dict[str, CubicSpline]:
    table = _WALK if spec.kind == "walk" else _RUN
    return {
        j: CubicSpline(_PHASE, np.array(v, float), bc_type="periodic") for j, v in table.items()
    }


def _curve_phase(phase: np.ndarray, duty: float, kind: str) -> np.ndarray:
    """Map this gait's phase onto the tabulated curves' so that toe-off lines up."""
    toe_off = _TOE_OFF[kind]
    return np.where(
        phase < duty,
        phase / duty * toe_off,
        toe_off + (phase - duty) / (1.0 - duty) * (1.0 - toe_off),
    )


def _sagittal(hip, knee, ankle, thigh, shank, heel_local, ball_local) -> dict[str, np.ndarray]:
    """Ankle, heel and ball of the foot from the hip, in the (forward, up) plane; foot pitch."""
    knee_point = thigh * np.stack([np.sin(hip), -np.cos(hip)], axis=1)
    shank_angle = hip - knee
    ankle_point = knee_point + shank * np.stack([np.sin(shank_angle), -np.cos(shank_angle)], axis=1)
    pitch = shank_angle + ankle  # + = toes up
    return {
        "ankle": ankle_point,
        "heel": ankle_point + _rotate(pitch, heel_local),
        "ball": ankle_point + _rotate(pitch, ball_local),
        "pitch": pitch,
    }


def _rotate(angle: np.ndarray, vector: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1]], axis=-1)


def _hip_scale(spec, curves, thigh, shank, heel_local, ball_local) -> float:
    """Scale of the hip curve that makes one stance carry the body one stance's distance."""
    duty = spec.stance_fraction
    phase = np.array([0.0, duty - 1e-6])
    angles = {j: np.radians(curves[j](_curve_phase(phase, duty, spec.kind))) for j in curves}
    wanted = duty * spec.stride_length
    foot_flat = ball_local[0] - heel_local[0]

    def carried(scale: float) -> float:
        leg = _sagittal(
            scale * angles["hip"],
            angles["knee"],
            angles["ankle"],
            thigh,
            shank,
            heel_local,
            ball_local,
        )
        return leg["heel"][0, 0] + foot_flat - leg["ball"][1, 0]

    low, high = 0.2, 4.0
    for _ in range(40):  # bisection; carried() grows with the scale
        middle = 0.5 * (low + high)
        low, high = (middle, high) if carried(middle) < wanted else (low, middle)
    return 0.5 * (low + high)


def _plant_stance_feet(leg, ankle, heel, ball, forward, heel_local, ball_local, toe_length) -> None:
    """Pin each stance foot where it lands: heel down while the toes are up, then the ball.

    Swing frames keep their normative shape, shifted so that the foot leaves the ground
    where stance left it (the shift fades out over the swing).
    """
    stance = leg["stance"]
    pitch = leg["pitch"]
    up = np.array([0.0, 0.0, 1.0])
    count = len(stance)
    fk_ankle, fk_heel, fk_ball = ankle.copy(), heel.copy(), ball.copy()
    starts = [t for t in range(count) if stance[t] and (t == 0 or not stance[t - 1])]
    for start in starts:
        end = start
        while end + 1 < count and stance[end + 1]:
            end += 1
        direction = forward[start]
        heel_anchor = heel[start] - heel[start] @ up * up
        ball_anchor = heel_anchor + (ball_local[0] - heel_local[0]) * direction
        for t in range(start, end + 1):
            p = pitch[t]
            heel_first = p >= 0.0
            anchor, local = (heel_anchor, heel_local) if heel_first else (ball_anchor, ball_local)
            offset = _rotate(np.array(p), local)
            ankle[t] = anchor - offset[0] * direction - offset[1] * up
            for points, part in ((heel, heel_local), (ball, ball_local)):
                rel = _rotate(np.array(p), part)
                points[t] = ankle[t] + rel[0] * direction + rel[1] * up
        # carry the stance-to-swing difference into the following swing, fading to zero
        swing_end = end + 1
        while swing_end < count and not stance[swing_end]:
            swing_end += 1
        for points, original in ((ankle, fk_ankle), (heel, fk_heel), (ball, fk_ball)):
            shift = points[end] - original[end]
            for t in range(end + 1, swing_end):
                points[t] += (0.5 + 0.5 * np.cos(np.pi * (t - end) / (swing_end - end))) * shift
    # keep every swinging foot clear of the floor; the clearance rises and falls over the swing
    progress = np.clip((leg["phase"] - leg["duty"]) / (1.0 - leg["duty"]), 0.0, 1.0)
    clearance = np.where(stance, -np.inf, SWING_CLEARANCE * np.sqrt(np.sin(np.pi * progress)))
    # the toes reach beyond the ball of the foot; a toes-down swing foot must clear them too
    tip = ball[:, 2] + toe_length * np.sin(pitch)
    lift = np.maximum(0.0, clearance - np.minimum.reduce([heel[:, 2], ball[:, 2], tip]))
    for points in (ankle, heel, ball):
        points[:, 2] += lift


def _two_link_knee(hip, ankle, thigh, shank, forward) -> np.ndarray:
    """Knee that joins a thigh from `hip` and a shank to `ankle`, bending forward."""
    reach = ankle - hip
    distance = np.linalg.norm(reach, axis=1, keepdims=True)
    axis = reach / distance
    distance = np.clip(distance, abs(thigh - shank) + 1e-6, thigh + shank - 1e-6)
    along = (thigh**2 - shank**2 + distance**2) / (2 * distance)
    across = np.sqrt(np.maximum(thigh**2 - along**2, 0.0))
    bend = forward - np.sum(forward * axis, axis=1, keepdims=True) * axis
    bend /= np.linalg.norm(bend, axis=1, keepdims=True)
    return hip + along * axis + across * bend
