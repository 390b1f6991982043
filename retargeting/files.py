"""Writing a file whole or not at all: the one place every stage publishes an output.

`atomic_path(path)` gives a temporary name beside `path` to write to (by any library: torch,
onnx, imageio, h5py, numpy); when the block ends without an error the temporary file replaces
`path` in one `os.replace`, so a reader (or a crash) never sees half a file, and an earlier
`path` stays whole until the new one is complete. On an error the temporary file is removed.
`write_text` and `write_json` are the common cases. `check_output` is the commands' one rule
for an output path: never one of the inputs, a folder, or a file that exists (unless asked).
(The standard library has no such helpers; retargeting is the first stage that writes files,
so the later stages import them from here.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | Path, *, mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix, so libraries that read it pick the same
    format), moved onto `path` when the block ends cleanly; `mode`: its permission bits."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield partial
        if mode is not None:
            os.chmod(partial, mode)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text(path: str | Path, text: str, *, mode: int | None = None) -> None:
    """`path` holds `text` (UTF-8), whole."""
    with atomic_path(path, mode=mode) as partial:
        partial.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any, **options: Any) -> None:
    """`path` holds `data` as JSON (indented by one), whole; `options` go to `json.dumps`."""
    write_text(path, json.dumps(data, indent=1, **options))


class UsageError(ValueError):
    """A command-line value the command cannot work with: an output path that would replace
    an input, another file or a folder, a frame rate that is not a positive number, inputs
    that would make two clips of one name."""


def check_output(output: Path, inputs: Sequence[str | Path], overwrite: bool) -> None:
    """Refuse an output that is one of the inputs or a folder, or that exists already
    (unless `overwrite`): a command never replaces what it did not write."""
    if output.resolve() in {Path(p).resolve() for p in inputs}:
        raise UsageError(f"-o {output}: that is an input of this command; name another file")
    if output.is_dir():
        raise UsageError(f"-o {output}: is a folder; expected a file path")
    if output.exists() and not overwrite:
        raise UsageError(f"-o {output}: exists already; --overwrite replaces it")
