"""What a task's clips ask of the feet: per clip, the share of frames in which no foot geom is
within the contact distance of the floor (a flight phase), the highest the lower foot gets,
and how fast foot geoms near the floor slide. A walk has no flight phase and its stance foot
does not slide; a clip that asks for either cannot be followed by a body on the floor.

Usage: .venv/bin/python scripts/clip_feet.py TASK [TASK...]   (e.g. legs80-walk)
"""

from __future__ import annotations

import sys

import mujoco
import numpy as np

from benchmark.tables import format_table
from benchmark.tasks import get_task
from morphologies.contacts import floor_distances, floor_geom, foot_geoms
from retargeting.quality import CONTACT_DISTANCE


def clip_rows(task_id: str) -> list[list]:
    task = get_task(task_id)
    model = task.body.model()
    data = mujoco.MjData(model)
    feet = [list(g) for g in foot_geoms(task.body).values()]
    floor = floor_geom(model)
    rows = []
    for split in ("train", "test"):
        for clip in task.load_clips(split):
            lowest, centres, heights = [], [], []
            for pose in clip.qpos:
                data.qpos[:] = pose
                mujoco.mj_kinematics(model, data)
                height = np.concatenate([floor_distances(model, data, g, floor) for g in feet])
                heights.append(height)
                centres.append(data.geom_xpos[sum(feet, [])][:, :2].copy())
                lowest.append(height.min())
            lowest, heights, centres = np.array(lowest), np.array(heights), np.array(centres)
            near = (heights[1:] < 0.005) & (heights[:-1] < 0.005)
            speed = np.linalg.norm(np.diff(centres, axis=0), axis=2) * clip.fps
            rows.append(
                [
                    task_id,
                    split,
                    clip.name,
                    len(clip.qpos),
                    round(float((lowest > CONTACT_DISTANCE).mean()), 2),
                    round(float(lowest.max() * 100), 1),
                    round(float(np.median(speed[near])), 3) if near.any() else "-",
                    round(float(np.percentile(speed[near], 90)), 3) if near.any() else "-",
                ]
            )
    return rows


if __name__ == "__main__":
    header = [
        "task",
        "split",
        "clip",
        "frames",
        f"no foot within {CONTACT_DISTANCE * 100:.0f} cm",
        "lower foot max cm",
        "slide m/s median",
        "slide p90",
    ]
    rows = [row for task in sys.argv[1:] for row in clip_rows(task)]
    print(format_table(header, rows))
    print("slide: horizontal speed of foot geoms within 5 mm of the floor in two frames")
