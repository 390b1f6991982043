"""The `benchmark` command. Each subcommand is a small function over the library's API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import morphologies
from benchmark.tables import format_table


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


def build_parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except morphologies.UnknownMorphologyError as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
