"""`benchmark` commands over bodies and reference data: `morphologies`, `retarget`,
`datasets build | list | verify | ship`, `gait-compare`."""

from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path

import morphologies
from benchmark.gait_compare import compare_gaits, format_report
from benchmark.tables import format_table
from retargeting.datasets import DatasetFormatError, open_dataset, shipped, suites
from retargeting.datasets.build import MotionInput, build_dataset
from retargeting.datasets.suites import BUILT_IN, SUITES
from retargeting.files import UsageError, check_output
from retargeting.motion import MotionFormatError
from retargeting.preview import draw_preview
from retargeting.quality import Gates
from retargeting.sources import load_motion


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


def _retarget(args: argparse.Namespace) -> int:

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
                    round(q.self_penetration_mm, 1),
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
        "self_mm",
        "float_mm",
        "skate_mm",
        "tendon_jump",
        "gates",
    ]
    return format_table(headers, rows)


def _datasets_build(args: argparse.Namespace) -> int:

    cache = Path(args.cache) if args.cache else suites.cache_dir()
    suite = suites.BUILT_IN.get(args.suite)
    names = args.morphology or (suite.bodies if suite else suites.HUMAN_BODIES)
    plan = suites.build_plan(
        args.suite,
        [morphologies.get(n) for n in names],
        cache,
        amass_root=Path(args.amass_root) if args.amass_root else None,
        allow_missing=args.allow_missing,
    )
    gates = suite.gates if suite else Gates()
    for inputs, body, output in plan:
        if suites.is_current(output, inputs, body) and not args.force:
            print(f"{output}: already built (use --force to rebuild)")
            continue
        output.unlink(missing_ok=True)
        build_dataset(inputs, body, output, gates=gates, progress=not args.quiet)
        print(_quality_table(output))
        print(f"wrote {output}\n")
    return 0


def _datasets_list(args: argparse.Namespace) -> int:

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

    work = Path(args.work) if args.work else suites.cache_dir() / "ship"
    reports = shipped.ship(args.suite, args.morphology, work=work, progress=not args.quiet)
    for key, report in reports.items():
        path = shipped.SHIPPED / key
        print(_quality_table(path))
        size = path.stat().st_size / 1e6
        if report.kept:
            worst = max(check.keypoints_mm for check in report.checks)
            print(
                f"wrote {key}: {size:.2f} MB, the shipped clips kept (the rebuild lies within "
                f"{worst:.3g} mm of them), new creation parameters\n"
            )
        else:
            print(f"wrote {key}: {size:.2f} MB, float32 rounding at most {report.rounding:.2g}\n")
    return 0


def _datasets_verify(args: argparse.Namespace) -> int:

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


def _gait_compare(args: argparse.Namespace) -> int:

    print(format_report(compare_gaits([Path(p) for p in args.human])))
    return 0


def _shipped_suite_options(p: argparse.ArgumentParser, suites: tuple[str, ...]) -> None:
    p.add_argument("--suite", choices=suites, default="default")
    p.add_argument("--morphology", action="append", help="only this body (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def register(commands: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `benchmark` parser."""

    built_in_suites = tuple(BUILT_IN)

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
