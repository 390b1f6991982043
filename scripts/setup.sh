#!/usr/bin/env bash
# Creates .venv and installs crossmimic with its dev, ray and gpu extras (gpu: JAX and MJX,
# whose backend CI tests on JAX's CPU backend).
# PyTorch first: `torch==2.13.0` resolves to a local CPU build where one lies on the machine;
# installing it before the project keeps pip from pulling the CUDA build for `torch>=2.2,<3`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages: OSMesa for offscreen rendering without a display (benchmark render), and
# Chromium with its driver for the leaderboard site's browser tests.
missing=()
ldconfig -p 2>/dev/null | grep -q libOSMesa || missing+=(libosmesa6)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || echo "setup: could not install ${missing[*]}: benchmark render needs MUJOCO_GL=egl" \
        "without libosmesa6; the browser tests are skipped without chromium" >&2
  else
    echo "setup: install ${missing[*]} (Debian) for rendering and the browser tests" >&2
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
.venv/bin/python -m pip install --quiet -e ".[dev,ray,gpu]"
