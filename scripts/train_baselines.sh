#!/usr/bin/env bash
# The reference-baseline experiment of docs/results.md: PPO and DEP-PPO on legs80-walk,
# three seeds each, the same budget, then the comparison table and plot.
# Re-running continues unfinished runs (--resume) and redoes the comparison.
# Usage: bash scripts/train_baselines.sh [STEPS]   (default 1,000,000; about 10 min a run
# on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-1000000}"
BIN=.venv/bin
for seed in 0 1 2; do
  for algo in ppo dep-ppo; do
    # DEP-only warm-up: 5 % of the budget (the MyoSuite preset's 200,000 is for 1e8-step runs)
    $BIN/benchmark train --algo "$algo" --task legs80-walk --steps "$STEPS" --seed "$seed" \
      --dep-warmup $((STEPS / 20)) --eval-every $((STEPS / 10)) \
      -o "runs/legs80-walk/$algo-seed$seed" --resume -q
  done
done
$BIN/benchmark compare runs/legs80-walk/*-seed* --overwrite \
  --plot docs/figures/legs80-walk-curves.png -o docs/figures/legs80-walk-compare.json
