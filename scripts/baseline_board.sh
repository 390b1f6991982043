#!/usr/bin/env bash
# The baselines on a leaderboard: the zero and random agents on every task and the shipped
# policy on legs80-walk, evaluated under the protocol, submitted, the policy verified by
# re-running it, and the static site exported. Rebuilds results/board.sqlite from scratch.
# Usage: bash scripts/baseline_board.sh [SITE_DIR]   (default site/; a few minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
SITE="${1:-site}"
BIN=.venv/bin
BOARD=results/board.sqlite
rm -f "$BOARD" "$BOARD-wal" "$BOARD-shm"
for agent in zero random; do
  $BIN/benchmark run --agent "$agent" -o "results/board-$agent" --resume
  $BIN/leaderboard --store "$BOARD" submit "results/board-$agent" --method "$agent" \
    --author crossmimic --training-steps 0 --no-reference-clips
done
$BIN/benchmark run --agent baselines:pretrained -o results/board-pretrained --resume
# the shipped policy (docs/results.md), under its algorithm's name, with the training steps
# its record states
RECORD=baselines/policies/legs80-walk.json
read -r STEPS ALGO < <($BIN/python -c "import json; t = json.load(open('$RECORD'))['training']; print(t['steps'], t['config']['algo'].upper())")
$BIN/leaderboard --store "$BOARD" submit results/board-pretrained --method "$ALGO (crossmimic baseline)" \
  --author crossmimic --training-steps "$STEPS" --uses-reference-clips \
  --policy baselines/policies/legs80-walk.onnx
$BIN/leaderboard --store "$BOARD" verify 3 -q
$BIN/leaderboard --store "$BOARD" list
$BIN/leaderboard --store "$BOARD" show legs80-walk
$BIN/leaderboard --store "$BOARD" show ostrich-run-real
$BIN/leaderboard --store "$BOARD" export --html "$SITE"
