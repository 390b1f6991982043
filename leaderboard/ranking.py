"""Ranking, recomputed from the stored episodes (never from submitted aggregates).

Per task and action interface (`benchmark.interfaces`; two interfaces are never ranked as
one, and protocol v1's reference interface, `excitation`, comes first), the entries the board
re-ran (`leaderboard verify`) in the main table and the self-reported ones apart, after
them, each ranked among themselves (the host evaluates, as MyoChallenge does: a submitter's
own numbers, however consistent, rank below every verified entry): by success rate, then by
MPJPE (lower first); ties share a rank. Each figure comes
with its 95 % stratified-bootstrap interval across the submission's seeds (rliable; clips
are the strata): the mean for success, the interquartile mean for MPJPE.

Across species: a normalised score per task, 0 for the `zero` agent and 100 for perfect
tracking, on the clip error: the mean tracked-keypoint error over the whole clip, where the
frames after the body fell (or the agent failed) count at the termination threshold
(0.5 m x size scale). MPJPE alone averages over the frames tracked, so a body that falls at
once would score well; the clip error does not reward falling. The zero agent's clip errors
are in `references.json` (`python -m leaderboard.references` writes it), as D4RL keeps its
reference scores in the library. Each is bound to its task's definition (protocol, body
model hash, suite and clip names), not to the bits of the built clips: those follow the
numerical libraries' versions (IK), and a reference that moved by a rounding error is still
the reference.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np

from benchmark.interfaces import INTERFACES
from benchmark.metrics import bootstrap_interval
from benchmark.protocol import TERMINATION_MEAN_ERROR, size_scale
from benchmark.tasks import TASKS, get_task
from leaderboard.store import Entry


@dataclass(frozen=True)
class Standing:
    rank: int  # among the entries of the same interface and standing (verified or not)
    entry: Entry
    task: str
    interface: str
    seeds: int
    success: float  # mean over episodes of all seeds
    success_ci: list[float]
    mpjpe_mm: float  # interquartile mean over seeds x clips (NaN where none was tracked)
    mpjpe_ci: list[float] | None
    coverage: float
    score: float | None  # normalised (see the module docstring); None without a reference

    @property
    def standing(self) -> str:
        """Which table the entry ranks in: "verified" (the board re-ran it) or "self-reported"."""
        return "verified" if self.entry.verified else "self-reported"


def episodes_of(entry: Entry, task: str) -> list[dict[str, Any]]:
    return [e for e in entry.results["episodes"] if e["task"] == task]


def _matrix(episodes: list[dict[str, Any]], key: str) -> np.ndarray:
    """(seeds, clips) of one metric; seeds and clips in sorted order."""
    seeds = sorted({e["seed"] for e in episodes})
    clips = sorted({e["clip"] for e in episodes})
    table = {(e["seed"], e["clip"]): float(e[key]) for e in episodes}
    return np.array([[table[(s, c)] for c in clips] for s in seeds])


def task_standings(entries: list[Entry], task: str) -> list[Standing]:
    """The ranked table of one task: per interface, the verified entries ranked among
    themselves, then the self-reported ones."""
    standings = []
    for interface in INTERFACES:
        for verified in (True, False):
            same = [e for e in entries if e.interface == interface and e.verified == verified]
            standings += _ranked(same, task, interface)
    return standings


def _ranked(entries: list[Entry], task: str, interface: str) -> list[Standing]:

    unranked = []
    for entry in entries:
        episodes = episodes_of(entry, task)
        if not episodes:
            continue
        success = _matrix(episodes, "success")
        mpjpe = _matrix(episodes, "mpjpe_mm")
        mean_success, success_ci = bootstrap_interval(success, "mean")
        if np.isfinite(mpjpe).all():
            iqm, mpjpe_ci = bootstrap_interval(mpjpe, "iqm")
        else:
            finite = mpjpe[np.isfinite(mpjpe)]
            iqm, mpjpe_ci = (float(finite.mean()) if finite.size else math.nan), None
        unranked.append(
            dict(
                entry=entry,
                task=task,
                interface=interface,
                seeds=success.shape[0],
                success=mean_success,
                success_ci=success_ci,
                mpjpe_mm=iqm,
                mpjpe_ci=mpjpe_ci,
                coverage=float(_matrix(episodes, "coverage").mean()),
                score=normalised_score(episodes, task),
            )
        )
    order = sorted(unranked, key=_sort_key)
    standings, previous, rank = [], None, 0
    for position, row in enumerate(order, start=1):
        key = _sort_key(row)
        if key != previous:
            rank, previous = position, key
        standings.append(Standing(rank=rank, **row))
    return standings


def _sort_key(row: dict[str, Any]) -> tuple[float, float]:
    mpjpe = row["mpjpe_mm"]
    return (-round(row["success"], 12), math.inf if math.isnan(mpjpe) else round(mpjpe, 9))


def clip_error_mm(episode: dict[str, Any], scale: float) -> float:
    """Mean keypoint error over the whole clip, untracked frames at the threshold (mm)."""

    threshold = 1000.0 * TERMINATION_MEAN_ERROR * scale
    tracked = episode["steps"] - (0 if episode["success"] else 1)
    tracked = max(tracked, 0)
    total = (episode["mpjpe_mm"] * tracked if tracked else 0.0) + threshold * (
        episode["clip_steps"] - tracked
    )
    return total / episode["clip_steps"]


def normalised_score(episodes: list[dict[str, Any]], task: str) -> float | None:
    """100 (1 - E / E_zero) with E the mean clip error over the episodes (module docstring)."""

    reference = references()["tasks"].get(task)
    if reference is None or reference["definition"] != task_definition(task):
        return None
    scale = size_scale(get_task(task).body)
    error = float(np.mean([clip_error_mm(e, scale) for e in episodes]))
    return 100.0 * (1.0 - error / reference["zero_clip_error_mm"])


@functools.cache
def references() -> dict[str, Any]:
    return json.loads(files("leaderboard").joinpath("references.json").read_text())


def task_definition(task: str) -> str:
    """SHA-256 of what defines a task's references: protocol, body model, suite, clips."""

    spec = get_task(task)
    text = "|".join(
        [
            spec.protocol,
            spec.id,
            spec.body.model_hash,
            spec.suite,
            ",".join(spec.train),
            ",".join(spec.test),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class CrossSpecies:
    """Normalised scores of each method (its best-scoring entry per task) across tasks; a
    method run through another interface than `excitation` is its own row, "method
    [interface]"."""

    tasks: list[str]  # ordered by body
    morphologies: dict[str, str]  # task -> body
    methods: list[str]
    scores: dict[tuple[str, str], float]  # (method, task) -> score
    entries: dict[tuple[str, str], int]  # (method, task) -> entry id

    def body_mean(self, method: str, body: str) -> float | None:
        values = [
            self.scores[(method, t)]
            for t in self.tasks
            if self.morphologies[t] == body and (method, t) in self.scores
        ]
        return float(np.mean(values)) if values else None


def cross_species(entries: list[Entry]) -> CrossSpecies:

    tasks = [t for t in TASKS if any(t in e.tasks for e in entries)]
    scores, chosen = {}, {}
    for entry in entries:
        for task in entry.tasks:
            score = normalised_score(episodes_of(entry, task), task)
            method = entry.method
            if entry.interface != "excitation":
                method = f"{method} [{entry.interface}]"
            key = (method, task)
            if score is not None and (key not in scores or score > scores[key]):
                scores[key], chosen[key] = score, entry.id
    methods = sorted(
        {m for m, _ in scores},
        key=lambda m: -np.mean([v for (method, _), v in scores.items() if method == m]),
    )
    return CrossSpecies(
        tasks=sorted(tasks, key=lambda t: (TASKS[t].morphology, list(TASKS).index(t))),
        morphologies={t: TASKS[t].morphology for t in tasks},
        methods=methods,
        scores=scores,
        entries=chosen,
    )
