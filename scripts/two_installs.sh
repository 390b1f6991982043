#!/usr/bin/env bash
# Two fresh installs of this tree, one with the newest numpy and scipy pip resolves and one
# with an older supported pair, side by side: each prints its versions and suite hash; a
# results file made by each is submitted to a leaderboard in the other; the same evaluations
# are compared episode by episode (what `leaderboard verify` must tolerate across installs);
# and the older install rebuilds the shipped clips (`benchmark datasets verify`), which says
# how far retargeting moves with the libraries. Not run by CI: it downloads and installs
# twice (about ten minutes on 2 cores).
# Usage: bash scripts/two_installs.sh [WORK_DIR]   (default: a new temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."
TREE="$PWD"
WORK="${1:-$(mktemp -d -t crossmimic-installs-XXXX)}"
OLDER=("numpy==1.26.4" "scipy==1.11.4")
PYTHON="${PYTHON:-python3}"
echo "two installs in $WORK"

install() {  # name, extra requirements...
  local venv="$WORK/$1"
  shift
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet "torch==2.13.0" || true
  # a copy of the tree, not an editable install: the package data must travel in the wheel
  "$venv/bin/python" -m pip install --quiet "$TREE" "$@"
  "$venv/bin/python" - <<'EOF'
import numpy, scipy, mujoco
from benchmark.tasks import TASKS, suite_hash
print(f"numpy {numpy.__version__}, scipy {scipy.__version__}, mujoco {mujoco.__version__}")
print(f"suite hash {suite_hash(list(TASKS.values()))[:12]}")
EOF
}

evaluate() {  # name: the zero and random agents on every task, the shipped policy
  local bin="$WORK/$1/bin"
  (cd "$WORK" && "$bin/benchmark" run --agent random -o "$1-random" -q >/dev/null)
  (cd "$WORK" && "$bin/benchmark" run --agent baselines:pretrained -o "$1-policy" -q >/dev/null)
}

submit() {  # store's install, results folder
  "$WORK/$1/bin/leaderboard" --store "$WORK/$1-board.sqlite" submit "$WORK/$2" \
    --method "$2" --author two-installs --training-steps 0 --no-reference-clips
}

echo "== newest"
install newest
echo "== older (${OLDER[*]})"
install older "${OLDER[@]}"
for name in newest older; do evaluate "$name"; done
echo "== cross submissions"
submit older newest-random
submit newest older-random
echo "== differences between the installs' evaluations"
"$WORK/newest/bin/python" - "$WORK" <<'EOF'
import json, sys
from pathlib import Path
from leaderboard.verify import NUMBERS
work = Path(sys.argv[1])
for run in ("random", "policy"):
    a = json.loads((work / f"newest-{run}" / "results.json").read_text())["episodes"]
    b = json.loads((work / f"older-{run}" / "results.json").read_text())["episodes"]
    worst = max(
        abs(x[k] - y[k]) / max(abs(x[k]), 1e-12)
        for x, y in zip(a, b) for k in NUMBERS if isinstance(x.get(k), float)
    )
    steps = all(x["steps"] == y["steps"] for x, y in zip(a, b))
    print(f"{run}: {len(a)} episodes, largest relative difference {worst:.3g}, steps equal {steps}")
EOF
echo "== the older install rebuilds the shipped clips"
"$WORK/older/bin/benchmark" datasets verify -q || true
"$WORK/older/bin/benchmark" datasets verify --suite ostrich-real -q || true
