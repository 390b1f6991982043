#!/usr/bin/env bash
# The ablation of docs/results.md (issue 17): PPO on legs80-walk at one budget and seed,
# varying the action interface and the training termination rule; one run folder each
# under runs/ablation/. Re-running continues unfinished runs (--resume).
# Usage: bash scripts/ablation.sh [STEPS]   (default 1,000,000; about 12 min a run on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-1000000}"
BIN=.venv/bin
for variant in reference_length:any-keypoint muscle_length:any-keypoint \
  excitation:any-keypoint; do
  interface="${variant%%:*}"
  rule="${variant##*:}"
  $BIN/benchmark train --task legs80-walk --steps "$STEPS" --seed 0 \
    --eval-every $((STEPS / 10)) --action-interface "$interface" --termination "$rule" \
    -o "runs/ablation/$interface-$rule" --resume -q
done
