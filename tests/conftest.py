"""Shared fixtures. Tests may read the real data in ../shared/data; the package never does."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def cmu_dir() -> Path:
    path = SHARED_DATA / "cmu"
    if not path.is_dir():
        pytest.skip(f"shared CMU clips not found next to the repository ({path.name}/)")
    return path


@pytest.fixture(scope="session", autouse=True)
def dataset_cache(tmp_path_factory):
    """Datasets built during the tests go to a temporary cache, never the user's."""
    import os

    before = os.environ.get("CROSSMIMIC_CACHE")
    path = tmp_path_factory.mktemp("crossmimic-cache")
    os.environ["CROSSMIMIC_CACHE"] = str(path)
    yield path
    if before is None:
        os.environ.pop("CROSSMIMIC_CACHE", None)
    else:
        os.environ["CROSSMIMIC_CACHE"] = before
