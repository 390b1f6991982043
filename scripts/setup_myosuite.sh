#!/usr/bin/env bash
# MyoSuite 3 in a virtual environment of its own (.venv-myosuite), for the benchmark that
# compares our environment with MyoSuite's (benchmarks/test_myosuite_speed.py). It cannot
# share .venv: MyoSuite 3.0.0 pins myo-sim 0.2.3, gymnasium<1.3 and onnxruntime<1.21 and
# brings MuJoCo 4, where crossmimic pins myo-sim 0.2.4 and MuJoCo 3.17 (the model hashes
# depend on them). Benchmark-only: nothing in crossmimic imports it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv-myosuite/bin/python ]; then
  "$PYTHON" -m venv .venv-myosuite
fi
.venv-myosuite/bin/python -m pip install --quiet --upgrade pip
.venv-myosuite/bin/python -m pip install --quiet "myosuite==3.0.0"
