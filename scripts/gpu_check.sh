#!/usr/bin/env bash
# The GPU checks of the MJX backend, end to end, for a machine with an NVIDIA GPU (docs/gpu.md):
# installs JAX's CUDA build beside the project, prints the device, runs the CPU-agreement tests
# on the GPU, the batched-throughput bench at 1k, 4k and 16k worlds, and a short legs80-walk
# training run whose policy the CPU protocol then scores. Everything it prints goes to OUT/log.
# Usage: bash scripts/gpu_check.sh OUT [STEPS]   (STEPS: training budget, default 2,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$1"
STEPS="${2:-2000000}"
mkdir -p "$OUT"
exec > >(tee "$OUT/log") 2>&1
make setup
.venv/bin/pip install --quiet "jax[cuda12]"
.venv/bin/python -c "import jax; print('jax', jax.__version__, jax.devices())"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
.venv/bin/python -m pytest -q tests/test_mjx_env.py
CROSSMIMIC_MJX_WORLDS=1024,4096,16384 .venv/bin/python -m pytest benchmarks/test_mjx_speed.py \
  -m speed --benchmark-only -s -q
.venv/bin/benchmark train --backend mjx --task legs80-walk --steps "$STEPS" --envs 4096 \
  --rollout 16 --minibatches 16 --eval-every 500000 --action-interface reference_length \
  --termination any-keypoint --init-log-std -1.5 -o "$OUT/legs80-walk-mjx" -q
.venv/bin/benchmark run --agent "$OUT/legs80-walk-mjx/policy.onnx" --task legs80-walk \
  -o "$OUT/legs80-walk-mjx-scored" -q
