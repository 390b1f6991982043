"""Motions in, morphology-specific reference clips out: sources, scaling, IK, quality, datasets.

>>> import retargeting
>>> dataset = retargeting.load_dataset("walk_legs80.h5")   # see retargeting.datasets
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy, so that `import retargeting.motion` does not pull in h5py and the IK stack.
    if name == "load_dataset":
        from retargeting.datasets import open_dataset

        return open_dataset
    raise AttributeError(f"module 'retargeting' has no attribute {name!r}")
