"""Shared by the benchmarks: `side_by_side` (interleaved timing of variants) and, after the
timing tables, one table of what they show, as ratios measured side by side in this run:
environment overhead per body, against MyoSuite, sampling scaling, retargeting and PPO
update throughput; with the machine it ran on."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from benchmark.provenance import machine
from benchmark.tables import format_table

Variant = tuple[Callable[[], None] | None, Callable[[], None]]  # (untimed setup, timed run)


@pytest.fixture
def side_by_side():
    """Time variants side by side: each pytest-benchmark round times every variant once, in
    alternating order (A B, then B A), so that a machine that slows down or speeds up during
    the run (a shared virtual machine does) weighs on every variant alike. Ratios come from
    these interleaved per-round times (in extra_info); pytest-benchmark's own figure for the
    test is the whole round."""

    def measure(benchmark, variants: dict[str, Variant], rounds: int, warmup: int = 3):
        times: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        count = [0]

        def one_round() -> None:
            for name in names if count[0] % 2 == 0 else names[::-1]:
                setup, run = variants[name]
                if setup is not None:
                    setup()
                began = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - began)
            count[0] += 1

        benchmark.pedantic(one_round, rounds=rounds, warmup_rounds=warmup)
        # --benchmark-disable (a smoke run) calls one_round once, with no warm-up to drop.
        skip = warmup if benchmark.enabled else 0
        result = {name: np.array(values[skip:]) for name, values in times.items()}
        benchmark.extra_info["side_by_side"] = {n: v.tolist() for n, v in result.items()}
        return result

    return measure


def _find(benches, group_part: str):
    return next((b for b in benches if group_part in b.group), None)


def _ratio_row(label: str, value: str, slow: np.ndarray, fast: np.ndarray) -> list[str]:
    """The ratio of the fastest rounds, and of the means."""
    return [label, value, f"{slow.min() / fast.min():.2f}x", f"{slow.mean() / fast.mean():.2f}x"]


def summary_rows(benches) -> list[list[str]]:
    rows = []
    for bench in benches:
        if bench.group.startswith("env step"):
            times = {k: np.array(v) for k, v in bench.extra_info["side_by_side"].items()}
            steps = bench.extra_info["control_steps_per_round"]
            body = bench.group.removeprefix("env step ")
            value = f"{1e3 * times['env.step'].min() / steps:.3f} ms per control step"
            rows.append(
                _ratio_row(
                    f"env.step / raw mj_step, {body}",
                    value,
                    times["env.step"],
                    times["raw mj_step"],
                )
            )
    interfaces = _find(benches, "interfaces")
    if interfaces is not None:
        times = {k: np.array(v) for k, v in interfaces.extra_info["side_by_side"].items()}
        steps = interfaces.extra_info["control_steps_per_round"]
        raw = times.pop("raw mj_step")
        for name, values in times.items():
            value = f"{1e3 * values.min() / steps:.3f} ms per control step"
            rows.append(_ratio_row(f"env.step, {name} / raw mj_step", value, values, raw))
    ours = _find(benches, "MyoSuite")
    if ours is not None:
        theirs = {k: np.array(ours.extra_info["myosuite"][k]) for k in ("env_s", "raw_s")}
        mine = {k: np.array(v) for k, v in ours.extra_info["side_by_side"].items()}
        steps = ours.extra_info["myosuite"]["steps_per_round"]
        value = f"{1e3 * theirs['env_s'].min() / steps:.3f} ms per control step"
        rows.append(
            _ratio_row(
                "MyoSuite env.step / its raw mj_step", value, theirs["env_s"], theirs["raw_s"]
            )
        )
        value = f"{1e3 * mine['env.step'].min() / steps:.3f} ms per control step"
        rows.append(
            _ratio_row(
                "crossmimic / MyoSuite env.step, MyoLeg", value, mine["env.step"], theirs["env_s"]
            )
        )
        rows.append(
            _ratio_row(
                "crossmimic / MyoSuite raw mj_step",
                "MuJoCo versions differ",
                mine["raw mj_step"],
                theirs["raw_s"],
            )
        )
    sampling = _find(benches, "sampling")
    if sampling is not None:
        times = {k: np.array(v) for k, v in sampling.extra_info["side_by_side"].items()}
        steps = sampling.extra_info["env_steps_per_round"]
        for name, values in times.items():
            rows.append(
                [f"sampling, {name}", f"{steps / values.mean():.0f} steps/s (mean)", "", ""]
            )
        one, two = times["1 worker"], times["2 workers"]
        efficiency = f"scaling efficiency {one.mean() / two.mean() / 2:.0%} (means)"
        rows.append(_ratio_row("sampling, 2 workers over 1", efficiency, one, two))
        rows.append(
            _ratio_row(
                "sampling, 2 workers: poll first / block",
                "",
                times["2 workers, blocking wait"],
                two,
            )
        )
    independent = _find(benches, "independent processes")
    if independent is not None:
        times = {k: np.array(v) for k, v in independent.extra_info["side_by_side"].items()}
        one, two = times["1 process"], times["2 processes"]  # two do twice the work
        efficiency = f"scaling efficiency {one.mean() / two.mean():.0%} (means)"
        rows.append(
            _ratio_row("no policy, no waiting: 2 processes over 1", efficiency, one, two / 2)
        )
    idle = _find(benches, "policy pass")
    if idle is not None:
        times = {k: np.array(v) for k, v in idle.extra_info["side_by_side"].items()}
        back = times["back to back"]
        value = f"{1e3 * back.min():.3f} ms back to back"
        rows.append(
            _ratio_row(
                "policy pass after 10 ms idle / back to back",
                value,
                times["after 10 ms idle"],
                back,
            )
        )
    retarget = _find(benches, "retarget")
    if retarget is not None:
        whole = next(b for b in benches if b.name == "test_whole_retarget")
        rows.append(
            [
                "retargeting, whole (IK + quality)",
                f"{whole.extra_info['frames_per_s']:.0f} frames/s",
                "",
                "",
            ]
        )
    for bench in benches:
        if bench.group.startswith("training legs80-walk"):
            interface = bench.group.removeprefix("training legs80-walk ")
            ceiling = np.array(bench.extra_info["ceiling_steps_per_s"])
            physics = np.array(bench.extra_info["ceiling_cpu_ms_per_step"])
            trained = {}
            for variant, values in bench.extra_info["training_steps_per_s"].items():
                trained[variant] = speed = np.array(values)
                rows.append(
                    [
                        f"PPO {variant} / sampling ceiling, {interface}",
                        f"{speed.mean():.0f} / {ceiling.mean():.0f} steps/s (means)",
                        f"{speed.max() / ceiling.max():.2f}",
                        f"{speed.mean() / ceiling.mean():.2f}",
                    ]
                )
                cpu = np.array(bench.extra_info["training_cpu_ms_per_step"][variant])
                busy = cpu.mean() * speed.mean() / 1e3  # cores kept busy on average
                rows.append(
                    [
                        f"  CPU per step, ceiling / {variant}",
                        f"{physics.mean():.3f} / {cpu.mean():.3f} ms; {busy:.2f} cores busy",
                        f"{physics.min() / cpu.min():.2f}",
                        f"{physics.mean() / cpu.mean():.2f}",
                    ]
                )
            serial, overlapped = trained["training"], trained["training, overlap"]
            rows.append(
                [
                    f"  overlap / serial training, {interface}",
                    "",
                    f"{overlapped.max() / serial.max():.2f}x",
                    f"{overlapped.mean() / serial.mean():.2f}x",
                ]
            )
    ppo = _find(benches, "ppo update")
    if ppo is not None and "samples_per_s" in ppo.extra_info:  # absent when the test failed
        rows.append(
            [
                "PPO update (5 epochs x 8 minibatches)",
                f"{ppo.extra_info['samples_per_s']:.0f} samples/s, "
                f"{ppo.extra_info.get('cpu_ms_per_sample', float('nan')):.3f} CPU ms each",
                "",
                "",
            ]
        )
    return rows


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    session = getattr(config, "_benchmarksession", None)
    benches = session.benchmarks if session else []
    rows = summary_rows(benches)
    if not rows:
        return
    terminalreporter.section("speed, side by side in this run")
    headers = ["measurement", "value", "ratio (fastest rounds)", "ratio (means)"]
    terminalreporter.write_line(format_table(headers, rows))
    info = machine()
    terminalreporter.write_line(
        f"machine: {info['cpu']}, {info['cores']} cores, GPU {info['gpu'] or 'none'}, "
        f"{info['system']}, Python {info['python']}"
    )
