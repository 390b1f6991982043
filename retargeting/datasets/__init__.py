"""HDF5 datasets of reference clips: one file per (morphology, motion set).

    >>> from retargeting.datasets import open_dataset
    >>> with open_dataset("walks_human_legs_80.h5") as dataset:
    ...     clip = dataset.clip(dataset.names[0])     # read on demand

The schema is in docs/dataset_format.md and in `retargeting.datasets.schema`.
"""

from retargeting.datasets.clip import Clip
from retargeting.datasets.export import export_npz
from retargeting.datasets.read import Dataset, open_dataset
from retargeting.datasets.schema import SCHEMA_VERSION, DatasetFormatError, ModelHashMismatch
from retargeting.datasets.write import DatasetWriter, write_dataset

__all__ = [
    "Clip",
    "SCHEMA_VERSION",
    "Dataset",
    "DatasetFormatError",
    "DatasetWriter",
    "ModelHashMismatch",
    "export_npz",
    "open_dataset",
    "write_dataset",
]
