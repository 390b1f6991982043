"""The agent interface and how `--agent` finds one.

An agent is any object with `act(observation) -> action` (one value per muscle in [-1, 1]);
optionally `reset(task_info)` before each episode (task id, clip, seed, action and
observation sizes), and an `action_interface` attribute: the
interface its actions are meant for (`benchmark.interfaces`; `excitation` when absent), with
which its environments are made. `--agent` accepts:
  - a built-in name: `zero`, `random`, `reference`;
  - `package.module:attribute` or `package.module.attribute`;
  - `path/to/file.py` (its `agent` attribute) or `path/to/file.py:attribute`;
  - `path/to/policy.onnx`: a policy file in the MyoChallenge convention (`OnnxAgent`).
A class or a function without `act` is called with no arguments to make the agent.

`reference` is diagnostic: it makes the environment replay the reference clip kinematically
(it teleports the body), so its scores show what perfect tracking reads (zero error). It is
not a controller (`is_controller = False`) and is never ranked.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import interfaces


class AgentLoadError(LookupError):
    """`--agent` could not be resolved; says what was looked for and where."""


class ZeroAgent:
    """The constant action 0: through the `excitation` interface, excitation 0.5 on every
    muscle, held (not an unexcited body: action -1 is excitation 0). The body collapses; the
    leaderboard's normalised score is 0 for this agent."""

    name = "zero"

    def reset(self, task_info: dict[str, Any]) -> None:
        self._size = task_info["action_size"]

    def act(self, observation: np.ndarray) -> np.ndarray:
        return np.zeros(self._size, dtype=np.float32)


class RandomAgent:
    """Uniform excitations, seeded per episode from the episode's seed."""

    name = "random"

    def reset(self, task_info: dict[str, Any]) -> None:
        self._size = task_info["action_size"]
        self._rng = np.random.default_rng(task_info["seed"])

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self._rng.uniform(-1.0, 1.0, self._size).astype(np.float32)


class ReferenceAgent(ZeroAgent):
    """Diagnostic: the runner replays the reference instead of simulating (see above)."""

    name = "reference"
    is_controller = False


BUILT_IN = {"zero": ZeroAgent, "random": RandomAgent, "reference": ReferenceAgent}


class OnnxAgent:
    """A deterministic policy file: an ONNX graph from an observation batch (1, n) to an
    action batch (1, m) in [-1, 1], any normalisation inside the graph (the MyoChallenge
    convention; `benchmark train` exports its policies so). onnxruntime runs the graph and
    executes no code from the file. `tasks`, when given, are the only tasks it accepts. The
    action interface is the graph's `action_interface` metadata (`benchmark train` writes
    it), `excitation` in a file without it."""

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        tasks: tuple[str, ...] | None = None,
        observation_size: int | None = None,
    ) -> None:
        import onnxruntime  # noqa: PLC0415 (onnxruntime: heavy, ONNX agents only)

        path = Path(path)
        self.path = path
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one episode per process; runs parallelise by process
        try:
            self.session = onnxruntime.InferenceSession(str(path), options)
        except Exception as error:  # onnxruntime raises its own error types for bad graphs
            raise AgentLoadError(f"{path}: not a policy onnxruntime can run ({error})") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1 or len(inputs[0].shape) != 2:
            raise AgentLoadError(
                f"{path}: a policy has one input of shape (batch, observation) and an action "
                f"output; this graph has inputs {[(i.name, i.shape) for i in inputs]}"
            )
        self.input_name = inputs[0].name
        declared = self.session.get_modelmeta().custom_metadata_map.get("action_interface")
        try:
            self.action_interface = interfaces.check(declared or interfaces.DEFAULT)
        except ValueError as error:
            raise AgentLoadError(f"{path}: metadata 'action_interface': {error}") from None
        self.name = name or path.name
        if tasks is not None:
            self.tasks = tuple(tasks)
        width = inputs[0].shape[1]
        self.observation_size = observation_size or (width if isinstance(width, int) else None)
        width = outputs[0].shape[-1] if outputs[0].shape else None
        self.action_size = width if isinstance(width, int) else None

    def reset(self, task_info: dict[str, Any]) -> None:
        tasks = getattr(self, "tasks", None)
        if tasks is not None and task_info["task"] not in tasks:
            raise ValueError(f"{self.name} is for {', '.join(tasks)}, not {task_info['task']}")
        for what in ("observation", "action"):
            mine, theirs = getattr(self, f"{what}_size"), task_info.get(f"{what}_size")
            if mine is not None and theirs is not None and mine != theirs:
                raise ValueError(
                    f"{self.name} takes {what}s of size {mine}, {task_info['task']} has {theirs}"
                )

    def act(self, observation: np.ndarray) -> np.ndarray:
        batch = np.asarray(observation, dtype=np.float32)[None]
        (action, *_) = self.session.run(None, {self.input_name: batch})
        return action[0]


