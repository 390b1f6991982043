"""Whether a task's clips are motions the body's own dynamics allow: per clip, inverse
dynamics (MuJoCo's `mj_inverse`, contacts off) gives the wrench the floor would have to put
on the body for the clip's accelerations to happen; from it, the centre of pressure (where
on the floor that wrench acts) and the vertical force over body weight. A clip a body can
follow keeps the centre of pressure under the feet that touch the floor, and the vertical
force near one body weight on average (about 0.7-1.3 in human walking).

The table also gives the share of those frames with both feet down (double support: about
a fifth to a quarter of a human walking cycle at 1-1.5 m/s, none in running).

Accelerations are central differences of the clip's qvel at 30 Hz, so single frames at heel
strike read noisy. `--simulate RUN` measures, for scale, what obeys the physics by
construction: the first 20 frames of each test episode of a trained policy, simulated, with
velocities differenced from positions as the clips' are.

Checked on the human bodies only: on the ostrich it reads implausible figures (centres of
pressure metres away, the floor pulling in most frames of the real clips) that nobody has
traced yet, so it refuses the ostrich's tasks.

Usage: .venv/bin/python scripts/clip_dynamics.py TASK [TASK...]   (e.g. legs80-walk)
       .venv/bin/python scripts/clip_dynamics.py --simulate RUN_FOLDER
       .venv/bin/python scripts/clip_dynamics.py --dataset FILE.h5   (`benchmark retarget`'s)
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
from pathlib import Path
from types import SimpleNamespace

import mujoco
import numpy as np

from benchmark.agents import OnnxAgent
from benchmark.env import ImitationEnv
from benchmark.tables import format_table
from benchmark.tasks import get_task
from morphologies import Morphology
from morphologies.contacts import floor_distances, floor_geom, foot_geoms
from retargeting.datasets import open_dataset
from retargeting.datasets.clip import Clip
from retargeting.retarget import finite_difference_qvel

DOWN = 0.005  # m: a foot geom this close to the floor can take load


def _footprint(model: mujoco.MjModel, data: mujoco.MjData, geom: int) -> list[np.ndarray]:
    """Points spanning a foot geom: a capsule's two axis ends (its radius is added to the
    span after), a box's corners."""
    centre, frame = data.geom_xpos[geom], data.geom_xmat[geom].reshape(3, 3)
    size = model.geom_size[geom]
    if model.geom_type[geom] == mujoco.mjtGeom.mjGEOM_BOX:
        return [centre + frame @ (np.array(s) * size) for s in itertools.product((-1, 1), repeat=3)]
    if model.geom_type[geom] == mujoco.mjtGeom.mjGEOM_CAPSULE:
        return [centre + frame[:, 2] * size[1], centre - frame[:, 2] * size[1]]
    return [centre]


def contact_free(body: Morphology) -> mujoco.MjModel:
    """The body's model with contacts off: `mj_inverse`'s force on the root is then what the
    floor would have to supply."""
    free = copy.copy(body.model())
    free.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONTACT)
    return free


