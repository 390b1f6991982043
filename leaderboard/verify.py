"""`leaderboard verify ID`: re-run a submission's ONNX policy under the protocol and mark it
verified only when every episode's metrics equal the submitted ones within `TOLERANCE`.

Evaluation is deterministic (frame-0 starts, a deterministic policy, one thread), so on the
same libraries the re-run reproduces a run bit for bit; the tolerance only allows for a
machine whose floating-point arithmetic rounds differently. Steps, success and failure must
match exactly.
"""

from __future__ import annotations

import math
import platform
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.metrics import SCALARS
from benchmark.runner import run
from leaderboard.store import Store, StoreError

TOLERANCE = {"relative": 1e-9, "absolute": 1e-9}
EXACT = ("steps", "clip_steps", "success", "strict_success", "failure")
NUMBERS = tuple(name for name in SCALARS if name not in EXACT)


@dataclass(frozen=True)
class Verification:
    verified: bool
    episodes: int
    max_abs_difference: float
    mismatches: list[str] = field(default_factory=list)
    tolerance: dict[str, float] = field(default_factory=lambda: dict(TOLERANCE))
    verified_at: str = ""
    machine: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(store: Store, identifier: int, *, progress: bool = False) -> Verification:
    """Re-run entry `identifier`'s policy on its tasks and seeds, compare, record the outcome."""

    entry = store.entry(identifier)
    policy = store.policy(identifier)
    if policy is None:
        raise StoreError(f"submission #{identifier} has no policy to verify (submit --policy)")
    submitted = {e["key"]: e for e in entry.results["episodes"]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.onnx"
        path.write_bytes(policy)
        rerun = run(
            str(path),
            entry.results["tasks"],
            out=Path(folder) / "run",
            split="test",
            seeds=entry.results["seeds"],
            progress=progress,
        )
    mismatches, largest = compare_episodes(submitted, {e["key"]: e for e in rerun["episodes"]})
    declared, played = entry.interface, rerun["agent"]["action_interface"]
    if declared != played:  # the policy file says which interface it acts through
        mismatches.insert(0, f"action_interface: submitted {declared!r}, the policy's {played!r}")
    outcome = Verification(
        verified=not mismatches,
        episodes=len(submitted),
        max_abs_difference=largest,
        mismatches=mismatches[:50],
        verified_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine=f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
    )
    store.set_verification(identifier, outcome.verified, outcome.as_dict())
    return outcome


def compare_episodes(
    submitted: dict[str, dict[str, Any]], rerun: dict[str, dict[str, Any]]
) -> tuple[list[str], float]:
    """Mismatches (key: field submitted -> re-run) and the largest absolute difference."""
    mismatches, largest = [], 0.0
    for key in sorted(set(submitted) | set(rerun)):
        if key not in rerun or key not in submitted:
            mismatches.append(f"{key}: in only one of the two runs")
            continue
        mine, theirs = rerun[key], submitted[key]
        for name in EXACT:
            if mine[name] != theirs[name]:
                mismatches.append(f"{key}: {name} {theirs[name]!r} -> {mine[name]!r}")
        for name in (*NUMBERS, "mean_activation"):
            a, b = theirs[name], mine[name]
            pairs = zip(a, b, strict=False) if isinstance(a, list) else [(a, b)]
            if isinstance(a, list) and len(a) != len(b):
                mismatches.append(f"{key}: {name} has {len(a)} values, the re-run {len(b)}")
                continue
            for x, y in pairs:
                if math.isnan(x) and math.isnan(y):
                    continue
                difference = abs(x - y)
                largest = max(largest, difference) if math.isfinite(difference) else math.inf
                tolerance = max(TOLERANCE["absolute"], TOLERANCE["relative"] * abs(x))
                if not difference <= tolerance:
                    mismatches.append(f"{key}: {name} {x!r} -> {y!r}")
                    break
    return mismatches, largest
