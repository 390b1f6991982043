"""Evaluation episodes on a Ray cluster: `benchmark run --executor ray [--address ADDR]`.

Each Ray worker is an actor holding a `benchmark.episode.Worker` (the agent loaded once, its
environments kept), as a local worker process does, so an episode's record is the
same wherever it runs (episodes are deterministic and independent of each other); only its
wall time differs. Without an address a Ray instance is started on this machine and stopped
after the run. On a cluster, every node needs crossmimic installed (its reference clips ship
with it) and the agent importable by the same `--agent` spec.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from benchmark.episode import Worker


class RayUnavailableError(RuntimeError):
    pass


def execute(
    agent_spec: str, jobs: list[Any], *, address: str | None = None, workers: int | None = None
) -> Iterator[dict[str, Any]]:
    """Episode records of `jobs` as Ray workers finish them (in no fixed order)."""
    try:
        import ray  # noqa: PLC0415 (ray: optional extra)
        from ray.util import ActorPool  # noqa: PLC0415 (ray: optional extra)
    except ImportError:
        raise RayUnavailableError(
            "the Ray executor needs Ray: pip install 'crossmimic[ray]'"
        ) from None
    if not jobs:
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reporting home from a benchmark
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        count = workers or int(ray.cluster_resources().get("CPU", 1))
        remote = ray.remote(num_cpus=1)(Worker)
        pool = ActorPool([remote.remote(agent_spec) for _ in range(max(1, min(count, len(jobs))))])
        yield from pool.map_unordered(lambda actor, job: actor.run.remote(job), jobs)
    finally:
        if started_here:
            ray.shutdown()
