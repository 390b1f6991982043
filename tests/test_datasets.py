"""HDF5 datasets: round trip, refusal of damaged or foreign files, resume, npz export."""

from __future__ import annotations

import multiprocessing
import shutil

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import morphologies
from retargeting.datasets import (
    SCHEMA_VERSION,
    DatasetFormatError,
    DatasetWriter,
    ModelHashMismatch,
    export_npz,
    open_dataset,
    write_dataset,
)
from retargeting.retarget import retarget
from retargeting.sources.procedural import GaitSpec, generate

BODY = "human_legs_80"


@pytest.fixture(scope="module")
def clips():
    body = morphologies.get(BODY)
    return [
        retarget(generate(GaitSpec("walk", 1.3, duration=1.0)), body),
        retarget(generate(GaitSpec("run", 3.0, duration=1.0)), body),
    ]


@pytest.fixture(scope="module")
def written(clips, tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "set.h5"
    return write_dataset(path, morphologies.get(BODY), clips, {"fps": 30.0})


def test_round_trip_gives_identical_arrays(clips, written):
    with open_dataset(written) as dataset:
        assert dataset.names == tuple(sorted(c.name for c in clips))
        assert dataset.creation == {"fps": 30.0}
        for original in clips:
            read = dataset.clip(original.name)
            for key in ("qpos", "qvel", "keypoints", "foot_contacts"):
                np.testing.assert_array_equal(getattr(read, key), getattr(original, key))
            assert read.quality == original.quality
            assert read.meta == original.meta
            assert read.keypoint_names == original.keypoint_names
            assert read.fps == original.fps and read.rejected == original.rejected


def test_no_partial_file_is_left_and_nothing_is_published_on_failure(clips, tmp_path):
    path = tmp_path / "x.h5"
    with pytest.raises(RuntimeError), DatasetWriter(path, morphologies.get(BODY), {}) as writer:
        writer.add(clips[0])
        raise RuntimeError("interrupted")
    assert not path.exists()
    partial = path.with_name("x.h5.partial")
    assert partial.exists()
    # the next writer resumes: the finished clip is kept, only the other one is added
    with DatasetWriter(path, morphologies.get(BODY), {}) as writer:
        assert writer.done == {clips[0].name}
        writer.add(clips[1])
    assert path.exists() and not partial.exists()
    with open_dataset(path) as dataset:
        assert len(dataset) == 2


def test_a_changed_model_hash_is_refused_unless_overridden(written, tmp_path):
    path = tmp_path / "other.h5"
    shutil.copy(written, path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["model_hash"] = "0" * 64
    with pytest.raises(ModelHashMismatch) as error:
        open_dataset(path)
    assert str(path) in str(error.value) and "model_hash" in str(error.value)
    with (
        pytest.warns(UserWarning, match="model_hash"),
        open_dataset(path, allow_model_mismatch=True) as dataset,
    ):
        assert len(dataset) == 2


def _edit(path, change):
    with h5py.File(path, "r+") as handle:
        change(handle)


def _first(handle):
    return handle["clips"][sorted(handle["clips"])[0]]


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            lambda h: h.attrs.__setitem__("schema_version", SCHEMA_VERSION + 1),
            "schema_version",
            "newer",
        ),
        (lambda h: h.attrs.__delitem__("morphology"), "morphology", "missing"),
        (lambda h: _first(h).__delitem__("qvel"), "/qvel", "missing array"),
        (lambda h: _first(h).attrs.__delitem__("fps"), ".fps", "missing attribute"),
        (
            lambda h: (
                _first(h).__delitem__("qpos"),
                _first(h).create_dataset("qpos", data=np.zeros((3, 4))),
            ),
            "/qpos",
            "expected shape",
        ),
        (
            lambda h: _first(h).attrs.__setitem__("keypoint_names", "[oops"),
            ".keypoint_names",
            "JSON",
        ),
        (
            lambda h: h.attrs.__setitem__("morphology", "human_legs_99"),
            "morphology",
            "not an installed",
        ),
    ],
)
def test_damaged_files_are_refused_naming_file_field_and_problem(
    written, tmp_path, change, field, problem
):
    path = tmp_path / "bad.h5"
    shutil.copy(written, path)
    _edit(path, change)
    with pytest.raises(DatasetFormatError) as error:
        open_dataset(path)
    assert str(path) in str(error.value)
    assert field in error.value.field
    assert problem in error.value.problem


