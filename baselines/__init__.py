"""Reference baselines: PPO and DEP-PPO (`baselines.ppo`), DEP (`baselines.dep`), run
comparison (`baselines.compare`) and the shipped policy (`benchmark run --agent
baselines:pretrained`)."""

from baselines.shipped import pretrained

__all__ = ["pretrained"]
