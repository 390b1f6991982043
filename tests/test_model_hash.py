"""The model hash: same model, same hash (wherever its files lie); any physical change, new hash."""

from __future__ import annotations

import struct
from pathlib import Path

import mujoco
import numpy as np

import morphologies
from morphologies import model_hash

LEGS = morphologies.get("human_legs_80")


def legs_spec() -> mujoco.MjSpec:
    return LEGS.build_spec()


def compile_(spec: mujoco.MjSpec) -> mujoco.MjModel:
    return LEGS.compile(spec)


def test_geometry_change_changes_the_hash():
    base = model_hash(compile_(legs_spec()))
    spec = legs_spec()
    spec.geom("foot_col1_r").size[0] *= 1.01
    assert model_hash(compile_(spec)) != base


def test_muscle_change_changes_the_hash():
    base = model_hash(compile_(legs_spec()))
    spec = legs_spec()
    spec.actuator("soleus_r").gainprm[2] *= 1.05  # peak isometric force
    assert model_hash(compile_(spec)) != base


def test_joint_change_changes_the_hash():
    base = model_hash(compile_(legs_spec()))
    spec = legs_spec()
    spec.joint("knee_angle_r").range[1] += 0.1
    assert model_hash(compile_(spec)) != base


def test_colour_does_not_change_the_hash():
    base = model_hash(compile_(legs_spec()))
    spec = legs_spec()
    spec.geom("foot_col1_r").rgba = [1.0, 0.0, 0.0, 1.0]
    assert model_hash(compile_(spec)) == base


def _write_tetrahedron_stl(path: Path) -> None:
    """A binary STL (what MuJoCo reads) of a small tetrahedron."""
    v = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]], dtype=np.float32)
    faces = [(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)]
    with open(path, "wb") as f:
        f.write(b"\0" * 80 + struct.pack("<I", len(faces)))
        for a, b, c in faces:
            f.write(
                struct.pack("<3f", 0, 0, 0)
                + v[a].tobytes()
                + v[b].tobytes()
                + v[c].tobytes()
                + b"\0\0"
            )


def _mesh_model(directory: Path) -> mujoco.MjModel:
    directory.mkdir(parents=True)
    _write_tetrahedron_stl(directory / "piece.stl")
    xml = f"""
    <mujoco>
      <compiler meshdir="{directory}"/>
      <asset><mesh name="piece" file="piece.stl"/></asset>
      <worldbody><body><freejoint/><geom type="mesh" mesh="piece"/></body></worldbody>
    </mujoco>"""
    return mujoco.MjModel.from_xml_string(xml)


def test_hash_does_not_depend_on_where_the_mesh_files_lie(tmp_path):
    here = _mesh_model(tmp_path / "one")
    there = _mesh_model(tmp_path / ("a-much-longer-folder-name" * 4) / "two")
    assert bytes(here.paths) != bytes(there.paths)  # MuJoCo stores the absolute paths...
    assert model_hash(here) == model_hash(there)  # ...which the hash leaves out