def test_a_missing_or_foreign_file_is_refused(tmp_path):
    with pytest.raises(DatasetFormatError, match="does not exist"):
        open_dataset(tmp_path / "none.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(DatasetFormatError, match="not a readable HDF5"):
        open_dataset(tmp_path / "text.h5")


_values = st.one_of(
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.just("[]"),
    st.just("{}"),
)


def _read_all(path) -> None:
    """Open the file and read every clip; only a DatasetFormatError naming the file may stop it."""
    try:
        with open_dataset(path) as dataset:
            for clip in dataset:
                assert clip.qpos.shape[1] == morphologies.get(BODY).model().nq
    except DatasetFormatError as error:
        assert str(path) in str(error)


def _read_all_in_child(path, seconds: float = 60.0) -> str | None:
    """`_read_all` in a forked process: a hang or a crash inside libhdf5 would take the test
    run with it; here it is a failure that says which. None when the read went as it should."""
    child = multiprocessing.get_context("fork").Process(target=_read_all, args=(path,))
    child.start()
    child.join(seconds)
    if child.is_alive():
        child.kill()
        child.join()
        return f"reading {path} did not finish in {seconds:.0f} s"
    if child.exitcode != 0:
        return f"reading {path} ended the process with exit code {child.exitcode}"
    return None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_corruption_raises_only_dataset_format_errors(written, tmp_path, data):
    path = tmp_path / "corrupt.h5"
    shutil.copy(written, path)
    kind = data.draw(st.sampled_from(["file_attr", "clip_attr", "array", "bytes", "truncate"]))
    if kind in ("file_attr", "clip_attr", "array"):
        with h5py.File(path, "r+") as handle:
            clip = _first(handle)
            if kind == "file_attr":
                key = data.draw(st.sampled_from(sorted(handle.attrs)))
                target = handle.attrs
            elif kind == "clip_attr":
                key = data.draw(st.sampled_from(sorted(clip.attrs)))
                target = clip.attrs
            else:
                key = data.draw(st.sampled_from(sorted(clip)))
                target = clip
            if data.draw(st.booleans()):
                del target[key]
            elif kind == "array":
                del clip[key]
                shape = data.draw(st.lists(st.integers(0, 4), min_size=0, max_size=3))
                clip.create_dataset(key, data=np.zeros(shape))
            else:
                target[key] = data.draw(_values)
    else:
        raw = bytearray(path.read_bytes())
        if kind == "truncate":
            raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
        else:
            for _ in range(data.draw(st.integers(1, 20))):
                raw[data.draw(st.integers(0, len(raw) - 1))] ^= 0xFF
        path.write_bytes(bytes(raw))
    assert _read_all_in_child(path) is None


def _flip(path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_files_carry_checksums_that_catch_a_flipped_byte(written, tmp_path):
    with h5py.File(written, "r") as handle:
        superblock = handle.id.get_create_plist().get_version()[0]
        qpos = _first(handle)["qpos"]
        assert qpos.fletcher32 and all(d.fletcher32 for d in _first(handle).values())
        chunk = qpos.id.get_chunk_info(0)
        name = sorted(handle["clips"])[0]
    assert superblock >= 2  # the superblock versions with metadata checksums
    # one byte of qpos's data: refused when the clip is read, naming the array
    path = tmp_path / "data.h5"
    shutil.copy(written, path)
    _flip(path, chunk.byte_offset + chunk.size // 2)
    with open_dataset(path) as dataset, pytest.raises(DatasetFormatError) as error:
        dataset.clip(name)
    assert str(path) in str(error.value) and error.value.field == f"clips/{name}/qpos"
    # one byte of the superblock (past its signature): refused at opening
    path = tmp_path / "meta.h5"
    shutil.copy(written, path)
    _flip(path, 12)
    with pytest.raises(DatasetFormatError, match="not a readable HDF5"):
        open_dataset(path)


def test_export_npz_for_myosuite_and_locomujoco(clips, tmp_path):
    body = morphologies.get(BODY)
    path = export_npz(clips[0], body, tmp_path / "walk.npz")
    with np.load(path) as data:
        assert set(data.files) >= {"qpos", "qvel", "frequency", "site_names", "site_xpos"}
        np.testing.assert_array_equal(data["qpos"], clips[0].qpos)
        assert float(data["frequency"]) == clips[0].fps
        assert list(data["site_names"]) == list(clips[0].keypoint_names)
        assert data["site_xpos"].shape == clips[0].keypoints.shape
        assert len(data["joint_names"]) == body.model().njnt


def test_a_suite_dataset_of_another_retargeting_version_is_out_of_date(tmp_path, monkeypatch):
    import json

    from retargeting.datasets import build, suites

    body = morphologies.get(BODY)
    inputs = [build.MotionInput("walk", lambda: generate(GaitSpec("walk", 1.3, duration=1.0)), "w")]
    path = build.build_dataset(inputs, body, tmp_path / "set.h5", progress=False)
    assert suites.is_current(path, inputs, body)
    assert not suites.is_current(path, [*inputs, inputs[0]], body)  # other inputs
    with h5py.File(path, "r+") as handle:
        creation = json.loads(handle.attrs["creation"])
        handle.attrs["creation"] = json.dumps({**creation, "retargeting": 1})
    assert not suites.is_current(path, inputs, body)  # made by the older method: rebuilt