def clip_row(
    task_id: str, clip: Clip | SimpleNamespace, model: mujoco.MjModel, body: Morphology
) -> list:
    """One table row: frames with a foot down, % of them with both feet down, % of them with
    the centre of pressure outside the feet, the median miss (mm), frames that need the floor
    to pull, vertical force range.
    `model` is the body's `contact_free` model."""
    data = mujoco.MjData(model)
    root = model.joint(body.root_joint)
    dof, root_body = int(model.jnt_dofadr[root.id]), int(root.bodyid[0])
    weight = float(model.body_subtreemass[0]) * float(np.linalg.norm(model.opt.gravity))
    sides = list(foot_geoms(body).values())
    feet = [g for side in sides for g in side]
    floor = floor_geom(model)
    at = int(model.jnt_qposadr[root.id])
    travel = clip.qpos[-1, at : at + 2] - clip.qpos[0, at : at + 2]
    forward = travel / max(np.linalg.norm(travel), 1e-9)
    left = np.array([-forward[1], forward[0]])
    misses, loads, pulls, counted, both = [], [], 0, 0, 0
    for t in range(1, len(clip.qpos) - 1):
        data.qpos[:], data.qvel[:] = clip.qpos[t], clip.qvel[t]
        data.qacc[:] = (clip.qvel[t + 1] - clip.qvel[t - 1]) * clip.fps / 2
        mujoco.mj_inverse(model, data)  # also places the geoms, for the feet below
        force = data.qfrc_inverse[dof : dof + 3]  # world frame, at the root body
        torque = data.xmat[root_body].reshape(3, 3) @ data.qfrc_inverse[dof + 3 : dof + 6]
        loads.append(force[2] / weight)
        if force[2] <= 0:
            pulls += 1
            continue
        origin = data.xpos[root_body]
        pressure = np.array(
            [
                origin[0] - (torque[1] + origin[2] * force[0]) / force[2],
                origin[1] + (torque[0] - origin[2] * force[1]) / force[2],
            ]
        )
        heights = floor_distances(model, data, feet, floor)
        down = [g for g, h in zip(feet, heights, strict=True) if h < DOWN]
        if not down:
            continue
        both += all(any(g in down for g in side) for side in sides)
        points = np.array([p[:2] for g in down for p in _footprint(model, data, g)])
        capsules = [g for g in down if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE]
        radius = max((float(model.geom_size[g][0]) for g in capsules), default=0.0)
        counted += 1
        miss = 0.0
        for axis in (forward, left):
            span = points @ axis
            value = pressure @ axis
            low, high = span.min() - radius, span.max() + radius
            miss = max(miss, low - value, value - high, 0.0)
        misses.append(miss)
    misses = np.array(misses)
    outside = misses > 0
    return [
        task_id,
        clip.name,
        counted,
        round(100 * both / counted, 1) if counted else "-",
        round(100 * float(outside.mean()), 1) if counted else "-",
        round(1000 * float(np.median(misses[outside])), 1) if outside.any() else 0,
        pulls,
        round(float(np.min(loads)), 2),
        round(float(np.max(loads)), 2),
    ]


def simulated(run: Path, frames: int = 20) -> list[SimpleNamespace]:
    """The first `frames` of each test episode of a run's policy, as clips: qpos as
    simulated, qvel by finite differences of it, as the clips' are."""
    config = json.loads((run / "config.json").read_text())
    interface = config["action_interface"]
    env = ImitationEnv(config["task"], split="test", evaluation=True, action_interface=interface)
    agent = OnnxAgent(run / "policy.onnx")
    episodes = []
    for clip in env.clips:
        observation, _ = env.reset(options={"clip": clip.name})
        qpos = [env.data.qpos.copy()]
        for _ in range(frames):
            observation, _, terminated, truncated, _ = env.step(agent.act(observation))
            qpos.append(env.data.qpos.copy())
            if terminated or truncated:
                break
        name = f"{clip.name} (simulated)"
        positions = np.array(qpos)
        velocities = finite_difference_qvel(env.model, positions, clip.fps)
        episodes.append(SimpleNamespace(name=name, fps=clip.fps, qpos=positions, qvel=velocities))
    return episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tasks", nargs="*", default=["legs80-walk"])
    parser.add_argument("--simulate", type=Path, metavar="RUN", help="a benchmark train folder")
    parser.add_argument("--dataset", type=Path, help="a dataset file's clips instead of tasks'")
    args = parser.parse_args()
    rows = []
    if args.dataset:
        with open_dataset(args.dataset) as dataset:
            if dataset.morphology.species != "human":
                raise SystemExit(f"{args.dataset}: checked on the human bodies only")
            free = contact_free(dataset.morphology)
            rows = [clip_row(args.dataset.name, c, free, dataset.morphology) for c in dataset]
    elif args.simulate:
        config = json.loads((args.simulate / "config.json").read_text())
        task = get_task(config["task"])
        free = contact_free(task.body)
        rows = [clip_row(task.id, e, free, task.body) for e in simulated(args.simulate)]
    for task_id in [] if args.simulate or args.dataset else args.tasks:
        task = get_task(task_id)
        if task.body.species != "human":
            raise SystemExit(f"{task_id}: checked on the human bodies only (see the docstring)")
        free = contact_free(task.body)
        for split in ("train", "test"):
            for clip in task.load_clips(split):
                rows.append(clip_row(task_id, clip, free, task.body))
    header = ["task", "clip", "frames", "both_%", "cop_out_%", "miss_mm", "pull"]
    header += ["Fz/mg min", "Fz/mg max"]
    print(format_table(header, rows))


if __name__ == "__main__":
    main()
