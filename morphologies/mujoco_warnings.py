"""MuJoCo prints its warnings on stdout (and to MUJOCO_LOG.TXT); route them to Python's."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import TypeVar

import mujoco

T = TypeVar("T")

# myo-sim attaches its fragments with an empty name prefix so that element names stay
# anatomical, and MuJoCo warns that such a spec may not round-trip through XML. We compile
# specs and never save their XML, so that one message is expected and dropped.
_EXPECTED_MUJOCO_WARNINGS = ("Attaching a spec with an empty prefix",)


@contextlib.contextmanager
def mujoco_warnings_as_python() -> Iterator[None]:
    """Turn MuJoCo's printed warnings during a build into Python warnings, less the expected."""
    captured: list[str] = []
    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(captured.append)
    try:
        with warnings.catch_warnings():
            for message in _EXPECTED_MUJOCO_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        mujoco.set_mju_user_warning(previous)
    for message in captured:
        if not message.startswith(_EXPECTED_MUJOCO_WARNINGS):
            warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=3)


def quiet_build(builder: Callable[[], T]) -> Callable[[], T]:
    """Wrap a spec builder so that the warnings it causes go through `mujoco_warnings_as_python`."""

    @functools.wraps(builder)
    def build() -> T:
        with mujoco_warnings_as_python():
            return builder()

    return build
