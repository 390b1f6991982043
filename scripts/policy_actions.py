"""What a trained policy does with its actions: on training-clip starts, the mean |action| of
its deterministic output, the share of action values beyond 0.9 in magnitude (a policy
pinned to the ends of [-1, 1] acts bang-bang), and how long its episodes last under the
run's own training rule. A policy that has learned little still acts near 0 (the interface's
neutral action); one dragged to the ends by off-policy actions (DEP's) falls at once. With
`--dep`, a last row does the same for DEP alone (the first run's preset, one environment,
2,000 steps), as it acts in a DEP-PPO warm-up.

Usage: .venv/bin/python scripts/policy_actions.py RUN_FOLDER [RUN_FOLDER...] [--episodes N]
       [--dep]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from baselines.config import TrainConfig
from baselines.dep_ppo import DepExploration, dep_params
from benchmark.agents import OnnxAgent
from benchmark.env import ImitationEnv
from benchmark.tables import format_table


def _training_env(config: dict) -> ImitationEnv:
    rule = config["training_termination"]
    return ImitationEnv(
        config["task"],
        action_interface=config["action_interface"],
        termination=rule["rule"],
        termination_distance=rule["distance_m"],
    )


def _row(name: str, algo: str, interface: str, actions: list, lengths: list) -> list:
    values = np.abs(np.clip(np.concatenate(actions), -1.0, 1.0))
    return [
        name,
        algo,
        interface,
        round(float(values.mean()), 3),
        round(float((values > 0.9).mean()), 3),
        round(float(np.mean(lengths)), 1),
    ]


def policy_row(run: Path, episodes: int) -> list:
    config = json.loads((run / "config.json").read_text())
    agent = OnnxAgent(run / "policy.onnx")
    env = _training_env(config)
    actions, lengths = [], []
    for episode in range(episodes):  # seeded resets: random training clips and frames
        observation, _ = env.reset(seed=episode)
        steps = 0
        while True:
            action = np.asarray(agent.act(observation), dtype=np.float32)
            actions.append(action)
            observation, _, terminated, truncated, _ = env.step(action)
            steps += 1
            if terminated or truncated:
                break
        lengths.append(steps)
    interface = config["action_interface"]
    return _row(run.name, config["config"]["algo"], interface, actions, lengths)


def dep_row(run: Path, steps: int = 2000) -> list:
    """DEP alone in one environment of `run`'s task, interface and training rule."""
    config = json.loads((run / "config.json").read_text())
    train = TrainConfig.from_dict(dict(config["config"], envs=1, algo="dep-ppo"))
    env = _training_env(config)
    exploration = DepExploration(
        train, dep_params(train), env.action_space.shape[0], env.muscle_readings
    )
    rng = np.random.default_rng(0)
    observation, _ = env.reset(seed=0)
    actions, lengths, length = [], [], 0
    for step in range(steps):  # inside the warm-up: DEP drives every step
        action = torch.zeros(1, env.action_space.shape[0])
        exploration.act(action, observation[None], step, rng)
        actions.append(action[0].numpy())
        observation, _, terminated, truncated, _ = env.step(action[0].numpy())
        length += 1
        if terminated or truncated:
            exploration.end_episodes(np.ones(1, bool))
            observation, _ = env.reset()
            lengths.append(length)
            length = 0
    name = f"DEP alone ({train.dep_preset}), {steps} steps"
    return _row(name, "dep", config["action_interface"], actions, lengths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--dep", action="store_true", help="add DEP alone as a last row")
    args = parser.parse_args()
    header = ["run", "algo", "interface", "mean |a|", "share |a|>0.9", "episode steps"]
    rows = [policy_row(run, args.episodes) for run in args.runs]
    if args.dep:
        rows.append(dep_row(args.runs[0]))
    print(format_table(header, rows))


if __name__ == "__main__":
    main()
