"""The tasks of the suite: a body, a dataset of its reference clips, a train/test split.

Each task is also a Gymnasium environment, `crossmimic/<task>-v1` (registered when
`benchmark` is imported). `suite_hash` fingerprints the clips and models the tasks use, so
two results files with the same hash were scored on the same references.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import gymnasium
import numpy as np

import morphologies
from benchmark.protocol import PROTOCOL_VERSION
from retargeting.datasets import open_dataset
from retargeting.datasets.clip import Clip
from retargeting.datasets.shipped import shipped_dataset
from retargeting.datasets.splits import OSTRICH_TEST, OSTRICH_TRAIN

_WALK = {
    "train": ("walk_0.8", "walk_1.3", "walk_1.8", "walk_1.3_startstop"),
    "test": ("walk_1", "walk_1.5"),
}
_RUN = {
    "train": ("run_2.5", "run_3.2", "run_4", "run_3_startstop"),
    "test": ("run_2.8", "run_3.6"),
}
# The human legs leave run_4 out since retargeting version 4: with its stance feet on the
# floor, its toe slides at a median 2.4 m/s while down, and the skating gate rejects it on
# those bodies (21.3 > 20 mm a frame); on the ostrich it passes.
_RUN_LEGS = {**_RUN, "train": tuple(n for n in _RUN["train"] if n != "run_4")}
_TURN = {
    "train": (
        "walk_1.2_turnleft30",
        "walk_1.2_turnright30",
        "run_3_turnleft20",
        "run_3_turnright20",
    ),
    "test": ("walk_1.4_turnleft15", "walk_1.4_turnright15"),
}


class UnknownTaskError(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")


@dataclass(frozen=True)
class Task:
    id: str
    morphology: str
    description: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    suite: str = "default"  # the dataset suite the clips come from
    protocol: str = PROTOCOL_VERSION

    @property
    def env_id(self) -> str:
        return f"crossmimic/{self.id}-v1"

    @property
    def body(self) -> morphologies.Morphology:
        """The task's body (built once per process)."""
        return morphologies.get(self.morphology)

    def clip_names(self, split: str) -> tuple[str, ...]:
        if split == "train":
            return self.train
        if split == "test":
            return self.test
        if split == "all":
            return self.train + self.test
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")

    def dataset(self) -> Path:
        """The task's dataset file: the suite's shipped data (checked against its manifest)."""

        return shipped_dataset(self.suite, self.morphology)

    def load_clips(self, split: str) -> list[Clip]:
        """The accepted reference clips of a split, in the task's order."""
        names = self.clip_names(split)
        with open_dataset(self.dataset(), self.body) as data:
            missing = [n for n in names if n not in data.names]
            if missing:
                raise LookupError(f"task {self.id}: clips {missing} are not in {data.path}")
            clips = [data.clip(n) for n in names]
        rejected = [c.name for c in clips if c.rejected]
        if rejected:
            raise LookupError(f"task {self.id}: clips {rejected} failed the retargeting gates")
        return clips


TASKS: dict[str, Task] = {
    task.id: task
    for task in (
        Task("legs80-walk", "human_legs_80", "walk 0.8-1.8 m/s, start and stop", **_WALK),
        Task("legs80-run", "human_legs_80", "run 2.5-4 m/s, start and stop", **_RUN_LEGS),
        Task("legs80-turn", "human_legs_80", "walk and run while turning", **_TURN),
        Task("legs86-walk", "human_legs_abs_86", "walk, body with abdominal muscles", **_WALK),
        Task("legs290-walk", "human_legs_back_290", "walk, body with the MyoBack trunk", **_WALK),
        Task("ostrich-walk", "ostrich", "human walks, Froude-scaled onto the ostrich", **_WALK),
        Task("ostrich-run", "ostrich", "human runs, Froude-scaled onto the ostrich", **_RUN),
        Task(
            "ostrich-run-real",
            "ostrich",
            "real ostrich running: single passes and a 25 s looped stride",
            train=OSTRICH_TRAIN,
            test=OSTRICH_TEST,
            suite="ostrich-real",
        ),
    )
}


def get_task(name: str) -> Task:
    """A task by id (`legs80-walk`) or environment id (`crossmimic/legs80-walk-v1`)."""
    key = name.removeprefix("crossmimic/").removesuffix("-v1")
    if key not in TASKS:
        raise UnknownTaskError(name)
    return TASKS[key]


def suite_hash(tasks: list[Task]) -> str:
    """sha256 over the protocol, each task's split, model hash and clip arrays (the shipped
    float32 values, so the same on every install of a version)."""
    digest = hashlib.sha256(PROTOCOL_VERSION.encode())
    for task in sorted(tasks, key=lambda t: t.id):
        body = task.body
        digest.update(f"{task.id}|{body.model_hash}|{task.train}|{task.test}".encode())
        for clip in task.load_clips("all"):
            for array in (clip.qpos, clip.qvel, clip.keypoints):
                digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return digest.hexdigest()


def register_environments() -> None:

    for task in TASKS.values():
        if task.env_id not in gymnasium.registry:
            gymnasium.register(
                id=task.env_id,
                entry_point="benchmark.env:ImitationEnv",
                kwargs={"task": task.id},
            )
