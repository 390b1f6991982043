"""What a trained policy does with its actions: on training-clip starts, the mean |action| of
its deterministic output, the share of action values beyond 0.9 in magnitude (a policy
pinned to the ends of [-1, 1] acts bang-bang), and how long its episodes last under the
run's own training rule. A policy that has learned little still acts near 0 (the interface's
neutral action); one dragged to the ends by off-policy actions (DEP's) falls at once.

Usage: .venv/bin/python scripts/policy_actions.py RUN_FOLDER [RUN_FOLDER...] [--episodes N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmark.agents import OnnxAgent
from benchmark.env import ImitationEnv
from benchmark.tables import format_table


def policy_row(run: Path, episodes: int) -> list:
    config = json.loads((run / "config.json").read_text())
    agent = OnnxAgent(run / "policy.onnx")
    rule = config["training_termination"]
    env = ImitationEnv(
        config["task"],
        action_interface=config["action_interface"],
        termination=rule["rule"],
        termination_distance=rule["distance_m"],
    )
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
    values = np.abs(np.clip(np.concatenate(actions), -1.0, 1.0))
    return [
        run.name,
        config["config"]["algo"],
        config["action_interface"],
        round(float(values.mean()), 3),
        round(float((values > 0.9).mean()), 3),
        round(float(np.mean(lengths)), 1),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    header = ["run", "algo", "interface", "mean |a|", "share |a|>0.9", "episode steps"]
    print(format_table(header, [policy_row(run, args.episodes) for run in args.runs]))


if __name__ == "__main__":
    main()
