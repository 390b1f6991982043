"""Export of one clip to the `.npz` trajectory layout that MyoSuite 3 and LocoMuJoCo load.

Keys: `qpos` (T, nq), `qvel` (T, nv), `frequency` (Hz), `site_names` (K,) and `site_xpos`
(T, K, 3): the tracked keypoints stand in for those projects' mimic sites. `joint_names`
names the model's joints in qpos order, so a reader can check the layout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from morphologies import Morphology
from retargeting.datasets.clip import Clip
from retargeting.files import atomic_path


def export_npz(clip: Clip, morphology: Morphology, path: str | Path) -> Path:
    path = Path(path)
    model = morphology.model()
    arrays = {
        "qpos": clip.qpos,
        "qvel": clip.qvel,
        "frequency": np.array(clip.fps),
        "site_names": np.array(clip.keypoint_names),
        "site_xpos": clip.keypoints,
        "joint_names": np.array([model.joint(j).name for j in range(model.njnt)]),
    }
    with atomic_path(path) as partial, open(partial, "wb") as stream:
        np.savez(stream, **arrays)
    return path
