"""The bodies of the crossmimic suite.

    >>> import morphologies
    >>> legs = morphologies.get("human_legs_80")
    >>> model = legs.model()              # compiled once per process
    >>> legs.num_muscles, legs.model_hash[:12]

Each record says how to build the MuJoCo model, which muscles and joints it has, where its
canonical keypoints are, which of them the scoring protocol tracks, which way it faces, its
standing pose and size, and its simulation settings. See `morphologies.morphology`.
"""

from morphologies.keypoints import CANONICAL_KEYPOINTS, FrameConvention, Keypoint, KeypointIndex
from morphologies.model_hash import model_hash
from morphologies.morphology import BodyMeasures, Morphology, MuscleReadings, SimSettings
from morphologies.registry import UnknownMorphologyError, get, names, register

__all__ = [
    "CANONICAL_KEYPOINTS",
    "BodyMeasures",
    "FrameConvention",
    "Keypoint",
    "KeypointIndex",
    "Morphology",
    "MuscleReadings",
    "SimSettings",
    "UnknownMorphologyError",
    "get",
    "model_hash",
    "names",
    "register",
]
