"""Retarget a list of motions onto one morphology and write them as one dataset file.

Used by `benchmark retarget` (files the user names) and `benchmark datasets build` (the
suites). Clips are written as they finish; an interrupted build resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tqdm import tqdm

from morphologies import Morphology
from retargeting.datasets.write import DatasetWriter
from retargeting.ik import IkSettings
from retargeting.motion import Motion
from retargeting.quality import Gates
from retargeting.retarget import PROTOCOL_FPS, RETARGET_VERSION, retarget


@dataclass(frozen=True)
class MotionInput:
    """A named motion, loaded only when its turn comes (a suite may have a thousand)."""

    name: str
    load: Callable[[], Motion]
    origin: str  # the file or generator, recorded in the dataset's creation parameters


def build_dataset(
    inputs: Sequence[MotionInput],
    morphology: Morphology,
    path: str | Path,
    *,
    fps: float = PROTOCOL_FPS,
    ik: IkSettings | None = None,
    gates: Gates = Gates(),
    progress: bool = True,
) -> Path:
    """Retarget every input (skipping those an interrupted build already wrote)."""
    ik = ik or IkSettings.for_body(morphology)
    names = [item.name for item in inputs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"clip names must be unique; repeated: {repeated}")
    creation = {
        "retargeting": RETARGET_VERSION,
        "fps": fps,
        "ik": asdict(ik),
        "gates": asdict(gates),
        "inputs": [item.origin for item in inputs],
    }
    with DatasetWriter(path, morphology, creation) as writer:
        todo = [item for item in inputs if item.name not in writer.done]
        bar = tqdm(todo, desc=f"{morphology.name}", unit="clip", disable=not progress)
        for item in bar:
            bar.set_postfix_str(item.name)
            motion = item.load()
            clip = retarget(motion, morphology, fps=fps, ik=ik, gates=gates)
            writer.add(replace(clip, name=item.name))
    return Path(path)
