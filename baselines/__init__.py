"""Reference baselines: PPO and DEP-PPO (`baselines.ppo`), DEP (`baselines.dep`), run
comparison (`baselines.compare`) and the shipped policy (`benchmark run --agent
baselines:pretrained`)."""

from __future__ import annotations

from typing import Any

__all__ = ["pretrained"]


def __getattr__(name: str) -> Any:
    # imported on first use, so `python -m baselines.shipped` does not import itself twice
    if name == "pretrained":
        from baselines.shipped import pretrained  # noqa: PLC0415

        return pretrained
    raise AttributeError(f"module 'baselines' has no attribute {name!r}")
