"""Real ostrich running against human running retargeted onto the ostrich, at equal Froude.

For every real running clip (retargeted onto our ostrich by IK), a procedural human run at
the same Froude number is generated and retargeted twice: by Froude scaling alone, and with
the ostrich cadence prior (the retargeter's default, `retargeting.cadence_prior`). Human
motion files (a CMU run, say) may be added; they run at their own Froude numbers, which the
table shows beside the real clips'. Statistics are per clip (means over its complete
strides), then means over clips; all clips are measured by the same detector.

The acceptance of the cross-species retargeter: the human-derived duty factor within 0.1
of the real mean, the stride length over leg length within 25 % of it. The real mean is
that of every real running clip; the held-out clips, which no prior saw, are shown too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import morphologies
from benchmark.tables import format_table
from retargeting.cadence_prior import cadence_prior
from retargeting.cross_species import source_leg_length
from retargeting.datasets import open_dataset
from retargeting.datasets.shipped import shipped_dataset
from retargeting.datasets.splits import OSTRICH_TEST
from retargeting.gait import GRAVITY, GaitStats, gait_stats
from retargeting.motion import Motion
from retargeting.retarget import retarget
from retargeting.sources import load_motion
from retargeting.sources.ostrich import LOOPED, RUNNING
from retargeting.sources.procedural import GaitSpec, generate

DUTY_TOLERANCE = 0.1  # absolute
STRIDE_TOLERANCE = 0.25  # relative
_RUN_SPEEDS = (2.5, 4.0)  # the procedural generator's running range, m/s
JOINTS = ("hip", "knee", "ankle", "mtp")


@dataclass(frozen=True)
class Group:
    label: str
    clips: list[str] = field(default_factory=list)
    stats: list[GaitStats] = field(default_factory=list)
    real: bool = False  # real ostrich clips (else retargeted human motion)

    def mean(self, field_name: str) -> float:
        return float(np.nanmean([getattr(s, field_name) for s in self.stats]))

    def std(self, field_name: str) -> float:
        return float(np.nanstd([getattr(s, field_name) for s in self.stats]))

    def joint_mean(self, joint: str) -> float:
        return float(np.nanmean([s.joint_ranges_deg[joint] for s in self.stats]))


def compare_gaits(human_files: Sequence[Path] = ()) -> list[Group]:
    """The groups: real ostrich (all running clips, then the held-out ones), Froude-matched
    procedural human runs by Froude scaling alone and with the cadence prior, then each
    human file the same two ways."""
    ostrich = morphologies.get("ostrich")
    real = Group("real ostrich, running", real=True)
    held_out = Group("real ostrich, held-out", real=True)
    with open_dataset(shipped_dataset("ostrich-real", "ostrich"), ostrich) as data:
        for name in (*RUNNING, *LOOPED):
            stats = gait_stats(data.clip(name), ostrich)
            for group in (real, held_out) if name in OSTRICH_TEST else (real,):
                group.clips.append(name)
                group.stats.append(stats)

    leg = source_leg_length(generate(GaitSpec("run", 3.0, duration=1.0)))
    runs = []
    for stats in real.stats:
        speed = float(np.sqrt(stats.froude * GRAVITY * leg))
        runs.append(GaitSpec("run", round(float(np.clip(speed, *_RUN_SPEEDS)), 2)))
    groups = [real, held_out]
    groups += _retargeted("human runs (procedural)", [lambda s=s: generate(s) for s in runs])
    for path in human_files:
        groups += _retargeted(f"{Path(path).name}", [lambda p=path: load_motion(p)])
    return groups


def _retargeted(label: str, loaders: list[Callable[[], Motion]]) -> list[Group]:
    ostrich = morphologies.get("ostrich")
    froude_only, prior = Group(f"{label}, Froude only"), Group(f"{label}, cadence prior")
    for load in loaders:
        motion = load()
        for group, cadence in ((froude_only, 1.0), (prior, None)):
            group.clips.append(motion.name)
            group.stats.append(gait_stats(retarget(motion, ostrich, cadence=cadence), ostrich))
    return [froude_only, prior]


def format_report(groups: list[Group]) -> str:
    rows = []
    for group in groups:
        froude = [s.froude for s in group.stats]
        rows.append(
            [
                group.label,
                len(group.clips),
                sum(s.strides for s in group.stats),
                f"{np.nanmean(froude):.2f} ({np.nanmin(froude):.2f}-{np.nanmax(froude):.2f})",
                f"{group.mean('duty_factor'):.3f} +- {group.std('duty_factor'):.3f}",
                f"{group.mean('stride_per_leg'):.2f} +- {group.std('stride_per_leg'):.2f}",
                round(group.mean("stride_frequency"), 2),
                *[round(group.joint_mean(j)) for j in JOINTS],
            ]
        )
    headers = ["motion", "clips", "strides", "froude", "duty_factor", "stride/leg", "stride_hz"]
    table = format_table([*headers, *[f"{j}_range_deg" for j in JOINTS]], rows)
    reference = groups[0]
    lines = [table, "", f"against the mean of the {reference.label} clips:"]
    for group in groups:
        if group.real:
            continue
        duty = group.mean("duty_factor") - reference.mean("duty_factor")
        stride = group.mean("stride_per_leg") / reference.mean("stride_per_leg") - 1.0
        lines.append(
            f"  {group.label}: duty factor {duty:+.3f} "
            f"({'within' if abs(duty) <= DUTY_TOLERANCE else 'OUTSIDE'} {DUTY_TOLERANCE}), "
            f"stride/leg {stride:+.1%} "
            f"({'within' if abs(stride) <= STRIDE_TOLERANCE else 'OUTSIDE'} "
            f"{STRIDE_TOLERANCE:.0%})"
        )
    ostrich = morphologies.get("ostrich")
    prior = cadence_prior(ostrich.measures.hip_height)
    lines += [
        f"cadence prior: {prior.cadence:.3f} (ostrich stride/h = {prior.coefficient:.3f} "
        f"Froude^0.3, fitted on {len(prior.clips)} training clips, {prior.strides} strides)",
        "leg length: the ostrich's hip-knee-ankle-MTP chain plus the MTP's height standing "
        f"({ostrich.measures.leg_length:.3f} m); Froude number with the standing hip height "
        f"({ostrich.measures.hip_height:.3f} m)",
    ]
    return "\n".join(lines)
