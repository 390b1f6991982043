"""The `benchmark` command. Each subcommand is a small function over the library's API."""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import morphologies
from benchmark.agents import AgentLoadError
from benchmark.runner import ResultsExistError, RunSettingsError
from benchmark.tables import format_table
from benchmark.tasks import UnknownTaskError
from retargeting.datasets import DatasetFormatError, open_dataset
from retargeting.motion import MotionFormatError


def _morphologies(args: argparse.Namespace) -> int:
    selected = args.names or morphologies.names()
    bodies = [morphologies.get(name) for name in selected]  # unknown names fail before building
    rows = []
    for body in bodies:
        body.model()  # build (timed) before reading anything derived from the model
        size = body.measures
        rows.append(
            [
                body.name,
                body.num_muscles,
                body.dof,
                round(size.total_mass, 1),
                round(size.hip_height, 3),
                round(size.leg_length, 3),
                body.model_hash[:12],
                round(body.build_seconds, 2),
            ]
        )
    headers = [
        "name",
        "muscles",
        "DoF",
        "mass_kg",
        "hip_height_m",
        "leg_length_m",
        "model_hash",
        "build_s",
    ]
    print(format_table(headers, rows))
    if args.verbose:
        for body in bodies:
            print(f"\n{body.name}: {body.description}\n  source: {body.provenance}")
            print(
                f"  frame: forward {body.frame.forward}, up {body.frame.up}; "
                f"physics step {body.sim.timestep:.6f} s x {body.sim.substeps} substeps "
                f"= {body.sim.control_hz:.0f} Hz control"
            )
            print(f"  tracked keypoints: {', '.join(body.tracked_keypoints)}")
    return 0


class UsageError(ValueError):
    """A command-line value the command cannot work with: an output path that would replace
    an input, another file or a folder, a frame rate that is not a positive number, inputs
    that would make two clips of one name."""


def check_output(output: Path, inputs: Sequence[str | Path], overwrite: bool) -> None:
    """Refuse an output that is one of the inputs or a folder, or that exists already
    (unless `overwrite`): a command never replaces what it did not write."""
    if output.resolve() in {Path(p).resolve() for p in inputs}:
        raise UsageError(f"-o {output}: that is an input of this command; name another file")
    if output.is_dir():
        raise UsageError(f"-o {output}: is a folder; expected a file path")
    if output.exists() and not overwrite:
        raise UsageError(f"-o {output}: exists already; --overwrite replaces it")


def _retarget(args: argparse.Namespace) -> int:
    from retargeting.datasets.build import MotionInput, build_dataset
    from retargeting.sources import load_motion

    check_output(args.output, args.inputs, args.overwrite)
    if args.preview is not None:
        check_output(args.preview, [*args.inputs, args.output], args.overwrite)
    if not (math.isfinite(args.fps) and args.fps > 0):
        raise UsageError(f"--fps {args.fps}: expected a positive number of frames per second")
    stems = [Path(p).stem for p in args.inputs]
    repeated = sorted({s for s in stems if stems.count(s) > 1})
    if repeated:
        raise UsageError(f"inputs would make clips of the same name {repeated}; rename a file")
    body = morphologies.get(args.morphology)
    for path in args.inputs:
        if not Path(path).is_file():
            raise MotionFormatError(path, "file", "does not exist")
    # each input's content hash is part of the build's creation parameters: an interrupted
    # build resumes only over the same bytes, so an edited input never keeps a stale clip
    inputs = [
        MotionInput(
            Path(p).stem,
            lambda p=p: load_motion(p),
            f"{Path(p).name} sha256:{hashlib.sha256(Path(p).read_bytes()).hexdigest()}",
        )
        for p in args.inputs
    ]
    output = build_dataset(inputs, body, args.output, fps=args.fps, progress=not args.quiet)
    print(_quality_table(output))
    print(f"\nwrote {output}")
    if args.preview:
        from retargeting.preview import draw_preview

        with open_dataset(output) as dataset:
            first = dataset.clip(inputs[0].name)
        draw_preview(inputs[0].load(), first, body, args.preview)
        print(f"preview of {inputs[0].name}: {args.preview}")
    return 0


