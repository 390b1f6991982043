"""DEP-PPO's exploration (DEP-RL's scheme on PPO; `baselines.ppo`'s docstring says when DEP
acts and how its actions enter the update): DEP (`baselines.dep`), its muscle sensor, and
which environments DEP drives at each step, with the state a checkpoint keeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from baselines.config import TrainConfig
from baselines.dep import DEP, DEPParams, MuscleSensor, preset


def dep_params(config: TrainConfig) -> DEPParams:
    """The run's DEP: its preset, with the intervention probability and length the run sets
    (the warm-up is `config.dep_warmup`'s, read where it is used)."""
    changes = {
        "intervention_proba": config.dep_intervention_proba,
        "intervention_length": config.dep_intervention_length,
    }
    params = preset(config.dep_preset)
    return replace(params, **{k: v for k, v in changes.items() if v is not None})


@dataclass
class Switching:
    """Which environments DEP drives this step (see the module docstring)."""

    envs: int
    left: np.ndarray = field(init=False)  # DEP steps left in each env's intervention
    episodes: np.ndarray = field(init=False)  # episodes begun per env
    since_switch: int = 500  # original: one counter for the batch (policy acts first)
    episodes_done: int = 0  # original: finished episodes over all envs

    def __post_init__(self) -> None:
        self.left = np.zeros(self.envs, dtype=np.int64)
        self.episodes = np.ones(self.envs, dtype=np.int64)


def dep_mask(
    switching: Switching, config: TrainConfig, params: Any, step: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(DEP acts, DEP is stepped) per environment for this step."""
    envs, every = config.envs, params.test_episode_every
    warmup = params.warmup_steps if config.dep_warmup is None else config.dep_warmup
    if step < warmup:
        return np.ones(envs, bool), np.ones(envs, bool)
    if config.dep_original:  # one decision for the whole batch, as the reference
        if switching.episodes_done % every == 0:  # greedy: policy only, DEP not stepped
            return np.zeros(envs, bool), np.zeros(envs, bool)
        acting = switching.since_switch <= params.intervention_length
        if not acting and rng.random() < params.intervention_proba:
            switching.since_switch = 0
        switching.since_switch += 1
        return np.full(envs, acting), np.ones(envs, bool)
    greedy = switching.episodes % every == 0
    if config.switching == "deterministic":
        period = params.intervention_length + config.rl_length
        phase = (step // envs + np.arange(envs)) % period
        return (phase < params.intervention_length) & ~greedy, np.ones(envs, bool)
    start = (switching.left == 0) & (rng.random(envs) < params.intervention_proba)
    switching.left[start] = params.intervention_length
    acting = (switching.left > 0) & ~greedy
    switching.left[switching.left > 0] -= 1
    return acting, np.ones(envs, bool)


class DepExploration:
    """DEP beside the policy in `config.envs` environments: `act` replaces the policy's
    actions where DEP drives this step; `state_dict` is what a checkpoint keeps of it."""

    def __init__(
        self, config: TrainConfig, params: DEPParams, action_size: int, readings: Callable
    ) -> None:
        """`readings`: the environment's `muscle_readings`, DEP's sensor input."""
        self.config, self.params = config, params
        self.dep = DEP(params, config.envs, action_size, original=config.dep_original)
        self.sensor = MuscleSensor(readings, params.force_scale, original=config.dep_original)
        self.switching = Switching(config.envs)

    def begin_rollout(self, iteration: int) -> None:
        """Every environment begins a new episode at a rollout's start."""
        self.dep.end_episodes(np.ones(self.config.envs, bool))
        if iteration > 0:
            self.switching.episodes += 1

    def act(
        self, action: torch.Tensor, observation: np.ndarray, step: int, rng: np.random.Generator
    ) -> torch.Tensor:
        """Put DEP's actions into `action` (in place) where DEP drives; returns that mask."""
        acting, stepped = dep_mask(self.switching, self.config, self.params, step, rng)
        if stepped.any():
            dep_action = self.dep.step(torch.as_tensor(self.sensor(observation)))
            action[acting] = dep_action[acting].to(action.dtype)
        return torch.as_tensor(acting)

    def end_episodes(self, done: np.ndarray) -> None:
        if done.any():
            self.switching.episodes += done
            self.switching.episodes_done += int(done.sum())
            self.dep.end_episodes(done)

    def state_dict(self) -> dict[str, Any]:
        """Numpy arrays as lists and tensors, so that checkpoints load weights-only."""
        extrema = self.sensor.extrema
        switching = self.switching
        return {
            "dep": self.dep.state_dict(),
            "sensor_extrema": None if extrema is None else torch.from_numpy(extrema),
            "switching": {
                "left": switching.left.tolist(),
                "episodes": switching.episodes.tolist(),
                "since_switch": switching.since_switch,
                "episodes_done": switching.episodes_done,
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dep.load_state_dict(state["dep"])
        extrema = state["sensor_extrema"]
        self.sensor.extrema = None if extrema is None else extrema.numpy().copy()
        saved = state["switching"]
        self.switching.left = np.array(saved["left"], dtype=np.int64)
        self.switching.episodes = np.array(saved["episodes"], dtype=np.int64)
        self.switching.since_switch = saved["since_switch"]
        self.switching.episodes_done = saved["episodes_done"]


def policy_mask(
    from_dep: torch.Tensor, config: TrainConfig, params: Any, first_step: int
) -> torch.Tensor:
    """Which of a rollout's (steps, envs) samples enter the policy loss, flattened, by
    `config.dep_actions` (see `baselines.ppo`); `first_step`: the run's step count when
    the rollout began."""
    steps, envs = from_dep.shape
    if config.dep_actions == "exclude":
        return ~from_dep.reshape(-1)
    if config.dep_actions == "exclude-warmup":
        warmup = params.warmup_steps if config.dep_warmup is None else config.dep_warmup
        in_warmup = first_step + torch.arange(steps) * envs < warmup
        return ~(from_dep & in_warmup[:, None]).reshape(-1)
    return torch.ones(steps * envs, dtype=torch.bool)
