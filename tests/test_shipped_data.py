"""The built-in suites ship as package data: the tasks read them and never build, the data
follows the code, and a damaged install is an error, not a silent rebuild."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np
import pytest

import morphologies
from benchmark.cli import main
from benchmark.tasks import TASKS, get_task, suite_hash
from retargeting.datasets import open_dataset, shipped
from retargeting.datasets.suites import BUILT_IN
from retargeting.retarget import RETARGET_VERSION

README = Path(__file__).resolve().parents[1] / "README.md"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "shipped"
    shutil.copytree(shipped.SHIPPED, root)
    return root


def _reseal(root: Path, key: str) -> None:
    """Rewrite a copied file's manifest entry, as `ship` would after a rebuild."""
    manifest = json.loads((root / shipped.MANIFEST).read_text())
    data = (root / key).read_bytes()
    manifest["files"][key].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    (root / shipped.MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "suite, body", [(suite, body) for suite, spec in BUILT_IN.items() for body in spec.bodies]
)
def test_the_shipped_data_follows_the_code(suite, body):
    """A change of retargeting version, suite inputs, gates or body model without
    `benchmark datasets ship` fails here."""
    spec = BUILT_IN[suite]
    path = shipped.shipped_dataset(suite, body)
    with open_dataset(path, morphologies.get(body)) as dataset:  # refuses another model hash
        creation = dataset.creation
        assert creation["retargeting"] == RETARGET_VERSION
        assert creation["inputs"] == [item.origin for item in spec.inputs()]
        assert creation["gates"] == asdict(spec.gates)
        assert creation["stored_as"] == "float32"
        assert sorted(dataset.names) == sorted(item.name for item in spec.inputs())
        clip = dataset.clip(dataset.names[0])
        assert clip.qpos.dtype == np.float64  # float32 on disk, float64 in memory
    with h5py.File(path) as handle:
        assert handle["clips"][dataset.names[0]]["keypoints"].dtype == np.float32


def test_every_task_reads_shipped_data_and_never_builds(monkeypatch, dataset_cache):
    from retargeting.datasets import build

    def refuse(*args, **kwargs):
        raise AssertionError("a task built a dataset")

    monkeypatch.setattr(build, "build_dataset", refuse)
    # an older build left in the cache is not used for the built-in tasks
    stale = dataset_cache / "default" / "human_legs_80.h5"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"an older version's dataset")
    for task in TASKS.values():
        assert task.dataset().is_relative_to(shipped.SHIPPED)
        assert len(task.load_clips("all")) == len(task.train) + len(task.test)


def test_the_readme_records_the_installed_suite_hash():
    recorded = set(re.findall(r"suite hash `([0-9a-f]{12})`", README.read_text()))
    assert recorded == {suite_hash(list(TASKS.values()))[:12]}


def test_damaged_shipped_data_is_an_error_that_says_reinstall(tmp_path):
    root = _copy(tmp_path)
    key = "ostrich-real/ostrich.h5"
    path = root / key
    assert shipped.shipped_dataset("ostrich-real", "ostrich", root) == path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    path.write_bytes(bytes(data))
    with pytest.raises(shipped.ShippedDataError, match="sha256.*reinstall") as caught:
        shipped.shipped_dataset("ostrich-real", "ostrich", root)
    assert str(path) in str(caught.value)
    path.write_bytes(bytes(data[:1000]))  # truncated
    with pytest.raises(shipped.ShippedDataError, match="truncated or altered"):
        shipped.shipped_dataset("ostrich-real", "ostrich", root)
    path.unlink()
    with pytest.raises(shipped.ShippedDataError, match="missing; the installed crossmimic"):
        shipped.shipped_dataset("ostrich-real", "ostrich", root)
    (root / shipped.MANIFEST).write_text("{")
    with pytest.raises(shipped.ShippedDataError, match="manifest.json: file: unreadable"):
        shipped.shipped_dataset("default", "ostrich", root)