def _quality_table(path: Path) -> str:
    """One row per clip of a dataset: its quality numbers and whether a gate rejected it."""
    rows = []
    with open_dataset(path) as dataset:
        for clip in dataset:
            q = clip.quality
            rows.append(
                [
                    clip.name,
                    clip.qpos.shape[0],
                    round(q.residual_mean_mm, 1),
                    round(q.residual_max_mm, 1),
                    round(q.joint_limit_violation_pct, 2),
                    round(q.floor_penetration_mm, 1),
                    round(q.floating_mm, 1),
                    round(q.foot_skating_mm, 1),
                    round(q.tendon_jump, 3),
                    "; ".join(clip.rejected) or "ok",
                ]
            )
    headers = [
        "clip",
        "frames",
        "resid_mm",
        "resid_max",
        "limits_%",
        "penetr_mm",
        "float_mm",
        "skate_mm",
        "tendon_jump",
        "gates",
    ]
    return format_table(headers, rows)


def _datasets_build(args: argparse.Namespace) -> int:
    from retargeting.datasets import suites
    from retargeting.datasets.build import build_dataset
    from retargeting.quality import Gates

    cache = Path(args.cache) if args.cache else suites.cache_dir()
    suite = suites.BUILT_IN.get(args.suite)
    names = args.morphology or (suite.bodies if suite else suites.HUMAN_BODIES)
    bodies = [morphologies.get(n) for n in names]
    gates = suite.gates if suite else Gates()
    jobs = []  # (inputs, body, output file)
    if suite is not None:
        inputs = suite.inputs()
        jobs = [(inputs, b, suites.dataset_path(cache, args.suite, b.name)) for b in bodies]
    else:
        if not args.amass_root:
            print("benchmark: --suite amass-kit needs --amass-root DIR", file=sys.stderr)
            return 2
        root = Path(args.amass_root)
        for split in ("train", "test"):
            found, missing = suites.kit_inputs(root, split)
            if missing:
                print(
                    f"{split}: {len(missing)} of {len(found) + len(missing)} KIT files missing "
                    f"under {root}, e.g. {missing[0]}",
                    file=sys.stderr,
                )
                if not args.allow_missing:
                    print("benchmark: use --allow-missing to build without them", file=sys.stderr)
                    return 2
            jobs += [
                (found, b, suites.dataset_path(cache, "amass-kit", b.name, split)) for b in bodies
            ]
    for inputs, body, output in jobs:
        if suites.is_current(output, inputs, body) and not args.force:
            print(f"{output}: already built (use --force to rebuild)")
            continue
        output.unlink(missing_ok=True)
        build_dataset(inputs, body, output, gates=gates, progress=not args.quiet)
        print(_quality_table(output))
        print(f"wrote {output}\n")
    return 0


def _gait_compare(args: argparse.Namespace) -> int:
    from benchmark.gait_compare import compare_gaits, format_report

    print(format_report(compare_gaits([Path(p) for p in args.human])))
    return 0


def _datasets_list(args: argparse.Namespace) -> int:
    from retargeting.datasets import shipped, suites

    cache = Path(args.cache) if args.cache else suites.cache_dir()
    rows = []
    places = [("shipped", shipped.SHIPPED), ("cache", cache)]
    for place, root in places:
        for path in sorted(root.glob("*/*.h5")):
            try:
                if place == "shipped":
                    shipped.shipped_dataset(path.parent.name, path.stem, root)
                with open_dataset(path) as dataset:
                    clips = list(dataset)
                    accepted = sum(not c.rejected for c in clips)
                    frames = sum(c.qpos.shape[0] for c in clips)
                    status = "ok"
            except DatasetFormatError as error:
                clips, accepted, frames, status = [], 0, 0, error.problem
            rows.append([place, path.parent.name, path.stem, len(clips), accepted, frames, status])
    print(f"shipped with the package, and built in {cache}")
    headers = ["where", "suite", "file", "clips", "accepted", "frames", "status"]
    print(format_table(headers, rows))
    return 0


def _datasets_ship(args: argparse.Namespace) -> int:
    from retargeting.datasets import shipped, suites

    work = Path(args.work) if args.work else suites.cache_dir() / "ship"
    roundings = shipped.ship(args.suite, args.morphology, work=work, progress=not args.quiet)
    for key, rounding in roundings.items():
        path = shipped.SHIPPED / key
        print(_quality_table(path))
        size = path.stat().st_size / 1e6
        print(f"wrote {key}: {size:.2f} MB, float32 rounding at most {rounding:.2g}\n")
    return 0


