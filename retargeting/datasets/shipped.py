"""The built-in suites as package data: built once by a maintainer, read by every install.

Inverse kinematics rounds differently under other numpy, scipy or BLAS builds, so clips
rebuilt on each machine had other bits, another suite hash, and results that a leaderboard on
another install refused. The suites are therefore shipped: `shipped/<suite>/<body>.h5`, with
`shipped/manifest.json` holding each file's sha256, size and retargeting version. Tasks read
only these files; a damaged one is an error that says how to reinstall, never a rebuild.

- `benchmark datasets ship` (maintainers) rebuilds them from their sources and rewrites them.
- `benchmark datasets verify` rebuilds them with the installed libraries and reports how far
  the rebuild lies from the shipped bits, clip by clip.

Precision: qpos, qvel and keypoints are stored as float32 (read back as float64). A float32
keeps a position within half its spacing: 1 um below 32 m (the procedural clips reach 23 m),
4 um below 128 m (the looped real ostrich clip reaches 92 m); angles within 1e-7 rad. Scores
are reported to 0.1 mm and the retargeting residuals themselves are millimetres, so the
rounding is far below both. `ship` prints the largest rounding it made.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import morphologies
from retargeting.datasets.build import MotionInput, build_dataset
from retargeting.datasets.read import open_dataset
from retargeting.datasets.schema import DatasetFormatError
from retargeting.datasets.suites import BUILT_IN, BuiltInSuite, is_current
from retargeting.datasets.write import DatasetWriter
from retargeting.files import write_text
from retargeting.retarget import RETARGET_VERSION

SHIPPED = Path(__file__).parent / "shipped"
MANIFEST = "manifest.json"
STORED_AS = np.float32

# How far a rebuild may lie from the shipped clips and still count as the same data (see
# docs/datasets.md, "Shipped suites", for the measurement behind these numbers).
TOLERANCE = {"keypoints_mm": 1.0, "qpos": 0.01}

REINSTALL = (
    "the installed crossmimic is damaged; reinstall it "
    "(pip install --force-reinstall --no-deps crossmimic, or `make setup` in a clone)"
)


class ShippedDataError(DatasetFormatError):
    """Shipped data that is missing, damaged or made by another version of the method."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(root: Path = SHIPPED) -> dict:
    path = root / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ShippedDataError(path, "file", f"unreadable ({error}); {REINSTALL}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ShippedDataError(path, "files", f"expected an object of files; {REINSTALL}")
    return manifest


_checked: dict[Path, tuple[int, int]] = {}  # files whose digest matched, by (size, mtime)


def shipped_dataset(suite: str, body: str, root: Path = SHIPPED) -> Path:
    """The shipped dataset of a built-in suite and body, after checking its sha256."""
    manifest = read_manifest(root)
    key = f"{suite}/{body}.h5"
    entry = manifest["files"].get(key)
    if not isinstance(entry, dict):
        raise ShippedDataError(
            root / MANIFEST, "files", f"no shipped {key}; it ships {sorted(manifest['files'])}"
        )
    path = root / key
    if entry.get("retargeting") != RETARGET_VERSION:
        raise ShippedDataError(
            path,
            "retargeting",
            f"shipped data made by retargeting version {entry.get('retargeting')}, the code is "
            f"version {RETARGET_VERSION}; a maintainer must run `benchmark datasets ship`",
        )
    try:
        stat = path.stat()
    except OSError:
        raise ShippedDataError(path, "file", f"missing; {REINSTALL}") from None
    if _checked.get(path) == (stat.st_size, stat.st_mtime_ns):
        return path
    if stat.st_size != entry.get("bytes") or _sha256(path) != entry.get("sha256"):
        raise ShippedDataError(
            path,
            "sha256",
            f"differs from the manifest ({entry.get('bytes')} bytes, sha256 "
            f"{str(entry.get('sha256'))[:12]}): truncated or altered; {REINSTALL}",
        )
    _checked[path] = (stat.st_size, stat.st_mtime_ns)
    return path


def _write_manifest(root: Path, entries: dict[str, dict]) -> None:
    path = root / MANIFEST
    manifest = read_manifest(root) if path.exists() else {"files": {}}
    manifest["files"].update(entries)
    manifest["about"] = "built-in suites; written by `benchmark datasets ship`, never by hand"
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    write_text(path, text, mode=0o644)  # package data is read by all


def compact_copy(source: Path, target: Path, clips_from: Path | None = None) -> float:
    """Write `source`'s clips as shipped data (float32) with its creation parameters; with
    `clips_from`, that file's clips instead (`ship` keeping the shipped bits). Returns the
    largest rounding (m or rad) that storing float32 made."""
    with open_dataset(source) as built, open_dataset(clips_from or source) as clips:
        creation = {**built.creation, "stored_as": np.dtype(STORED_AS).name}
        rounding = 0.0
        target.with_name(target.name + ".partial").unlink(missing_ok=True)  # never resumed
        with DatasetWriter(target, built.morphology, creation, dtype=STORED_AS) as writer:
            for clip in clips:
                writer.add(clip)
                for array in (clip.qpos, clip.keypoints):
                    stored = array.astype(STORED_AS).astype(np.float64)
                    rounding = max(rounding, float(np.abs(stored - array).max()))
    return rounding


def built_in(suite: str) -> BuiltInSuite:
    if suite not in BUILT_IN:
        raise ValueError(
            f"suite {suite!r} is not built in; the built-in suites are {list(BUILT_IN)}"
        )
    return BUILT_IN[suite]


def ship(
    suite: str,
    bodies: Sequence[str] | None = None,
    *,
    root: Path = SHIPPED,
    work: Path,
    progress: bool = True,
) -> dict[str, ShipReport]:
    """Build a suite's datasets in `work` (an interrupted build resumes there) and write them
    into `root` as shipped data, with their manifest entries. Where a file is shipped already
    and every clip of the rebuild lies within `TOLERANCE` of it, its clips are kept bit for
    bit (the suite hash holds) and only the creation parameters are rewritten: a rebuild on
    another machine rounds differently, and that alone must not move the suite."""
    spec = built_in(suite)
    reports = {}
    inputs = spec.inputs()  # the same motions for every body
    for name in bodies or spec.bodies:
        body = morphologies.get(name)
        built = work / suite / f"{name}.h5"
        if not is_current(built, inputs, body):  # an earlier build of other inputs or code
            built.unlink(missing_ok=True)
            build_dataset(inputs, body, built, gates=spec.gates, progress=progress)
        key = f"{suite}/{name}.h5"
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            checks, shipped_names = _compare_shipped(suite, name, inputs, target, built)
        except DatasetFormatError:  # none shipped yet, or without some of the suite's clips
            checks, shipped_names = [], ()
        # a clip the suite has dropped, still in the file: rewrite it
        same_clips = sorted(shipped_names) == sorted(item.name for item in inputs)
        kept = same_clips and not any(check.problems() for check in checks)
        rounding = compact_copy(built, target, clips_from=target if kept else None)
        reports[key] = ShipReport(rounding, kept, checks)
        entry = {
            "bytes": target.stat().st_size,
            "sha256": _sha256(target),
            "retargeting": RETARGET_VERSION,
        }
        _write_manifest(root, {key: entry})
    return reports


@dataclass(frozen=True)
class ClipCheck:
    """One clip rebuilt with the installed libraries against its shipped version."""

    suite: str
    body: str
    clip: str
    qpos: float  # largest |difference| of any coordinate (m or rad)
    keypoints_mm: float  # largest keypoint distance
    shipped_gates: str  # "ok" or the failures recorded in the shipped file
    rebuilt_gates: str

    def problems(self, tolerance: dict[str, float] = TOLERANCE) -> list[str]:
        found = []
        if not self.qpos <= tolerance["qpos"]:
            found.append(f"qpos differs by {self.qpos:.3g} > {tolerance['qpos']:g}")
        if not self.keypoints_mm <= tolerance["keypoints_mm"]:
            found.append(
                f"keypoints differ by {self.keypoints_mm:.3g} mm > {tolerance['keypoints_mm']:g}"
            )
        if self.shipped_gates != self.rebuilt_gates:
            found.append(f"gates: shipped {self.shipped_gates}, rebuilt {self.rebuilt_gates}")
        return found


@dataclass(frozen=True)
class ShipReport:
    """What `ship` did with one file."""

    rounding: float  # largest float32 rounding of what was written (m or rad)
    kept: bool  # the shipped clips were kept: the rebuild lay within tolerance of them
    checks: list[ClipCheck]  # the rebuild against the file shipped before (empty: none was)


def _gates(rejected: Sequence[str]) -> str:
    return "; ".join(rejected) if rejected else "ok"


def verify(
    suite: str,
    bodies: Sequence[str] | None = None,
    clips: Sequence[str] | None = None,
    *,
    root: Path = SHIPPED,
    progress: bool = True,
) -> list[ClipCheck]:
    """Rebuild a suite's clips (all, or those named) with the installed libraries and compare
    each with its shipped version."""
    spec = built_in(suite)
    inputs = spec.inputs()
    if clips:
        unknown = sorted(set(clips) - {item.name for item in inputs})
        if unknown:
            raise ValueError(f"suite {suite!r} has no clips {unknown}")
        inputs = [item for item in inputs if item.name in clips]
    checks = []
    with tempfile.TemporaryDirectory(prefix="crossmimic-verify-") as folder:
        for name in bodies or spec.bodies:
            body = morphologies.get(name)
            rebuilt = build_dataset(
                inputs, body, Path(folder) / f"{name}.h5", gates=spec.gates, progress=progress
            )
            checks += _compare_shipped(
                suite, name, inputs, shipped_dataset(suite, name, root), rebuilt
            )[0]
    return checks


def _compare_shipped(
    suite: str, body: str, inputs: Sequence[MotionInput], shipped: Path, rebuilt: Path
) -> tuple[list[ClipCheck], tuple[str, ...]]:
    """Each input's clip in a rebuilt dataset against the shipped file's, and the names of
    the clips the shipped file holds."""
    checks = []
    model = morphologies.get(body)
    with open_dataset(shipped, model) as old, open_dataset(rebuilt, model) as new:
        missing = [item.name for item in inputs if item.name not in old.names]
        if missing:
            raise ShippedDataError(shipped, "clips", f"{missing} are in the suite but not shipped")
        for item in inputs:
            a, b = old.clip(item.name), new.clip(item.name)
            qpos = keypoints = float("inf")  # a rebuild of another length
            if a.qpos.shape == b.qpos.shape and a.keypoints.shape == b.keypoints.shape:
                qpos = float(np.abs(a.qpos - b.qpos).max())
                keypoints = float(np.linalg.norm(a.keypoints - b.keypoints, axis=-1).max())
            checks.append(
                ClipCheck(
                    suite=suite,
                    body=body,
                    clip=item.name,
                    qpos=qpos,
                    keypoints_mm=1000.0 * keypoints,
                    shipped_gates=_gates(a.rejected),
                    rebuilt_gates=_gates(b.rejected),
                )
            )
        names = old.names
    return checks, names
