"""The Ray executor: the same results as the local executor, on a local Ray instance the
test starts (Ray is the optional `ray` extra; the setup installs it)."""

from __future__ import annotations

import json

import pytest

from benchmark.runner import run

ray = pytest.importorskip(
    "ray", reason="Ray is not installed: pip install 'crossmimic[ray]' (the setup installs it)"
)
TIMING = ("wall_s",)  # per episode and per run: the only fields allowed to differ


def _without_timing(results: dict) -> dict:
    results = json.loads(json.dumps(results, allow_nan=True))
    for field in TIMING:
        results.pop(field, None)
        for episode in results["episodes"]:
            episode.pop(field, None)
    return results


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_results_equal_the_local_executors(local_ray, tmp_path):
    tasks, seeds = ["legs80-walk", "ostrich-run-real"], [0, 1]
    local = run("random", tasks, out=tmp_path / "local", seeds=seeds, progress=False)
    remote = run("random", tasks, out=tmp_path / "ray", seeds=seeds, executor="ray", progress=False)
    assert remote["episodes_done"] == local["episodes_done"] == 12
    assert _without_timing(remote) == _without_timing(local)
    on_disk = json.loads((tmp_path / "ray" / "results.json").read_text())
    assert _without_timing(on_disk) == _without_timing(local)


def test_an_unknown_executor_is_refused(tmp_path):
    with pytest.raises(ValueError, match="executor must be 'local' or 'ray'"):
        run("zero", ["legs80-walk"], out=tmp_path, executor="dask", progress=False)
