"""How a trained policy falls in the test clips: every few frames of each evaluation episode
(protocol v1: frame 0, deterministic policy), the root's tilt from upright, the pelvis's
offset from the reference (forward, left, up in the world frame), and the MPJPE. Tells a body
that tips over while its keypoints still track from one that drifts off its path.

Usage: .venv/bin/python scripts/fall_trace.py RUN_FOLDER [--every N]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from benchmark.agents import OnnxAgent
from benchmark.env import ImitationEnv
from benchmark.protocol import UPRIGHT_SCALE
from benchmark.tables import format_table


def trace(run: Path, every: int) -> list[list]:
    config = json.loads((run / "config.json").read_text())
    agent = OnnxAgent(run / "policy.onnx")
    env = ImitationEnv(
        config["task"], split="test", evaluation=True, action_interface=config["action_interface"]
    )
    pelvis = env.tracked.index("pelvis")
    rows = []
    for clip in env.clips:
        observation, _ = env.reset(options={"clip": clip.name})
        while True:
            observation, _, terminated, truncated, info = env.step(agent.act(observation))
            done = terminated or truncated
            if env.frame % every == 0 or done:
                # the upright reward is exp(-UPRIGHT_SCALE tilt^2): the tilt, back from it
                upright = max(info["reward_terms"]["upright"], 1e-300)
                tilt = math.sqrt(-math.log(upright) / UPRIGHT_SCALE)
                offset = env.tracked_points()[pelvis] - env.clip.keypoints[env.frame][pelvis]
                rows.append(
                    [clip.name, env.frame, round(math.degrees(tilt), 1)]
                    + [round(float(v), 3) for v in offset]
                    + [round(1000 * info["mpjpe"], 1)]
                )
            if done:
                break
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--every", type=int, default=3)
    args = parser.parse_args()
    header = ["clip", "frame", "tilt deg", "pelvis dx m", "dy m", "dz m", "MPJPE mm"]
    print(format_table(header, trace(args.run, args.every)))


if __name__ == "__main__":
    main()