def load_agent(spec: str) -> Any:
    """Resolve an `--agent` value to an agent object (see the module docstring)."""
    if spec in BUILT_IN:
        return BUILT_IN[spec]()
    if spec.endswith(".onnx"):
        if not Path(spec).is_file():
            raise AgentLoadError(f"--agent {spec}: no file {spec}")
        return OnnxAgent(spec)
    target = _resolve(spec)
    if isinstance(target, type) or not hasattr(target, "act"):
        agent = _make(target, spec)  # a class or a factory function
    else:
        agent = target
    if not callable(getattr(agent, "act", None)):
        raise AgentLoadError(f"--agent {spec}: {agent!r} has no act(observation) method")
    return agent


def _make(factory: Any, spec: str) -> Any:
    if not callable(factory):
        raise AgentLoadError(f"--agent {spec}: {factory!r} has no act(observation) method")
    try:
        return factory()
    except TypeError as error:
        raise AgentLoadError(
            f"--agent {spec}: {factory!r} has no act method and cannot be called without "
            f"arguments to make an agent ({error})"
        ) from None


def _resolve(spec: str) -> Any:
    path_part, _, attribute = spec.partition(":") if ".py" in spec else (spec, "", "")
    if path_part.endswith(".py"):
        path = Path(path_part)
        if not path.is_file():
            raise AgentLoadError(f"--agent {spec}: no file {path}")
        module_spec = importlib.util.spec_from_file_location(f"_agent_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as error:  # the user's file: report whatever it raised
            raise AgentLoadError(f"--agent {spec}: importing {path} raised {error!r}") from None
        name = attribute or "agent"
        if not hasattr(module, name):
            raise AgentLoadError(f"--agent {spec}: {path} defines no {name!r}")
        return getattr(module, name)
    if ":" in spec:
        module_name, attribute = spec.split(":", 1)
    elif "." in spec:
        module_name, attribute = spec.rsplit(".", 1)
    else:
        raise AgentLoadError(
            f"--agent {spec}: not a built-in agent ({', '.join(BUILT_IN)}), a module:attribute "
            "or a .py file"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise AgentLoadError(
            f"--agent {spec}: cannot import module {module_name!r} ({error})"
        ) from None
    if not hasattr(module, attribute):
        raise AgentLoadError(f"--agent {spec}: module {module_name!r} has no {attribute!r}")
    return getattr(module, attribute)


def agent_name(agent: Any, spec: str) -> str:
    return str(getattr(agent, "name", spec))


def fingerprint(agent: Any, spec: str) -> str:
    """sha256 of what makes the agent: its policy file, its Python file or its module's
    source; a built-in agent by name. A resumed run compares it with the earlier run's."""

    if spec in BUILT_IN:
        return f"built-in:{spec}"
    path = getattr(agent, "path", None)  # an OnnxAgent: its graph
    if path is None:
        file_part = spec.partition(":")[0] if ".py" in spec else ""
        if file_part.endswith(".py"):
            path = file_part
        else:
            module = spec.split(":", 1)[0] if ":" in spec else spec.rsplit(".", 1)[0]
            found = importlib.util.find_spec(module)
            path = found.origin if found is not None else None
    if path is None or not Path(path).is_file():
        return f"unhashed:{spec}"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def action_interface(agent: Any) -> str:
    """The interface the agent's actions are meant for; a ValueError for an unknown one."""
    return interfaces.check(str(getattr(agent, "action_interface", interfaces.DEFAULT)))


def is_controller(agent: Any) -> bool:
    return bool(getattr(agent, "is_controller", True))
