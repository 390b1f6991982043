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
