"""Reference baselines: PPO and DEP-PPO (`baselines.ppo`), DEP (`baselines.dep`)."""
