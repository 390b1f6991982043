"""The dataset suites: what each is built from, and where `benchmark datasets build` keeps
the copies it builds (the tasks read the shipped copies, `retargeting.datasets.shipped`).

- `default`: the built-in procedural locomotion (no download, no third-party licence),
  retargeted onto every human morphology and, by Froude scaling, onto the ostrich. The
  embedded default data of the benchmark.
- `ostrich-real`: the real ostrich clips shipped with the package, onto the ostrich. Their
  gates allow 40 mm of foot skating per frame, not 20: the source's stance toes slide (at
  30 fps, 3-11 mm per frame on average in the single passes, 20 mm in the looped clip, 31 mm
  at most), which no IK of ours should hide, and the measure follows the geoms' centres,
  which also move as the toes roll at touchdown and toe-off.
- `amass-kit`: for users who have AMASS, the Kinesis KIT locomotion split (975 training,
  109 test clips; key lists from amathislab/Kinesis `data/kit_{train,test}_keys.txt`),
  so results compare with Kinesis's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from morphologies import Morphology
from retargeting.datasets.build import MotionInput
from retargeting.datasets.read import open_dataset
from retargeting.datasets.schema import DatasetFormatError
from retargeting.motion import Motion
from retargeting.quality import Gates
from retargeting.retarget import RETARGET_VERSION
from retargeting.sources.amass import load_amass
from retargeting.sources.ostrich import CLIPS as OSTRICH_CLIPS
from retargeting.sources.ostrich import load_ostrich
from retargeting.sources.procedural import GaitSpec, generate

HUMAN_BODIES = ("human_legs_80", "human_legs_abs_86", "human_legs_back_290")
DEFAULT_BODIES = (*HUMAN_BODIES, "ostrich")  # what `benchmark datasets build` builds

DEFAULT_GAITS = (
    GaitSpec("walk", 0.8),
    GaitSpec("walk", 1.0),
    GaitSpec("walk", 1.3),
    GaitSpec("walk", 1.5),
    GaitSpec("walk", 1.8),
    GaitSpec("run", 2.5),
    GaitSpec("run", 2.8),
    GaitSpec("run", 3.2),
    GaitSpec("run", 3.6),
    GaitSpec("run", 4.0),
    GaitSpec("walk", 1.2, turn_rate=30.0),
    GaitSpec("walk", 1.2, turn_rate=-30.0),
    GaitSpec("walk", 1.4, turn_rate=15.0),
    GaitSpec("walk", 1.4, turn_rate=-15.0),
    GaitSpec("run", 3.0, turn_rate=20.0),
    GaitSpec("run", 3.0, turn_rate=-20.0),
    GaitSpec("walk", 1.3, start_stop=True),
    GaitSpec("run", 3.0, start_stop=True),
)
SUITES = ("default", "ostrich-real", "amass-kit")


@dataclass(frozen=True)
class BuiltInSuite:
    """A suite built from data in the package, no download: its bodies, inputs and gates."""

    bodies: tuple[str, ...]
    inputs: Callable[[], list[MotionInput]]
    gates: Gates = Gates()


def cache_dir() -> Path:
    """Where built datasets live: $CROSSMIMIC_CACHE, else the user's cache directory."""
    if os.environ.get("CROSSMIMIC_CACHE"):
        return Path(os.environ["CROSSMIMIC_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "crossmimic"


def dataset_path(cache: Path, suite: str, morphology: str, split: str = "") -> Path:
    return cache / suite / (f"{morphology}_{split}.h5" if split else f"{morphology}.h5")


def stale_reason(path: Path, inputs: list[MotionInput], morphology: Morphology) -> str | None:
    """Why a built file does not hold exactly these inputs for the installed model,
    retargeted by this version of the method; None when it does."""
    if not path.exists():
        return "not built yet"
    try:
        with open_dataset(path, morphology) as dataset:
            creation = dataset.creation
    except DatasetFormatError as error:
        return f"unreadable or made for another model ({error})"
    if creation.get("retargeting") != RETARGET_VERSION:
        return (
            f"made by retargeting version {creation.get('retargeting')}, this is {RETARGET_VERSION}"
        )
    if creation.get("inputs") != [item.origin for item in inputs]:
        return "made from other inputs"
    return None


def is_current(path: Path, inputs: list[MotionInput], morphology: Morphology) -> bool:
    return stale_reason(path, inputs, morphology) is None


# The grid of the content digest. numpy's vectorised sin, cos and exp round their last bits
# differently by CPU (AVX-512 against AVX2 kernels), so a digest of the raw float bits made
# the shipped suites look out of date on some machines; a source change below 0.1 mm does
# not change what retargeting makes of it (its residuals are millimetres).
CONTENT_GRID = 1e-4  # m


def _content(motion: Motion) -> str:
    """A digest of a motion's keypoints on a 0.1 mm grid: part of the build's creation
    parameters, so that a change to a source's code or files makes the datasets built from it
    out of date, as an edited input file does for `benchmark retarget`."""
    keypoints = np.asarray(motion.keypoints, dtype=np.float64)
    finite = np.isfinite(keypoints)
    grid = np.round(np.where(finite, keypoints, 0.0) / CONTENT_GRID).astype(np.int64)
    digest = hashlib.sha256(grid.tobytes() + np.packbits(finite).tobytes()).hexdigest()
    return f"keypoints@0.1mm sha256:{digest}"


def _loaded(name: str, motion: Motion, origin: str) -> MotionInput:
    return MotionInput(name, lambda: motion, f"{origin} {_content(motion)}")


def default_inputs() -> list[MotionInput]:
    return [_loaded(s.name, generate(s), f"procedural:{s}") for s in DEFAULT_GAITS]


def ostrich_real_inputs() -> list[MotionInput]:
    return [_loaded(n, load_ostrich(n), f"ostrich-mocap:{n}") for n in OSTRICH_CLIPS]


BUILT_IN = {
    "default": BuiltInSuite(DEFAULT_BODIES, default_inputs),
    # 40 mm of skating per frame: see the module docstring
    "ostrich-real": BuiltInSuite(("ostrich",), ostrich_real_inputs, Gates(foot_skating_mm=40.0)),
}


def kit_keys(split: str) -> tuple[str, ...]:
    """The Kinesis KIT clip keys of a split ("train" or "test")."""
    if split not in ("train", "test"):
        raise ValueError(f"KIT split must be 'train' or 'test', got {split!r}")
    text = files("retargeting.datasets").joinpath("kit_keys", f"{split}.txt").read_text()
    return tuple(line for line in text.splitlines() if line and not line.startswith("#"))


def kit_file(amass_root: Path, key: str) -> Path:
    """AMASS file of a Kinesis key: 0-KIT_<subject>_<stem> -> KIT/<subject>/<stem>.npz."""
    subject, stem = key.removeprefix("0-KIT_").split("_", 1)
    return amass_root / "KIT" / subject / f"{stem}.npz"


def kit_inputs(amass_root: Path, split: str) -> tuple[list[MotionInput], list[Path]]:
    """Inputs of a KIT split found under `amass_root`, and the files that are missing."""
    found, missing = [], []
    for key in kit_keys(split):
        path = kit_file(amass_root, key)
        if path.is_file():
            found.append(MotionInput(key, lambda path=path: load_amass(path), f"amass:{key}"))
        else:
            missing.append(path)
    return found, missing


class SuiteInputError(ValueError):
    """A suite that cannot be built from what was given (no AMASS folder, missing files)."""


def build_plan(
    suite: str,
    bodies: list[Morphology],
    cache: Path,
    *,
    amass_root: Path | None = None,
    allow_missing: bool = False,
) -> list[tuple[list[MotionInput], Morphology, Path]]:
    """What `benchmark datasets build` builds: (inputs, body, dataset file) per file. The
    built-in suites: one file per body; amass-kit: one per body and KIT split, refused (with
    what is missing) unless every file is under `amass_root` or `allow_missing`."""
    built_in = BUILT_IN.get(suite)
    if built_in is not None:
        inputs = built_in.inputs()
        return [(inputs, body, dataset_path(cache, suite, body.name)) for body in bodies]
    if suite != "amass-kit":
        raise SuiteInputError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    if amass_root is None:
        raise SuiteInputError("--suite amass-kit needs --amass-root DIR")
    plan = []
    for split in ("train", "test"):
        found, missing = kit_inputs(amass_root, split)
        if missing and not allow_missing:
            raise SuiteInputError(
                f"{split}: {len(missing)} of {len(found) + len(missing)} KIT files missing "
                f"under {amass_root}, e.g. {missing[0]}; --allow-missing builds without them"
            )
        plan += [(found, body, dataset_path(cache, suite, body.name, split)) for body in bodies]
    return plan
