"""The ostrich cadence prior: how much shorter and quicker an ostrich's strides are than a
dynamically similar biped's.

Dynamic similarity predicts one relative stride length per Froude number for every biped:
stride / h = 2.3 (v^2 / g h)^0.3 (Alexander 1984, "The gait of bipedal and quadrupedal
animals", Int. J. Robotics Research 3(2):49-59); human running follows it, and the procedural
generator is built on it. Large birds do not: at dynamically similar speeds they take
relatively shorter strides at higher frequencies (Daley & Birn-Jeffery 2018, J. Exp. Biol.
221: jeb152538, 21 species up to the ostrich). Measured here, Froude scaling alone makes a
human run's ostrich strides about 30 % longer than a real ostrich's (`benchmark
gait-compare`, the "Froude only" row).

The prior keeps Alexander's exponent and fits the ostrich's coefficient on the real training
clips (`datasets.splits.OSTRICH_TRAIN`; the held-out test clips never enter it). The cadence factor
is the ratio of the two coefficients; the human -> ostrich retargeter divides the motion's
times and excursions by it, which keeps every speed, and so the Froude number, and makes the
strides that much shorter and quicker.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from retargeting.datasets.splits import OSTRICH_TRAIN
from retargeting.foot_contacts import SIDES, keypoint_contacts, strides
from retargeting.sources.ostrich import load_ostrich

GRAVITY = 9.81
ALEXANDER_COEFFICIENT = 2.3  # stride / h at Froude number 1, bipeds and quadrupeds
ALEXANDER_EXPONENT = 0.3


@dataclass(frozen=True)
class CadencePrior:
    coefficient: float  # the ostrich's: stride / h = coefficient * Froude^0.3
    clips: tuple[str, ...]  # fitted on these real clips
    strides: int  # complete strides among them

    @property
    def cadence(self) -> float:
        """Stride frequency of an ostrich over that of a dynamically similar biped."""
        return ALEXANDER_COEFFICIENT / self.coefficient


def stride_coefficient(length: float, seconds: float, hip_height: float) -> float:
    """(stride / h) / Froude^0.3 of one stride: Alexander's coefficient, measured."""
    froude = (length / seconds) ** 2 / (GRAVITY * hip_height)
    return (length / hip_height) / froude**ALEXANDER_EXPONENT


@functools.cache
def cadence_prior(hip_height: float) -> CadencePrior:
    """The prior for an ostrich of standing hip height `hip_height` (m), which sets the
    Froude numbers; the mean over training clips of each clip's mean coefficient, so the
    25 s looped clip does not outvote the single passes."""
    per_clip, count = [], 0
    for name in OSTRICH_TRAIN:
        motion = load_ostrich(name)
        feet = {side: (f"{side}_toe", f"{side}_mtp") for side in SIDES}
        contacts = keypoint_contacts(motion, feet, hip_height)
        found = strides(motion.keypoint("pelvis"), contacts, motion.fps)
        if found:
            per_clip.append(
                np.mean([stride_coefficient(s.length, s.seconds, hip_height) for s in found])
            )
            count += len(found)
    return CadencePrior(coefficient=float(np.mean(per_clip)), clips=OSTRICH_TRAIN, strides=count)
