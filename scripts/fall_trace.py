"""How a body falls in the test clips: every few frames of each evaluation episode
(protocol v1: frame 0, deterministic policy), the root's tilt from upright and its pitch
(signed: + forward, about the reference root's left axis), the pelvis's offset from the
reference (forward, left, up in the world frame), the normal force between the body's own
colliding geoms (MyoLeg: leg against leg), and the MPJPE. Tells a body that tips over while
its keypoints still track from one that drifts off its path, and one whose legs collide.

Usage: .venv/bin/python scripts/fall_trace.py RUN_FOLDER [--every N]
       .venv/bin/python scripts/fall_trace.py --zero joint_target [--task T]   (the zero action)
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import mujoco
import numpy as np

from benchmark.agents import OnnxAgent
from benchmark.env import ImitationEnv
from benchmark.protocol import UPRIGHT_SCALE
from benchmark.tables import format_table


def own_contact_force(env: ImitationEnv) -> float:
    """Summed normal force (N) of the contacts between two of the body's own geoms."""
    model, data = env.model, env.data
    force, total = np.zeros(6), 0.0
    for i in range(data.ncon):
        contact = data.contact[i]
        if model.geom_bodyid[contact.geom1] and model.geom_bodyid[contact.geom2]:
            mujoco.mj_contactForce(model, data, i, force)
            total += abs(force[0])
    return total


def pitch(env: ImitationEnv, reference: mujoco.MjData) -> float:
    """The root's up axis leaning forward (+) or back (-), degrees, about the reference
    root's left axis; `reference` is scratch data for the reference pose."""
    body = env.body
    frame = env.data.xmat[env._root_body].reshape(3, 3)
    reference.qpos[:] = env.clip.qpos[env.frame]
    mujoco.mj_kinematics(env.model, reference)
    reference_frame = reference.xmat[env._root_body].reshape(3, 3)
    up = frame @ np.asarray(body.frame.up_vector)  # the body's up axis, world frame
    forward = reference_frame @ np.asarray(body.frame.forward_vector)
    return math.degrees(math.asin(float(np.clip(up @ forward, -1.0, 1.0))))


def trace(env: ImitationEnv, act, every: int) -> list[list]:
    pelvis = env.tracked.index("pelvis")
    reference = mujoco.MjData(env.model)
    rows = []
    for clip in env.clips:
        observation, _ = env.reset(options={"clip": clip.name})
        while True:
            observation, _, terminated, truncated, info = env.step(act(observation))
            done = terminated or truncated
            if env.frame % every == 0 or done:
                # the upright reward is exp(-UPRIGHT_SCALE tilt^2): the tilt, back from it
                upright = max(info["reward_terms"]["upright"], 1e-300)
                tilt = math.sqrt(-math.log(upright) / UPRIGHT_SCALE)
                offset = env.tracked_points()[pelvis] - env.clip.keypoints[env.frame][pelvis]
                lean = round(pitch(env, reference), 1)
                rows.append(
                    [clip.name, env.frame, round(math.degrees(tilt), 1), lean]
                    + [round(float(v), 3) for v in offset]
                    + [round(own_contact_force(env)), round(1000 * info["mpjpe"], 1)]
                )
            if done:
                break
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, nargs="?", help="a benchmark train folder")
    parser.add_argument("--zero", metavar="INTERFACE", help="trace the zero action instead")
    parser.add_argument("--task", default="legs80-walk", help="with --zero")
    parser.add_argument("--every", type=int, default=3)
    args = parser.parse_args()
    if (args.run is None) == (args.zero is None):
        parser.error("give a run folder or --zero INTERFACE")
    if args.zero:
        env = ImitationEnv(args.task, split="test", evaluation=True, action_interface=args.zero)
        zero = np.zeros(env.action_space.shape, np.float32)
        act = lambda _: zero  # noqa: E731
    else:
        config = json.loads((args.run / "config.json").read_text())
        env = ImitationEnv(
            config["task"],
            split="test",
            evaluation=True,
            action_interface=config["action_interface"],
        )
        act = OnnxAgent(args.run / "policy.onnx").act
    header = ["clip", "frame", "tilt deg", "pitch deg", "pelvis dx m", "dy m", "dz m"]
    print(format_table(header + ["legs N", "MPJPE mm"], trace(env, act, args.every)))


if __name__ == "__main__":
    main()
