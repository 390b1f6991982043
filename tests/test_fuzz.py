"""Fuzzing: the motion readers and the submission validator, fed generated and mutated
inputs, return a result or raise their own clean error (MotionFormatError, SubmissionError),
never anything else. CI runs a few hundred inputs per reader;
`CROSSMIMIC_FUZZ_EXAMPLES=3000 pytest tests/test_fuzz.py` runs thousands."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retargeting.motion import MotionFormatError
from retargeting.sources import load_motion

EXAMPLES = int(os.environ.get("CROSSMIMIC_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CMU = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmu" / "02_03.bvh"


def _short_bvh() -> str:
    """A real CMU clip cut to 12 frames (its header says so)."""
    lines = CMU.read_text().splitlines()
    motion = lines.index("MOTION")
    head, frames = lines[: motion + 3], lines[motion + 3 : motion + 15]
    head[motion + 1] = f"Frames: {len(frames)}"
    return "\n".join(head + frames) + "\n"


BVH = _short_bvh() if CMU.exists() else ""
ODD_TOKENS = [
    "nan",
    "inf",
    "-inf",
    "1e309",
    "-",
    "",
    "{",
    "}",
    "CHANNELS",
    "JOINT",
    "0x1F",
    "9" * 40,
]


def _load(suffix: str, write) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        write(path)
        try:
            motion = load_motion(path)
        except MotionFormatError:
            return
        assert np.isfinite(motion.keypoints).all() and motion.fps > 0


@pytest.mark.skipif(not BVH, reason="needs ../shared/data/cmu")
@FUZZ
@given(data=st.data())
def test_mutated_bvh_files_load_or_fail_cleanly(data):
    lines = BVH.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["token", "drop", "repeat", "cut", "text"]))
        tokens = lines[where].split()
        if action == "token" and tokens:
            index = data.draw(st.integers(0, len(tokens) - 1))
            tokens[index] = data.draw(st.sampled_from(ODD_TOKENS) | st.text(max_size=6))
            lines[where] = " ".join(tokens)
        elif action == "drop":
            del lines[where]
        elif action == "repeat":
            lines.insert(where, lines[where])
        elif action == "cut":
            lines = lines[:where]
        else:
            lines[where] = data.draw(st.text(max_size=40))
        if not lines:
            break
    _load(
        ".bvh", lambda path: path.write_text("\n".join(lines), encoding="utf-8", errors="replace")
    )


def _arrays(size_limit: int = 4):
    """Arrays of odd shapes, kinds and values."""
    shapes = (
        st.lists(st.integers(0, size_limit), min_size=0, max_size=4)
        .map(tuple)
        .filter(lambda shape: np.prod(shape) <= 2000)
    )
    numbers = st.floats(allow_nan=True, allow_infinity=True, width=64)
    numeric = shapes.flatmap(
        lambda shape: st.lists(
            numbers, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))
        ).map(lambda values, shape=shape: np.array(values, dtype=np.float64).reshape(shape))
    )
    text = st.lists(st.text(max_size=5), max_size=4).map(lambda v: np.array(v, dtype=str))
    scalars = st.sampled_from([np.array(30.0), np.array(-1.0), np.array(np.nan), np.array(0)])
    odd = st.sampled_from([np.array(True), np.array(1 + 2j), np.array("fast"), np.zeros((2, 0))])
    return numeric | text | scalars | odd


def _valid_keypoints(frames: int, names: int) -> dict[str, np.ndarray]:
    points = np.random.default_rng(frames).normal(size=(frames, names, 3))
    return {
        "keypoints": points,
        "keypoint_names": np.array([f"k{i}" for i in range(names)]),
        "fps": np.array(30.0),
    }


@FUZZ
@given(
    frames=st.integers(0, 6),
    names=st.integers(0, 3),
    replace=st.dictionaries(
        st.sampled_from(["keypoints", "keypoint_names", "fps", "species", "subject", "licence"]),
        _arrays(),
        max_size=3,
    ),
    drop=st.sets(st.sampled_from(["keypoints", "keypoint_names", "fps"]), max_size=2),
)
def test_generated_keypoint_files_load_or_fail_cleanly(frames, names, replace, drop):
    fields = {**_valid_keypoints(frames, names), **replace}
    for key in drop:
        fields.pop(key, None)
    fields = fields or {"keypoints": np.zeros(1)}
    _load(".npz", lambda path: np.savez(path, **fields))


@FUZZ
@given(
    frames=st.integers(0, 5),
    replace=st.dictionaries(
        st.sampled_from(
            ["poses", "trans", "mocap_framerate", "mocap_frame_rate", "gender", "betas"]
        ),
        _arrays(size_limit=160),
        max_size=3,
    ),
)
def test_generated_amass_files_load_or_fail_cleanly(frames, replace):
    from test_sources import write_amass  # a valid clip, with the generated fields in place

    _load(".npz", lambda path: write_amass(path, frames, **replace))


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_fail_cleanly(data):
    for suffix in (".bvh", ".npz"):
        _load(suffix, lambda path: path.write_bytes(data))


# -- the submission validator ----------------------------------------------------------------
@pytest.fixture(scope="module")
def zero_results(tmp_path_factory):
    from benchmark.runner import run

    out = tmp_path_factory.mktemp("fuzz") / "zero"
    run("zero", ["legs80-walk"], out=out, progress=False)
    return json.loads((out / "results.json").read_text())


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from _paths(item, (*prefix, index))


@FUZZ
@given(data=st.data())
def test_mutated_submissions_are_accepted_or_refused_cleanly(zero_results, data):
    from leaderboard.submission import Submission, SubmissionError, validate

    results = copy.deepcopy(zero_results)
    paths = [p for p in _paths(results) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = results
        try:
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans()):
                parent[path[-1]] = data.draw(JSON_VALUES)
            elif isinstance(parent, dict):
                del parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    metadata = {"method": "fuzz", "authors": ["F. Uzz"], "uses_reference_clips": False}
    with contextlib.suppress(SubmissionError):
        validate(Submission(metadata=metadata, results=results))