def _datasets_verify(args: argparse.Namespace) -> int:
    from retargeting.datasets import shipped

    root = Path(args.shipped) if args.shipped else shipped.SHIPPED
    checks = shipped.verify(
        args.suite, args.morphology, args.clip, root=root, progress=not args.quiet
    )
    tolerance = shipped.TOLERANCE
    rows, failed = [], 0
    for check in checks:
        problems = check.problems(tolerance)
        failed += bool(problems)
        rows.append(
            [
                check.body,
                check.clip,
                f"{check.qpos:.2g}",
                f"{check.keypoints_mm:.3g}",
                check.rebuilt_gates,
                "; ".join(problems) or "ok",
            ]
        )
    headers = ["body", "clip", "max |dqpos|", "max keypoint mm", "gates (rebuilt)", "verdict"]
    print(f"suite {args.suite}: shipped data in {root} against a rebuild with this install")
    print(format_table(headers, rows))
    print(
        f"tolerance: qpos {tolerance['qpos']:g} (m or rad), keypoints "
        f"{tolerance['keypoints_mm']:g} mm; {failed} of {len(checks)} clips outside it"
    )
    return 1 if failed else 0


def _tasks(args: argparse.Namespace) -> int:
    from benchmark.tasks import TASKS

    rows = [
        [t.id, t.morphology, len(t.train), len(t.test), t.protocol, t.description]
        for t in TASKS.values()
    ]
    print(format_table(["task", "morphology", "train", "test", "protocol", "description"], rows))
    from benchmark.interfaces import INTERFACES

    print("\naction interfaces (every task; an agent declares its own):")
    print(format_table(["interface", "the action is"], [list(i) for i in INTERFACES.items()]))
    if args.verbose:
        for task in TASKS.values():
            print(
                f"\n{task.env_id}\n  train: {', '.join(task.train)}\n  test: {', '.join(task.test)}"
            )
    return 0


def _run(args: argparse.Namespace) -> int:
    from benchmark.ray_executor import RayUnavailableError
    from benchmark.runner import SUMMARY_HEADERS, run, summary_rows

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


def _train(args: argparse.Namespace) -> int:
    # baselines sit above the benchmark in the data flow, so they are imported here only
    from baselines.ppo import CheckpointError, TrainConfig, train

    out = args.output or Path("runs") / f"{args.task}-{args.algo}-seed{args.seed}"
    try:
        config = TrainConfig(
            task=args.task,
            algo=args.algo,
            steps=args.steps,
            seed=args.seed,
            envs=args.envs,
            rollout=args.rollout,
            minibatches=args.minibatches,
            epochs=args.epochs,
            learning_rate=args.learning_rate,
            hidden=tuple(args.hidden),
            init_log_std=args.init_log_std,
            eval_every=args.eval_every,
            action_interface=args.action_interface,
            termination=args.termination,
            termination_distance=args.termination_distance,
            termination_curriculum=args.termination_curriculum,
            dep_preset=args.dep_preset,
            dep_warmup=args.dep_warmup,
            switching=args.switching,
            dep_actions=args.dep_actions,
            dep_original=args.dep_original,
        )
        final = train(config, out, resume=args.resume, progress=not args.quiet)
    except (CheckpointError, FileExistsError, ValueError, FloatingPointError) as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; checkpoint in {out}; --resume continues", file=sys.stderr)
        return 130
    summary = final["summary"]
    rows = [[key, round(summary[key], 3)] for key in ("mpjpe_mm", "coverage", "success")]
    rows.append(["steps/s (with updates)", final["steps_per_s"]])
    print(format_table(["final, test clips", "value"], rows))
    print(f"\n{out}: curve.csv, final.json, policy.pt, policy.onnx")
    return 0


def _compare(args: argparse.Namespace) -> int:
    import json

    from baselines.compare import RunFolderError, compare, load_run, plot

    for output in (args.output, args.plot):
        if output is not None:
            check_output(output, [], args.overwrite)
    try:
        runs = [load_run(path) for path in args.runs]
        report = compare(runs, reps=args.reps)
    except RunFolderError as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2
    rows = []
    for algo, entry in report["algorithms"].items():
        estimate = entry["estimates"]
        reach = estimate.get("steps_to_threshold")
        reached = f"{entry['reached']}/{len(entry['seeds'])}"
        if reach:
            low, high = reach["iqm_ci95"]
            reached += f" IQM {reach['iqm']:.0f} [{low:.0f}, {high:.0f}]"
        row = [algo, len(entry["seeds"])]
        for key in ("mpjpe_mm", "joint_rmse_rad", "activation_volume", "coverage", "success"):
            value = estimate[key]
            low, high = value["iqm_ci95"]
            row.append(f"{value['iqm']:.3g} [{low:.3g}, {high:.3g}]")
        row += [f"{estimate['mpjpe_area_mm']['iqm']:.1f}", reached]
        rows.append(row)
    headers = ["setup", "seeds", "MPJPE mm", "joint RMSE rad", "act. volume", "coverage"]
    headers += ["success"]
    headers += ["MPJPE area mm", f"reached {report['threshold_mm']:.0f} mm (steps)"]
    print(f"{report['task']}: final policies, IQM [95% CI] over seeds")
    print(format_table(headers, rows))
    if args.output:
        args.output.write_text(json.dumps(report, indent=1))
    if args.plot:
        plot(runs, args.plot, report["threshold_mm"])
        print(f"plot: {args.plot}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from benchmark.render import (
        RenderSettings,
        agent_frames,
        dataset_frames,
        side_by_side,
        write_video,
    )
    from benchmark.tasks import get_task

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
    from benchmark.plots import plot_activations, plot_keypoint_errors, record_episode
    from benchmark.tasks import get_task

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
    from benchmark.plots import plot_coverage

    check_output(args.output, [args.results], args.overwrite)
    try:
        plot_coverage(args.results, args.output)
    except (OSError, ValueError, KeyError) as error:
        print(f"benchmark: {args.results}: {error}", file=sys.stderr)
        return 2
    print(args.output)
    return 0


