"""Figures from episodes and results files (matplotlib, PNG or SVG by the file suffix):
per-keypoint tracking error over one episode, the muscles' activation over one episode as
a heat map (muscles x time), and per-clip frame coverage from a `benchmark run` results
file. Learning curves come from `benchmark compare --plot`."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.agents import load_agent
from benchmark.episode import Job, evaluation_env, play


@dataclass(frozen=True)
class Episode:
    task: str
    clip: str
    keypoints: tuple[str, ...]
    muscles: tuple[str, ...]
    fps: float
    errors: np.ndarray  # (steps, keypoints), m
    activations: np.ndarray  # (steps, muscles)
    terminated: bool


def record_episode(agent_spec: str, task_id: str, clip: str) -> Episode:
    """One evaluation episode (frame 0, deterministic) with its per-step errors."""

    agent = load_agent(agent_spec)
    env = evaluation_env(agent, task_id, "all")
    errors, activations, terminated = [], [], False
    for step in itertools.islice(play(agent, env, Job(env.task.id, 0, clip, "all")), 1, None):
        errors.append(step.info["keypoint_errors"])
        activations.append(step.info["activation"])
        terminated = step.terminated
    muscles = tuple(env.model.actuator(i).name for i in range(env.model.nu))
    return Episode(
        env.task.id,
        clip,
        tuple(env.tracked),
        muscles,
        env.clip.fps,
        np.array(errors),
        np.array(activations),
        terminated,
    )


def _figure(width: float = 7.0, height: float = 4.0):
    import matplotlib  # noqa: PLC0415 (matplotlib: heavy, figures only)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 (matplotlib: heavy, figures only)

    return plt, *plt.subplots(figsize=(width, height), dpi=120)


def plot_keypoint_errors(episode: Episode, path: Path) -> None:
    plt, figure, axes = _figure()
    seconds = np.arange(1, len(episode.errors) + 1) / episode.fps
    for column, name in enumerate(episode.keypoints):
        axes.plot(seconds, 1000.0 * episode.errors[:, column], label=name, lw=1.2)
    axes.plot(seconds, 1000.0 * episode.errors.mean(axis=1), "k", lw=2.0, label="mean (MPJPE)")
    axes.set_xlabel("time (s)")
    axes.set_ylabel("keypoint error (mm)")
    ended = "terminated" if episode.terminated else "clip end"
    axes.set_title(f"{episode.task} {episode.clip}: tracking error per keypoint ({ended})")
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_activations(episode: Episode, path: Path) -> None:
    height = 2.0 + 0.06 * len(episode.muscles)
    plt, figure, axes = _figure(7.0, min(height, 14.0))
    steps = len(episode.activations)
    image = axes.imshow(
        episode.activations.T,
        aspect="auto",
        origin="lower",
        vmin=0.0,
        vmax=1.0,
        cmap="magma",
        extent=(0.0, steps / episode.fps, -0.5, len(episode.muscles) - 0.5),
    )
    if len(episode.muscles) <= 100:
        axes.set_yticks(range(len(episode.muscles)), episode.muscles, fontsize=4)
    axes.set_xlabel("time (s)")
    axes.set_ylabel("muscle")
    axes.set_title(f"{episode.task} {episode.clip}: activation")
    figure.colorbar(image, ax=axes, label="activation")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_coverage(results_file: Path, path: Path) -> None:
    """Bars of frame coverage per (task, clip) of a results.json, one group per task."""
    results = json.loads(Path(results_file).read_text())
    episodes = [e for e in results["episodes"] if e.get("seed", 0) == results["seeds"][0]]
    if not episodes:
        raise ValueError(f"{results_file}: field 'episodes' is empty")
    labels = [f"{e['task']}\n{e['clip']}" for e in episodes]
    plt, figure, axes = _figure(max(6.0, 0.5 * len(episodes)), 4.0)
    colours = ["tab:red" if e["failure"] else "tab:blue" for e in episodes]
    axes.bar(range(len(episodes)), [e["coverage"] for e in episodes], color=colours)
    axes.set_xticks(range(len(episodes)), labels, fontsize=6, rotation=90)
    axes.set_ylim(0.0, 1.0)
    axes.set_ylabel("frame coverage")
    axes.set_title(f"{results['agent']['name']}: coverage per clip (red: failed episode)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
