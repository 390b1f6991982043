#!/usr/bin/env bash
# Creates .venv and installs crossmimic with its dev extras.
# PyTorch first: `torch==2.13.0` resolves to a local CPU build where one lies on the machine;
# installing it before the project keeps pip from pulling the CUDA build for `torch>=2.2,<3`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Offscreen rendering (benchmark render) without a display uses OSMesa: Debian's libosmesa6.
if ! ldconfig -p 2>/dev/null | grep -q libOSMesa; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq libosmesa6 >/dev/null) \
      || echo "setup: could not install libosmesa6; benchmark render will need MUJOCO_GL=egl" >&2
  else
    echo "setup: install libosmesa6 (or set MUJOCO_GL=egl) for benchmark render" >&2
  fi
fi
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet "torch==2.13.0" \
    || echo "setup: torch==2.13.0 is not available here; the project's range will pick a build" >&2
fi
.venv/bin/python -m pip install --quiet -e ".[dev]"
