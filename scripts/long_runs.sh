#!/usr/bin/env bash
# Longer PPO runs on legs80-walk with the best levers of the issue-17 ablation combined
# (docs/results.md, section 2): the reference_length servo, Kinesis's any-keypoint training
# termination, 16 environments per rollout and initial log-std -1.5. One run folder per seed
# under runs/long/; re-running continues unfinished runs (--resume).
# Usage: bash scripts/long_runs.sh STEPS SEED...   (3M steps: about 37 min a seed on 2 cores)
# INTERFACE=joint_target bash scripts/long_runs.sh ... runs another action interface.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="$1"
INTERFACE="${INTERFACE:-reference_length}"
shift
for seed in "$@"; do
  .venv/bin/benchmark train --task legs80-walk --steps "$STEPS" --seed "$seed" \
    --eval-every 250000 --action-interface "$INTERFACE" --termination any-keypoint \
    --envs 16 --init-log-std -1.5 -o "runs/long/$INTERFACE-any-keypoint-16envs-logstd-1.5-s$seed" \
    --resume -q
done
