"""Protocol v1 metrics: per episode from the environment's per-step `info`, per task over
clips, and across training seeds with interquartile means and 95 % stratified-bootstrap
intervals (rliable).

Per episode (T = the clip's frames, so T - 1 steps make the whole clip):
- coverage: steps taken / (T - 1) when the episode terminated, else 1; success: the clip
  ran to its end without termination or failure.
- strict coverage / strict success: the same, ending at the first step where any tracked
  keypoint is more than 0.15 m x size scale off.
- MPJPE (mm), global and root-relative (pelvis subtracted), averaged over the tracked steps:
  every step except a terminating one (which is off by more than the threshold by
  definition); also divided by leg length, to compare species.
- joint-angle RMSE (rad) against the clip's qpos over the independent joints; keypoint
  velocity error (m/s); activation volume (sum over muscles of a^2, mean over steps) and mean
  activation per muscle.
Errors are reset every episode (Kinesis's running MPJPE across clips is not repeated).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from benchmark import protocol


@dataclass(frozen=True)
class EpisodeMetrics:
    clip: str
    steps: int
    clip_steps: int
    coverage: float
    success: bool
    strict_coverage: float
    strict_success: bool
    mpjpe_mm: float
    mpjpe_root_relative_mm: float
    mpjpe_per_leg_length: float
    joint_rmse_rad: float
    velocity_error: float
    activation_volume: float
    mean_activation: list[float] = field(repr=False)
    failure: str | None = None  # agent error or simulation divergence

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> EpisodeMetrics:
        """From an episode record of a results file (extra keys such as `key` ignored)."""
        return cls(**{k: v for k, v in record.items() if k in cls.__dataclass_fields__})


def episode_metrics(
    clip: str,
    infos: list[dict],
    clip_steps: int,
    *,
    terminated: bool,
    scale: float,
    leg_length: float,
    failure: str | None = None,
) -> EpisodeMetrics:
    """Metrics of one episode from its per-step infos (see the module docstring)."""
    steps = len(infos)
    failure = failure or next((i["failure"] for i in infos if i.get("failure")), None)
    ended_early = terminated or failure is not None
    success = not ended_early and steps == clip_steps
    coverage = steps / clip_steps if ended_early or steps < clip_steps else 1.0
    strict = next(
        (
            k
            for k, info in enumerate(infos)
            if np.max(info["keypoint_errors"]) > protocol.STRICT_ERROR * scale
        ),
        None,
    )
    strict_coverage = coverage if strict is None else strict / clip_steps
    tracked = infos[:-1] if ended_early else infos

    def mean(key: str) -> float:
        return float(np.mean([i[key] for i in tracked])) if tracked else math.nan

    activations = np.array([i["activation"] for i in infos]) if infos else np.zeros((0, 0))
    mpjpe = mean("mpjpe")
    return EpisodeMetrics(
        clip=clip,
        steps=steps,
        clip_steps=clip_steps,
        coverage=coverage,
        success=success,
        strict_coverage=strict_coverage,
        strict_success=success and strict is None,
        mpjpe_mm=1000.0 * mpjpe,
        mpjpe_root_relative_mm=1000.0 * mean("mpjpe_root_relative"),
        mpjpe_per_leg_length=mpjpe / leg_length,
        joint_rmse_rad=math.sqrt(mean("joint_error_sq")) if tracked else math.nan,
        velocity_error=mean("velocity_error"),
        activation_volume=float((activations**2).sum(axis=1).mean()) if infos else 0.0,
        mean_activation=activations.mean(axis=0).tolist() if infos else [],
        failure=failure,
    )


SCALARS = (
    "coverage",
    "success",
    "strict_coverage",
    "strict_success",
    "mpjpe_mm",
    "mpjpe_root_relative_mm",
    "mpjpe_per_leg_length",
    "joint_rmse_rad",
    "velocity_error",
    "activation_volume",
)


def task_summary(episodes: list[EpisodeMetrics]) -> dict[str, float]:
    """Means over a task's clips (success as a rate); NaN MPJPEs (no tracked step) skipped."""
    summary = {"episodes": len(episodes), "failed": sum(e.failure is not None for e in episodes)}
    for key in SCALARS:
        values = np.array([float(getattr(e, key)) for e in episodes])
        finite = values[np.isfinite(values)]
        summary[key] = float(finite.mean()) if len(finite) else math.nan
    return summary


def across_seeds(
    scores: np.ndarray, *, reps: int = 2000, seed: int = 0
) -> dict[str, float | list[float]]:
    """Mean, standard deviation and interquartile mean with a 95 % stratified-bootstrap
    interval of a (seeds, tasks) score matrix, as rliable computes them."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must be (seeds, tasks), got shape {scores.shape}")
    iqm, interval = bootstrap_interval(scores, "iqm", reps=reps, seed=seed)
    return {
        "mean": float(scores.mean()),
        "std": float(scores.mean(axis=1).std(ddof=1)) if len(scores) > 1 else 0.0,
        "iqm": iqm,
        "iqm_ci95": interval,
    }


def bootstrap_interval(
    scores: np.ndarray, statistic: str = "iqm", *, reps: int = 2000, seed: int = 0
) -> tuple[float, list[float]]:
    """A statistic ("iqm" or "mean") of a (seeds, tasks) matrix and its 95 %
    stratified-bootstrap interval (rliable: seeds resampled within each task)."""
    from rliable import library, metrics  # noqa: PLC0415 (rliable: heavy, intervals only)

    aggregate = {"iqm": metrics.aggregate_iqm, "mean": metrics.aggregate_mean}[statistic]
    np.random.seed(seed)  # rliable draws from numpy's global generator
    point, interval = library.get_interval_estimates(
        {"agent": np.asarray(scores, dtype=np.float64)},
        lambda x: np.array([aggregate(x)]),
        reps=reps,
    )
    return float(point["agent"][0]), [
        float(interval["agent"][0, 0]),
        float(interval["agent"][1, 0]),
    ]


def ratio_interval(
    numerator: np.ndarray, denominator: np.ndarray, *, reps: int = 2000, seed: int = 0
) -> tuple[float, list[float]]:
    """IQM(numerator) / IQM(denominator) of two groups of runs' scores (1-D, one per seed) and
    its 95 % percentile interval, each group's seeds resampled independently (rliable's
    StratifiedIndependentBootstrap, as its probability of improvement does)."""
    from rliable import library, metrics  # noqa: PLC0415 (rliable: heavy, intervals only)

    a = np.asarray(numerator, dtype=np.float64)[:, None]
    b = np.asarray(denominator, dtype=np.float64)[:, None]
    if not len(a) or not len(b):
        raise ValueError("a ratio needs at least one score in each group")

    def ratio(x: np.ndarray, y: np.ndarray) -> float:
        return metrics.aggregate_iqm(x) / metrics.aggregate_iqm(y)

    with warnings.catch_warnings():  # arch deprecates random_state, which rliable passes on
        warnings.simplefilter("ignore", FutureWarning)
        bootstrap = library.StratifiedIndependentBootstrap(
            a, b, random_state=np.random.RandomState(seed)
        )
    low, high = bootstrap.conf_int(ratio, reps=reps, size=0.95, method="percentile")
    return float(ratio(a, b)), [float(low[0]), float(high[0])]
