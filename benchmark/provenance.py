"""What a results file records of where it was made: the libraries' versions and the machine
(`benchmark run` writes both into results.json; `make bench` prints the machine)."""

from __future__ import annotations

import os
import platform
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

LIBRARIES = (
    "crossmimic",
    "mujoco",
    "myo-sim",
    "numpy",
    "numba",
    "gymnasium",
    "mink",
    "h5py",
    "torch",
    "onnxruntime",
)


def libraries() -> dict[str, str]:
    """The installed version of each library a result depends on."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine() -> dict[str, Any]:
    """The CPU model, core count, GPU if any, system and Python version of this machine."""
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "system": platform.system(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpu": "nvidia" if shutil.which("nvidia-smi") else None,
    }
