#!/usr/bin/env bash
# The ablation of docs/results.md (issue 17): PPO on legs80-walk at one budget and seed,
# varying the action interface and how training episodes end; one run folder each under
# runs/ablation/. Re-running continues unfinished runs (--resume).
# Usage: bash scripts/ablation.sh [STEPS]   (default 1,000,000; about 12 min a run on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-1000000}"
BIN=.venv/bin
run() {  # NAME, then the flags that make the variant
  local name="$1"
  shift
  $BIN/benchmark train --task legs80-walk --steps "$STEPS" --seed 0 \
    --eval-every $((STEPS / 10)) -o "runs/ablation/$name" --resume -q "$@"
}
run reference_length-any-keypoint --action-interface reference_length --termination any-keypoint
run reference_length-any-keypoint-curriculum --action-interface reference_length \
  --termination any-keypoint --termination-distance 0.5 --termination-curriculum
run reference_length-mean-error --action-interface reference_length --termination mean-error
run muscle_length-any-keypoint --action-interface muscle_length --termination any-keypoint
run excitation-any-keypoint --action-interface excitation --termination any-keypoint
# PPO settings on the interface and rule that tracked best above
run reference_length-any-keypoint-logstd-1.5 --action-interface reference_length \
  --termination any-keypoint --init-log-std -1.5
run reference_length-any-keypoint-16envs --action-interface reference_length \
  --termination any-keypoint --envs 16
