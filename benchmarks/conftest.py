"""Print each benchmark's frames per second (from its extra_info) after the timing table."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    session = getattr(config, "_benchmarksession", None)
    rows = [
        (bench.group, bench.name, bench.extra_info["frames"], bench.extra_info["frames_per_s"])
        for bench in (session.benchmarks if session else [])
        if "frames_per_s" in bench.extra_info
    ]
    if rows:
        terminalreporter.section("throughput (one core)")
        for group, name, frames, rate in rows:
            terminalreporter.write_line(f"{group}: {name}: {frames} frames, {rate:.0f} frames/s")
