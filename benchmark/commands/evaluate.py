"""`benchmark` commands that evaluate agents and show what they do: `tasks`, `run`,
`render`, `plot episode | coverage`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.interfaces import INTERFACES
from benchmark.plots import plot_activations, plot_coverage, plot_keypoint_errors, record_episode
from benchmark.ray_executor import RayUnavailableError
from benchmark.render import (
    RenderSettings,
    agent_frames,
    dataset_frames,
    side_by_side,
    write_video,
)
from benchmark.runner import SUMMARY_HEADERS, run, summary_rows
from benchmark.tables import format_table
from benchmark.tasks import TASKS, get_task
from retargeting.files import check_output


def _tasks(args: argparse.Namespace) -> int:

    rows = [
        [t.id, t.morphology, len(t.train), len(t.test), t.protocol, t.description]
        for t in TASKS.values()
    ]
    print(format_table(["task", "morphology", "train", "test", "protocol", "description"], rows))

    print("\naction interfaces (every task; an agent declares its own):")
    print(format_table(["interface", "the action is"], [list(i) for i in INTERFACES.items()]))
    if args.verbose:
        for task in TASKS.values():
            print(
                f"\n{task.env_id}\n  train: {', '.join(task.train)}\n  test: {', '.join(task.test)}"
            )
    return 0


def _run(args: argparse.Namespace) -> int:

    tasks = args.task  # None: the agent's own tasks, else all
    out = args.output or Path("results") / Path(args.agent).stem.replace(":", "_")
    try:
        results = run(
            args.agent,
            tasks,
            out=out,
            split=args.split,
            seeds=args.seeds,
            workers=args.workers,
            resume=args.resume,
            progress=not args.quiet,
            executor=args.executor,
            address=args.address,
        )
    except RayUnavailableError as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished episodes are in {out}; --resume continues", file=sys.stderr)
        return 130
    print(format_table(SUMMARY_HEADERS, summary_rows(results)))
    agent = results["agent"]
    if not agent["is_controller"]:
        print(f"\n{agent['name']} is diagnostic (it teleports the body): never ranked")
    print(f"\nsuite {results['suite_hash'][:12]}, protocol {results['protocol']}, {out}")
    failed = results["episodes_failed"]
    if failed:
        print(f"{failed} of {results['episodes_done']} episodes failed:", file=sys.stderr)
        for episode in results["episodes"]:
            if episode["failure"]:
                print(f"  {episode['key']}: {episode['failure']}", file=sys.stderr)
        return 1
    return 0


def _render(args: argparse.Namespace) -> int:

    check_output(args.output, [args.dataset] if args.dataset else [], args.overwrite)
    settings = RenderSettings(width=args.width, height=args.height)
    if (args.dataset is None) == (args.agent is None):
        print("benchmark: render needs --agent (with --task) or --dataset", file=sys.stderr)
        return 2
    try:
        if args.dataset is not None:
            if not args.clip:
                raise KeyError("render --dataset needs --clip")
            frames = dataset_frames(args.dataset, args.clip, settings, args.frames)
        else:
            task = get_task(args.task)
            clip = args.clip or task.clip_names("test")[0]
            if clip not in task.clip_names("all"):
                raise KeyError(
                    f"task {task.id} has no clip {clip!r}; it has {task.clip_names('all')}"
                )
            frames = agent_frames(args.agent, task.id, clip, settings, args.frames)
            if args.beside:
                other = get_task(args.beside)
                if clip not in other.clip_names("all"):
                    raise KeyError(f"task {other.id} has no clip {clip!r} to show beside")
                frames = side_by_side(
                    frames, agent_frames(args.agent, other.id, clip, settings, args.frames)
                )
        report = write_video(frames, args.output)
    except (KeyError, ValueError) as error:
        print(f"benchmark: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2
    print(
        f"{report.path}: {report.frames} frames, {report.width}x{report.height}, "
        f"rendered at {report.frames_per_second:.1f} frames/s"
    )
    return 0


def _plot_episode(args: argparse.Namespace) -> int:

    if not (args.errors or args.activation):
        print("benchmark: plot episode needs --errors and/or --activation", file=sys.stderr)
        return 2
    for output in (args.errors, args.activation):
        if output is not None:
            check_output(output, [], args.overwrite)
    task = get_task(args.task)
    clip = args.clip or task.clip_names("test")[0]
    if clip not in task.clip_names("all"):
        print(f"benchmark: task {task.id} has no clip {clip!r}", file=sys.stderr)
        return 2
    episode = record_episode(args.agent, task.id, clip)
    for path, draw in ((args.errors, plot_keypoint_errors), (args.activation, plot_activations)):
        if path:
            draw(episode, path)
            print(path)
    return 0


def _plot_coverage(args: argparse.Namespace) -> int:

    check_output(args.output, [args.results], args.overwrite)
    try:
        plot_coverage(args.results, args.output)
    except (OSError, ValueError, KeyError) as error:
        print(f"benchmark: {args.results}: {error}", file=sys.stderr)
        return 2
    print(args.output)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `benchmark` parser."""
    p = commands.add_parser("tasks", help="list the tasks")
    p.add_argument("-v", "--verbose", action="store_true", help="also list each split's clips")
    p.set_defaults(handler=_tasks)

    p = commands.add_parser(
        "run",
        help="evaluate an agent on the suite (protocol v1)",
        description="One deterministic episode per (task, seed, clip) from frame 0; episodes "
        "are written to DIR/episodes.jsonl as they finish, then DIR/results.json and a summary.",
    )
    p.add_argument(
        "--agent", required=True, help="zero | random | reference | module:attr | file.py"
    )
    p.add_argument(
        "--task",
        action="append",
        help="task id (repeatable; default: the tasks the agent declares, else all)",
    )
    p.add_argument("--split", choices=("train", "test", "all"), default="test")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="episode seeds")
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes (default 1), or Ray actors (default: one per CPU)",
    )
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local processes, or a Ray cluster (the ray extra)",
    )
    p.add_argument("--address", help="with --executor ray: the cluster (default: start one here)")
    p.add_argument("-o", "--output", type=Path, help="results folder (default results/AGENT)")
    p.add_argument("--resume", action="store_true", help="skip episodes already finished")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run)

    p = commands.add_parser(
        "render",
        help="video of an agent tracking a clip, or of a retargeted clip alone",
        description="MuJoCo offscreen rendering (MUJOCO_GL=osmesa unless set): muscles coloured "
        "by activation, the reference keypoints as a green ghost, a camera following the "
        "pelvis, frame and live MPJPE in a corner. MP4, GIF or a PNG still by the output's suffix.",
    )
    p.add_argument("--agent", help="an agent, as for `benchmark run`")
    p.add_argument("--task", default="legs80-walk", help="task of the agent's episode")
    p.add_argument(
        "--beside", help="a second task on another body: the same clip rendered to the right"
    )
    p.add_argument("--dataset", type=Path, help="render a dataset's clip instead (its qpos)")
    p.add_argument("--clip", help="clip name (default with --agent: the task's first test clip)")
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="out.mp4, out.gif, or out.png (a still)"
    )
    p.add_argument(
        "--frames", type=int, help="at most this many frames (default: whole clip); .png: the last"
    )
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(handler=_render)

    plot = commands.add_parser("plot", help="figures of one episode or of a results file")
    kinds = plot.add_subparsers(dest="kind", metavar="KIND", required=True)
    p = kinds.add_parser(
        "episode",
        help="per-keypoint error over time and the activation heat map of one episode",
        description="Runs one evaluation episode (frame 0) and draws PNG or SVG files.",
    )
    p.add_argument("--agent", required=True, help="an agent, as for `benchmark run`")
    p.add_argument("--task", default="legs80-walk")
    p.add_argument("--clip", help="clip name (default: the task's first test clip)")
    p.add_argument("--errors", type=Path, help="per-keypoint error figure (.png or .svg)")
    p.add_argument("--activation", type=Path, help="activation heat map (.png or .svg)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(handler=_plot_episode)
    p = kinds.add_parser("coverage", help="frame coverage per clip of a results.json")
    p.add_argument("results", type=Path, help="results.json of `benchmark run`")
    p.add_argument("-o", "--output", type=Path, required=True, help=".png or .svg")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(handler=_plot_coverage)