def test_shipped_data_of_another_retargeting_version_is_refused(tmp_path):
    root = _copy(tmp_path)
    manifest = json.loads((root / shipped.MANIFEST).read_text())
    manifest["files"]["default/ostrich.h5"]["retargeting"] = RETARGET_VERSION - 1
    (root / shipped.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(shipped.ShippedDataError, match="benchmark datasets ship"):
        shipped.shipped_dataset("default", "ostrich", root)
    with pytest.raises(shipped.ShippedDataError, match="no shipped default/fish.h5"):
        shipped.shipped_dataset("default", "fish", root)


def test_verify_passes_on_the_shipped_data_and_fails_on_a_perturbed_copy(tmp_path, capsys):
    argv = ["datasets", "verify", "--morphology", "human_legs_80", "--clip", "walk_1", "-q"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "0 of 1 clips outside it" in out
    row = next(line for line in out.splitlines() if line.startswith("human_legs_80"))
    assert row.split()[-1] == "ok"

    root = _copy(tmp_path)
    key = "default/human_legs_80.h5"
    with h5py.File(root / key, "r+") as handle:
        keypoints = handle["clips/walk_1/keypoints"]
        keypoints[40, 2, 2] = keypoints[40, 2, 2] + np.float32(0.005)  # one keypoint 5 mm up
    _reseal(root, key)
    assert main([*argv, "--shipped", str(root)]) == 1
    out = capsys.readouterr().out
    assert "keypoints differ by 5 mm > 1" in out
    assert "1 of 1 clips outside it" in out


def test_verify_names_unknown_clips():
    with pytest.raises(ValueError, match="has no clips \\['walk_9'\\]"):
        shipped.verify("default", ["human_legs_80"], ["walk_9"], progress=False)


def test_a_results_file_of_another_suite_is_refused_naming_both_hashes():
    from leaderboard.submission import _episodes

    task = get_task("legs80-walk")
    installed = suite_hash([task])
    problems = _episodes({"tasks": [task.id], "suite_hash": "0" * 64, "seeds": [0]})
    assert problems == [
        f"results.json: field 'suite_hash' is {'0' * 12}; the installed suite for these tasks "
        f"is {installed[:12]} (other clips or models were scored)"
    ]


def test_ship_keeps_the_shipped_clips_when_a_rebuild_agrees_with_them(tmp_path):
    """A rebuild on another machine rounds differently; within tolerance, `ship` rewrites the
    creation parameters and keeps the shipped clips bit for bit, so the suite hash holds. A
    clip farther off than the tolerance is replaced by the rebuild."""
    root = _copy(tmp_path)
    key = "ostrich-real/ostrich.h5"
    work = tmp_path / "work"

    def arrays() -> dict[str, np.ndarray]:
        with h5py.File(root / key) as handle:
            clips = handle["clips"]
            return {f"{n}/{k}": clips[n][k][()] for n in clips for k in ("qpos", "keypoints")}

    def nudge(metres: float) -> dict[str, np.ndarray]:
        """One keypoint of the first clip moved up, as another machine's rounding would."""
        with h5py.File(root / key, "r+") as handle:
            name = sorted(handle["clips"])[0]
            handle[f"clips/{name}/keypoints"][3, 0, 2] += np.float32(metres)
        _reseal(root, key)
        return arrays()

    shipped_clips = nudge(0.0001)  # 0.1 mm: inside the 1 mm tolerance
    report = shipped.ship("ostrich-real", root=root, work=work, progress=False)[key]
    assert report.kept and len(report.checks) == len(shipped_clips) // 2
    assert 0.09 < max(check.keypoints_mm for check in report.checks) < 0.11
    after = arrays()
    assert after.keys() == shipped_clips.keys()
    assert all(np.array_equal(after[k], shipped_clips[k]) for k in after)
    assert shipped.shipped_dataset("ostrich-real", "ostrich", root)  # the manifest follows
    with open_dataset(root / key) as dataset:
        inputs = BUILT_IN["ostrich-real"].inputs()
        assert dataset.creation["inputs"] == [item.origin for item in inputs]

    shipped_clips = nudge(0.005)  # 5 mm: past it
    report = shipped.ship("ostrich-real", root=root, work=work, progress=False)[key]
    assert not report.kept
    after = arrays()
    assert not all(np.array_equal(after[k], shipped_clips[k]) for k in after)

    with h5py.File(root / key, "r+") as handle:  # a clip the suite no longer has
        handle.copy(handle["clips"][sorted(handle["clips"])[0]], "clips/dropped")
    _reseal(root, key)
    report = shipped.ship("ostrich-real", root=root, work=work, progress=False)[key]
    assert not report.kept and "dropped/qpos" not in arrays()