def _shipped_suite_options(p: argparse.ArgumentParser, suites: tuple[str, ...]) -> None:
    p.add_argument("--suite", choices=suites, default="default")
    p.add_argument("--morphology", action="append", help="only this body (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    from retargeting.datasets.suites import BUILT_IN, SUITES

    built_in_suites = tuple(BUILT_IN)

    parser = argparse.ArgumentParser(
        prog="benchmark",
        description="crossmimic: cross-species musculoskeletal motion-imitation benchmark.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "morphologies",
        help="list the bodies of the suite",
        description="Build each morphology's MuJoCo model and print its muscles, independent "
        "degrees of freedom, mass, standing hip height, leg length, model hash and build time.",
    )
    p.add_argument("names", nargs="*", help="morphologies to show (default: all)")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print provenance, frame, simulation settings and tracked keypoints",
    )
    p.set_defaults(handler=_morphologies)

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
        "train",
        help="train a reference baseline (PPO or DEP-PPO)",
        description="Train on the task's training clips, evaluate on its test clips every "
        "--eval-every steps; writes DIR/curve.csv, curve.json, checkpoint.pt (every "
        "iteration), final.json, policy.pt and policy.onnx. --resume continues exactly.",
    )
    p.add_argument("--algo", choices=("ppo", "dep-ppo"), default="ppo")
    p.add_argument("--task", default="legs80-walk")
    p.add_argument("--steps", type=int, default=1_000_000, help="environment steps in all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--envs", type=int, default=8, help="parallel environments (processes)")
    p.add_argument("--rollout", type=int, default=256, help="steps per env per iteration")
    p.add_argument("--minibatches", type=int, default=8)
    p.add_argument("--epochs", type=int, default=5, help="passes over each rollout")
    p.add_argument("--learning-rate", type=float, default=3e-4)
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 256], help="layer widths")
    p.add_argument("--init-log-std", type=float, default=-0.5)
    p.add_argument("--eval-every", type=int, default=100_000, help="steps between evaluations")
    p.add_argument(
        "--action-interface",
        default="excitation",
        help="how actions reach the muscles: excitation | muscle_length | reference_length",
    )
    p.add_argument(
        "--termination",
        default="mean-error",
        help="how training episodes end: mean-error (protocol v1's) | any-keypoint (Kinesis's)",
    )
    p.add_argument(
        "--termination-distance",
        type=float,
        help="metres x size scale (default: 0.5 for mean-error, 0.15 for any-keypoint)",
    )
    p.add_argument(
        "--termination-curriculum",
        action="store_true",
        help="adapt the distance from its start down to 0.1 m as fewer episodes terminate "
        "(MuscleMimic's rule)",
    )
    p.add_argument(
        "--dep-preset", help="myosuite_legs | ostrich (default: the one for the task's body)"
    )
    p.add_argument("--dep-warmup", type=int, help="DEP-only steps (default: the preset's)")
    p.add_argument("--switching", choices=("stochastic", "deterministic"), default="stochastic")
    p.add_argument("--dep-actions", choices=("policy-logprob", "exclude"), default="policy-logprob")
    p.add_argument(
        "--dep-original", action="store_true", help="reproduce the reference DEP-RL's quirks"
    )
    p.add_argument("-o", "--output", type=Path, help="run folder (default runs/TASK-ALGO-seedS)")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_train)

    p = commands.add_parser(
        "compare",
        help="sample efficiency and final metrics of training runs, across seeds",
        description="Steps until test MPJPE first reaches 100 mm x size scale, area under the "
        "MPJPE curve, final metrics; interquartile means with 95%% stratified-bootstrap "
        "intervals (rliable) per algorithm.",
    )
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    p.add_argument("--plot", type=Path, help="learning-curve PNG")
    p.add_argument("-o", "--output", type=Path, help="write the comparison as JSON")
    p.add_argument("--reps", type=int, default=2000, help="bootstrap resamples")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(handler=_compare)

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

    p = commands.add_parser("tasks", help="list the tasks")
    p.add_argument("-v", "--verbose", action="store_true", help="also list each split's clips")
    p.set_defaults(handler=_tasks)

    p = commands.add_parser(
        "retarget",
        help="retarget motion files onto a morphology into an HDF5 dataset",
        description="Read motions (.bvh; AMASS .npz; keypoint .npz), scale them to the body, "
        "solve inverse kinematics, measure quality and write one HDF5 dataset "
        "(docs/dataset_format.md). An interrupted run resumes.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="motion files")
    p.add_argument("--morphology", required=True, help="target body, e.g. human_legs_80")
    p.add_argument("-o", "--output", required=True, type=Path, help="dataset file (.h5)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing -o file")
    p.add_argument("--fps", type=float, default=30.0, help="clip frame rate (default 30)")
    p.add_argument("--preview", type=Path, help="PNG: stick figures of the first input")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_retarget)

    p = commands.add_parser(
        "gait-compare",
        help="real ostrich running vs human running retargeted onto the ostrich",
        description="Duty factor, stride length / leg length, stride frequency and joint "
        "ranges of the real ostrich running clips and of human runs retargeted onto the "
        "ostrich at the same Froude numbers.",
    )
    p.add_argument("--human", action="append", default=[], help="also a human motion file")
    p.set_defaults(handler=_gait_compare)

    datasets = commands.add_parser("datasets", help="build and list the suite datasets")
    actions = datasets.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser(
        "build",
        help="build suite datasets into the user cache (once)",
        description="default: the procedural locomotion suite onto every human body and the "
        "ostrich. ostrich-real: the real ostrich clips onto the ostrich. amass-kit: the "
        "Kinesis KIT split (975 train / 109 test) from an AMASS copy.",
    )
    p.add_argument("--suite", choices=SUITES, default="default")
    p.add_argument("--morphology", action="append", help="body to build for (repeatable)")
    p.add_argument("--amass-root", help="AMASS folder holding KIT/<subject>/*.npz")
    p.add_argument("--allow-missing", action="store_true", help="skip KIT files not found")
    p.add_argument("--cache", help="dataset folder (default: $CROSSMIMIC_CACHE or ~/.cache)")
    p.add_argument("--force", action="store_true", help="rebuild files that exist")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_datasets_build)
    p = actions.add_parser("list", help="list the shipped datasets and those built")
    p.add_argument("--cache", help="dataset folder (default: $CROSSMIMIC_CACHE or ~/.cache)")
    p.set_defaults(handler=_datasets_list)
    p = actions.add_parser(
        "verify",
        help="rebuild shipped suites with this install and compare, clip by clip",
        description="Rebuilds the built-in suites' clips from their sources with the installed "
        "libraries and reports, per body and clip, the largest difference to the shipped "
        "clips and whether the gates still pass. Exit 1 when any clip lies outside the "
        "tolerance.",
    )
    _shipped_suite_options(p, built_in_suites)
    p.add_argument("--clip", action="append", help="only this clip (repeatable)")
    p.add_argument(
        "--shipped", help="a folder laid out as the shipped data (default: the package's)"
    )
    p.set_defaults(handler=_datasets_verify)
    p = actions.add_parser(
        "ship",
        help="(maintainers) rebuild a built-in suite and write it into the package",
        description="Builds the suite from its sources (resumably, in --work) and writes each "
        "body's dataset as float32 into retargeting/datasets/shipped/ with its manifest entry. "
        "Run it whenever RETARGET_VERSION, a suite's inputs or a body model change, and commit "
        "the result.",
    )
    _shipped_suite_options(p, built_in_suites)
    p.add_argument("--work", help="build folder (default: <cache>/ship)")
    p.set_defaults(handler=_datasets_ship)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (
        morphologies.UnknownMorphologyError,
        MotionFormatError,
        DatasetFormatError,
        UnknownTaskError,
        AgentLoadError,
        ResultsExistError,
        UsageError,
        RunSettingsError,
    ) as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
