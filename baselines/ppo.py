"""PPO and DEP-PPO on the imitation tasks, readable top to bottom (in CleanRL's manner).

PPO: a diagonal Gaussian MLP policy and an MLP value function, environments in worker
processes with shared-memory buffers (`benchmark.vector`), a running observation
normaliser, GAE, the clipped surrogate, a value loss, gradient clipping and minibatches.
Settings follow Kinesis where a 2-core machine allows (gamma 0.99, GAE lambda 0.95, clip
0.2, no entropy bonus, SiLU, advantages normalised per batch); smaller networks (256, 256),
minibatches and one Adam (3e-4) instead of Kinesis's 51,200-step full-batch steps, so that
a run of a million steps learns on two cores.

DEP-PPO (DEP-RL's scheme on PPO): DEP (`baselines.dep`) drives every environment for the
first `warmup_steps`; after that, each environment starts a DEP intervention of
`intervention_length` steps with probability `intervention_proba` per step, and every
`test_episode_every`-th episode of an environment runs the policy alone. DEP keeps learning
throughout. `switching="deterministic"` instead alternates fixed blocks (DEP for
intervention_length steps, the policy for rl_length). DEP's actions enter the PPO update
according to `dep_actions`:
- "policy-logprob" (default): a DEP action is stored with its log-probability under the
  policy that was current when it was taken, so the ratio starts at 1 and is clipped as
  for the policy's own actions (an off-policy action treated as a sample of the policy);
- "exclude": DEP steps train the value function and feed GAE, but are left out of the
  policy loss (for ablation).
`dep_original=True` reproduces the reference (global switching and greedy-episode flag for
the whole batch, DEP not stepped in greedy episodes, the reference DEP and sensor).

Exact resumption: every iteration starts each environment from a fresh reset seeded by
(seed, iteration, environment), so the state between iterations is the checkpoint's (networks,
optimiser, normaliser, random generators, DEP); a run resumed from any checkpoint takes the
same steps as one that never stopped. A checkpoint is written after every iteration.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

CHECKPOINT_FORMAT = "crossmimic-ppo-checkpoint/1"
CURVE_COLUMNS = (
    "steps",
    "wall_s",
    "mpjpe_mm",
    "coverage",
    "success",
    "joint_rmse_rad",
    "activation_volume",
    "end_frames",  # per test clip, the frame its episode ended at
    "ended_by",  # per test clip, the keypoint farthest off when it terminated ("-": did not)
)


@dataclass
class TrainConfig:
    task: str = "legs80-walk"
    algo: str = "ppo"  # "ppo" or "dep-ppo"
    steps: int = 1_000_000  # environment steps in all
    seed: int = 0
    envs: int = 8  # parallel environments, one worker process each
    rollout: int = 256  # steps per environment per iteration
    epochs: int = 5
    minibatches: int = 8
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip: float = 0.2
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (256, 256)
    init_log_std: float = -0.5
    eval_every: int = 100_000  # steps between evaluations on the test clips
    # torch threads in the update, when the workers are idle; the rollout uses one, as its
    # policy passes run between the workers' steps and extra threads would take their cores
    threads: int = 2
    workers: int | None = None  # processes stepping the environments; None: one per core
    # DEP-PPO
    dep_preset: str | None = None  # None: `ostrich` for the ostrich, else `myosuite_legs`
    dep_warmup: int | None = None  # steps of DEP only; None: the preset's
    switching: str = "stochastic"  # or "deterministic"
    rl_length: int = 50  # policy steps between DEP blocks (deterministic switching)
    dep_actions: str = "policy-logprob"  # or "exclude"
    dep_original: bool = False
    # the environment (benchmark.interfaces, benchmark.env): how actions reach the muscles,
    # and how training episodes end (evaluation always ends them by protocol v1's rule)
    action_interface: str = "excitation"
    termination: str = "mean-error"  # or "any-keypoint" (Kinesis's training rule)
    termination_distance: float | None = None  # metres x size scale; None: the rule's default
    termination_curriculum: bool = False  # adapt the distance (`TerminationCurriculum`)

    def __post_init__(self) -> None:
        from benchmark.env import TERMINATION_RULES
        from benchmark.interfaces import INTERFACES

        self.hidden = tuple(self.hidden)
        checks = {
            "action_interface": (self.action_interface, tuple(INTERFACES)),
            "termination": (self.termination, tuple(TERMINATION_RULES)),
            "algo": (self.algo, ("ppo", "dep-ppo")),
            "switching": (self.switching, ("stochastic", "deterministic")),
            "dep_actions": (self.dep_actions, ("policy-logprob", "exclude")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if self.envs * self.rollout % self.minibatches:
            raise ValueError("envs x rollout must divide into the minibatches")
        if self.dep_preset is None:
            import morphologies
            from benchmark.tasks import get_task

            body = morphologies.get(get_task(self.task).morphology)
            self.dep_preset = "ostrich" if body.species == "ostrich" else "myosuite_legs"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


# -- networks --------------------------------------------------------------------------------
class RunningNorm(nn.Module):
    """Observation normaliser: running mean and variance over all observations seen."""

    def __init__(self, size: int, clip: float = 10.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("var", torch.ones(size, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))
        self.clip = clip

    def update(self, batch: torch.Tensor) -> None:
        # parallel-variance merge (Chan et al.) of the batch into the running moments
        batch = batch.to(torch.float64)
        mean, var, n = batch.mean(0), batch.var(0, unbiased=False), batch.shape[0]
        delta, total = mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scaled = (x - self.mean.float()) / torch.sqrt(self.var.float() + 1e-8)
        return torch.clamp(scaled, -self.clip, self.clip)


def _mlp(inputs: int, hidden: tuple[int, ...], outputs: int, last_gain: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(inputs, size), nn.SiLU()]
        inputs = size
    head = nn.Linear(inputs, outputs)
    nn.init.orthogonal_(head.weight, last_gain)
    nn.init.zeros_(head.bias)
    return nn.Sequential(*layers, head)


class ActorCritic(nn.Module):
    def __init__(self, observation_size: int, action_size: int, config: TrainConfig) -> None:
        super().__init__()
        self.norm = RunningNorm(observation_size)
        self.actor = _mlp(observation_size, config.hidden, action_size, 0.01)
        self.critic = _mlp(observation_size, config.hidden, 1, 1.0)
        self.log_std = nn.Parameter(torch.full((action_size,), config.init_log_std))

    def distribution(self, observation: torch.Tensor) -> torch.distributions.Normal:
        mean = self.actor(self.norm(observation))
        return torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))

    def value(self, observation: torch.Tensor) -> torch.Tensor:
        return self.critic(self.norm(observation)).squeeze(-1)


class DeterministicPolicy(nn.Module):
    """What is evaluated, exported and shipped: normaliser, policy mean, clip to [-1, 1]."""

    def __init__(self, model: ActorCritic) -> None:
        super().__init__()
        self.norm, self.actor = model.norm, model.actor

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.actor(self.norm(observation)), -1.0, 1.0)


class PolicyAgent:
    """A `benchmark run` agent around a deterministic policy."""

    def __init__(self, policy: nn.Module, name: str = "ppo") -> None:
        self.policy, self.name = policy.eval(), name

    def act(self, observation: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            action = self.policy(torch.as_tensor(observation, dtype=torch.float32)[None])
        return action[0].numpy()


# -- environments ----------------------------------------------------------------------------
def _make_env(config: TrainConfig):
    def make():
        from benchmark.env import ImitationEnv

        return ImitationEnv(
            config.task,
            split="train",
            action_interface=config.action_interface,
            termination=config.termination,
            termination_distance=config.termination_distance,
        )

    return make


def _reset_seeds(config: TrainConfig, iteration: int) -> list[int]:
    sequence = np.random.SeedSequence([config.seed, iteration])
    return [int(s) for s in sequence.generate_state(config.envs)]


# -- evaluation ------------------------------------------------------------------------------
def evaluate(policy: nn.Module, env: Any, task: str) -> tuple[dict[str, float], list[dict]]:
    """The protocol's evaluation of a deterministic policy on the env's clips (frame 0 each)."""
    from benchmark.metrics import EpisodeMetrics, task_summary
    from benchmark.runner import Job, run_episode

    agent = PolicyAgent(policy)
    agent.action_interface = env.action_interface
    records = [run_episode(agent, env, Job(task, 0, clip.name, "test")) for clip in env.clips]
    return task_summary([EpisodeMetrics.from_record(r) for r in records]), records


# -- checkpoints -----------------------------------------------------------------------------
class CheckpointError(ValueError):
    """A checkpoint that is corrupted or belongs to another task, body or model."""


def _read(path: Path, expected_format: str, what: str, task: str | None = None) -> dict:
    """A saved state, refused if damaged, of another format or task, or made on another
    body model than the installed one."""
    import morphologies
    from benchmark.tasks import get_task

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise CheckpointError(f"{path}: not a readable {what} ({error})") from None
    if not isinstance(state, dict) or state.get("format") != expected_format:
        raise CheckpointError(f"{path}: field 'format' is not {expected_format!r}")
    stored = state.pop("sha256", None)
    if stored is not None and stored != _digest(state):  # files before checksums have none
        raise CheckpointError(
            f"{path}: field 'sha256' does not match the contents: the file was damaged or "
            "edited after it was written"
        )
    if task is not None and state["task"] != get_task(task).id:
        raise CheckpointError(
            f"{path}: field 'task' is {state['task']!r}, expected {get_task(task).id!r}"
        )
    body = morphologies.get(get_task(state["task"]).morphology)
    if state["morphology"] != body.name or state["model_hash"] != body.model_hash:
        raise CheckpointError(
            f"{path}: fields 'morphology'/'model_hash' are {state['morphology']!r}/"
            f"{state['model_hash'][:12]}, the installed body is {body.name!r}/"
            f"{body.model_hash[:12]}"
        )
    return state


def load_checkpoint(path: Path, *, task: str | None = None) -> dict[str, Any]:
    """Read a checkpoint, refusing a corrupted one or one of another task or body model."""
    return _read(path, CHECKPOINT_FORMAT, "checkpoint", task)


def _digest(value: Any) -> str:
    """sha256 over a saved state's contents: every tensor's dtype, shape and bytes, and every
    other value's repr, in key order. torch.load restores them as they were saved, so
    a damaged or edited weight changes it."""
    import hashlib

    digest = hashlib.sha256()

    def walk(item: Any) -> None:
        if isinstance(item, torch.Tensor):
            tensor = item.detach().cpu().contiguous()
            digest.update(f"tensor {tensor.dtype} {tuple(tensor.shape)}".encode())
            digest.update(tensor.numpy().tobytes())
        elif isinstance(item, dict):
            for key in sorted(item, key=str):
                digest.update(f"key {key!r}".encode())
                walk(item[key])
        elif isinstance(item, list | tuple):
            digest.update(f"seq {len(item)}".encode())
            for element in item:
                walk(element)
        else:
            digest.update(repr(item).encode())

    walk(value)
    return digest.hexdigest()


def _save(path: Path, state: dict[str, Any]) -> None:
    partial = path.with_suffix(path.suffix + ".partial")
    state = {**state, "sha256": _digest(state)}
    torch.save(state, partial)
    os.replace(partial, path)  # a crash mid-write leaves the previous checkpoint whole


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    partial = path.with_suffix(".csv.partial")
    with open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows([{k: row.get(k, "") for k in columns} for row in rows])
    os.replace(partial, path)


def _write_curve(out: Path, curve: list[dict[str, float]]) -> None:
    _write_csv(out / "curve.csv", CURVE_COLUMNS, curve)
    (out / "curve.json.partial").write_text(json.dumps(curve, indent=1))
    os.replace(out / "curve.json.partial", out / "curve.json")


TRAINING_COLUMNS = (
    "iteration",
    "steps",
    "wall_s",
    "steps_per_s",
    "reward",  # mean reward per step
    "episodes",  # episodes that ended in the rollout (terminated or reached the clip's end)
    "terminated",  # the fraction of those the termination rule (or a divergence) ended
    "episode_steps",  # their mean length in steps
    "termination_distance",  # the training termination distance of the rollout (m x scale)
)


@dataclass
class TerminationCurriculum:
    """MuscleMimic's adaptive termination: the training termination distance shrinks by a
    factor 0.95 after 5 consecutive iterations in which fewer than 10 % of the rollout's
    episodes terminated, and grows back by 1 / 0.95 after 5 with more than 20 %; between
    `floor` (0.1 m) and the distance it started at. The episodes of a rollout are those that
    ended in it and those its end cut."""

    distance: float
    ceiling: float
    floor: float = 0.1
    calm: int = 0  # consecutive iterations under 10 %
    hard: int = 0  # consecutive iterations over 20 %

    def update(self, terminated_fraction: float) -> bool:
        """Count one iteration; True when the distance moved."""
        self.calm = self.calm + 1 if terminated_fraction < 0.10 else 0
        self.hard = self.hard + 1 if terminated_fraction > 0.20 else 0
        before = self.distance
        if self.calm >= 5:
            self.distance, self.calm = max(self.floor, self.distance * 0.95), 0
        elif self.hard >= 5:
            self.distance, self.hard = min(self.ceiling, self.distance / 0.95), 0
        return self.distance != before


def _iteration_row(
    iteration: int,
    step: int,
    wall: float,
    elapsed: float,
    batch: int,
    reward: float,
    ends: dict[str, list],
    keypoints: list[str],
    distance: float,
) -> dict[str, Any]:
    """One row of training.csv: what the rollout's episodes did, and which tracked keypoint
    was farthest off when the termination rule ended them (`ended_<keypoint>` counts)."""
    episodes = len(ends["steps"])
    row = {
        "iteration": iteration,
        "steps": step,
        "wall_s": round(wall, 1),
        "steps_per_s": round(batch / elapsed),
        "reward": round(reward, 4),
        "episodes": episodes,
        "terminated": round(sum(ends["terminated"]) / episodes, 4) if episodes else "",
        "episode_steps": round(float(np.mean(ends["steps"])), 1) if episodes else "",
        "termination_distance": round(distance, 4),
    }
    counts = np.bincount(np.asarray(ends["by"], dtype=int), minlength=len(keypoints))
    row.update({f"ended_{name}": int(n) for name, n in zip(keypoints, counts, strict=True)})
    return row


# -- DEP switching ---------------------------------------------------------------------------
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


def _dep_mask(
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


# -- the update ------------------------------------------------------------------------------
def update(
    model: ActorCritic,
    optimizer: torch.optim.Optimizer,
    flat: dict[str, torch.Tensor],
    config: TrainConfig,
) -> None:
    """PPO's clipped-surrogate update: `config.epochs` passes over the rollout in
    `config.minibatches` shuffled minibatches (`flat`: observation, action, logprob,
    advantage, return, policy_mask, one row per step)."""
    batch = len(flat["observation"])
    size = batch // config.minibatches
    for _ in range(config.epochs):
        order = torch.randperm(batch)
        for start in range(0, batch, size):
            index = order[start : start + size]
            mb = {k: v[index] for k, v in flat.items()}
            distribution = model.distribution(mb["observation"])
            log_ratio = distribution.log_prob(mb["action"]).sum(-1) - mb["logprob"]
            # a DEP action far from the policy can move its log-probability by tens in one
            # update; exp would overflow to inf and the gradient to NaN. Past e^20 the
            # clipped objective passes no gradient anyway.
            ratio = torch.clamp(log_ratio, -20.0, 20.0).exp()
            advantage = mb["advantage"]
            advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
            surrogate = torch.minimum(
                ratio * advantage,
                torch.clamp(ratio, 1 - config.clip, 1 + config.clip) * advantage,
            )
            mask = mb["policy_mask"].float()
            policy_loss = -(surrogate * mask).sum() / mask.sum().clamp(min=1.0)
            value_loss = 0.5 * (model.value(mb["observation"]) - mb["return"]).pow(2)
            loss = policy_loss + config.value_coef * value_loss.mean()
            if not torch.isfinite(loss):
                raise FloatingPointError("non-finite loss in the update")
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()


# -- training --------------------------------------------------------------------------------
def train(config: TrainConfig, out: Path, *, resume: bool = False, progress: bool = True) -> dict:
    """Train, evaluate every `eval_every` steps, save the final policy; returns the final
    evaluation summary. Writes into `out`: config.json, checkpoint.pt (every iteration),
    training.csv (every iteration: episode lengths, terminations and the keypoints that ended
    them), curve.csv and curve.json (every evaluation), final.json, policy.pt and
    policy.onnx."""
    from tqdm import tqdm

    import morphologies
    from baselines.dep import DEP, MuscleSensor, preset
    from benchmark.env import ImitationEnv, resolve_termination_distance
    from benchmark.tasks import get_task
    from benchmark.vector import SharedMemoryVectorEnv

    task = get_task(config.task)
    body = morphologies.get(task.morphology)
    out = Path(out)
    checkpoint_path = out / "checkpoint.pt"
    if checkpoint_path.exists() and not resume:
        raise FileExistsError(f"{out} holds a run already; pass --resume to continue it")
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # the rollout's; `update` takes config.threads
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)

    eval_env = ImitationEnv(
        task.id, split="test", evaluation=True, action_interface=config.action_interface
    )
    observation_size, action_size = eval_env.observation_size, eval_env.action_space.shape[0]
    model = ActorCritic(observation_size, action_size, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, eps=1e-5)
    params = preset(config.dep_preset)
    dep = sensor = switching = None
    if config.algo == "dep-ppo":
        dep = DEP(params, config.envs, action_size, original=config.dep_original)
        sensor = MuscleSensor(
            eval_env.muscle_slice,
            action_size,
            params.force_scale,
            original=config.dep_original,
            length_low=eval_env.length_low,
            length_span=eval_env.length_span,
            peak_force=eval_env.peak_force,
        )
        switching = Switching(config.envs)

    iteration, step, wall, curve, log = 0, 0, 0.0, [], []
    distance = resolve_termination_distance(config.termination, config.termination_distance)
    curriculum = (
        TerminationCurriculum(distance, distance) if config.termination_curriculum else None
    )
    if resume and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, task=task.id)
        saved = TrainConfig.from_dict(state["config"])
        compared = ("algo", "seed", "envs", "rollout", "hidden", "dep_preset", "dep_original")
        compared += ("action_interface", "termination", "termination_distance")
        compared += ("termination_curriculum",)
        for name in compared:
            if getattr(saved, name) != getattr(config, name):
                raise CheckpointError(
                    f"{checkpoint_path}: field 'config.{name}' is {getattr(saved, name)!r}, "
                    f"this run asks for {getattr(config, name)!r}"
                )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = state["numpy_rng"]
        iteration, step, wall, curve, log = (
            state["iteration"],
            state["step"],
            state["wall_s"],
            state["curve"],
            state["training_log"],
        )
        if curriculum is not None:
            curriculum = TerminationCurriculum(**state["curriculum"])
        if dep is not None:
            dep.load_state_dict(state["dep"])
            extrema = state["sensor_extrema"]
            sensor.extrema = None if extrema is None else extrema.numpy().copy()
            switching.left = np.array(state["switching"]["left"], dtype=np.int64)
            switching.episodes = np.array(state["switching"]["episodes"], dtype=np.int64)
            switching.since_switch = state["switching"]["since_switch"]
            switching.episodes_done = state["switching"]["episodes_done"]
    header = {
        "config": asdict(config),
        "task": task.id,
        "morphology": body.name,
        "model_hash": body.model_hash,
        "protocol": task.protocol,
        "observation_size": observation_size,
        "action_size": action_size,
        "action_interface": config.action_interface,
        "training_termination": {
            "rule": config.termination,
            "distance_m": distance,
            "curriculum": config.termination_curriculum,
        },
    }
    (out / "config.json").write_text(json.dumps(header, indent=1))

    def checkpoint() -> None:
        state = {
            "format": CHECKPOINT_FORMAT,
            **{k: header[k] for k in ("task", "morphology", "model_hash", "config")},
            "iteration": iteration,
            "step": step,
            "wall_s": wall,
            "curve": curve,
            "training_log": log,
            "curriculum": None if curriculum is None else asdict(curriculum),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": rng.bit_generator.state,
        }
        if dep is not None:  # numpy arrays as lists and tensors: weights-only loading
            state["dep"] = dep.state_dict()
            extrema = sensor.extrema
            state["sensor_extrema"] = None if extrema is None else torch.from_numpy(extrema)
            state["switching"] = {
                "left": switching.left.tolist(),
                "episodes": switching.episodes.tolist(),
                "since_switch": switching.since_switch,
                "episodes_done": switching.episodes_done,
            }
        _save(checkpoint_path, state)

    def record_evaluation() -> tuple[dict[str, float], list[dict]]:
        summary, records = evaluate(DeterministicPolicy(model), eval_env, task.id)
        row = {"steps": step, "wall_s": round(wall, 1)}
        row.update({k: summary[k] for k in CURVE_COLUMNS if k in summary})
        row["end_frames"] = ";".join(str(r["steps"]) for r in records)
        row["ended_by"] = ";".join(r["ended_by"] or "-" for r in records)
        curve.append(row)
        _write_curve(out, curve)
        return summary, records

    if not curve:
        record_evaluation()
        checkpoint()
    envs = SharedMemoryVectorEnv(
        _make_env(config),
        config.envs,
        workers=config.workers,
        info_keys=("episode_steps", "ended_by"),
    )
    training_columns = TRAINING_COLUMNS + tuple(f"ended_{k}" for k in eval_env.tracked)
    if curriculum is not None:
        envs.set_attr("termination_distance", curriculum.distance)
    batch = config.envs * config.rollout
    bar = tqdm(total=config.steps, initial=step, unit="step", disable=not progress)
    bar.set_postfix(test_mpjpe_mm=round(curve[-1]["mpjpe_mm"], 1))
    try:
        while step < config.steps:
            started = time.perf_counter()
            observations = torch.zeros(config.rollout, config.envs, observation_size)
            actions = torch.zeros(config.rollout, config.envs, action_size)
            logprobs = torch.zeros(config.rollout, config.envs)
            rewards = torch.zeros(config.rollout, config.envs)
            ended = torch.zeros(config.rollout, config.envs)  # terminated: no bootstrap
            from_dep = torch.zeros(config.rollout, config.envs, dtype=torch.bool)
            values = torch.zeros(config.rollout, config.envs)
            observation, _ = envs.reset(seed=_reset_seeds(config, iteration))
            ends: dict[str, list] = {"steps": [], "terminated": [], "by": []}
            reward_sum = 0.0
            if dep is not None:
                dep.end_episodes(np.ones(config.envs, bool))
                if iteration > 0:  # every environment begins a new episode
                    switching.episodes += 1
            for t in range(config.rollout):
                current = torch.as_tensor(observation, dtype=torch.float32)
                with torch.no_grad():
                    distribution = model.distribution(current)
                    action = distribution.sample()
                if dep is not None:
                    acting, stepped = _dep_mask(switching, config, params, step, rng)
                    if stepped.any():
                        dep_action = dep.step(torch.as_tensor(sensor(observation)))
                        action[acting] = dep_action[acting].to(action.dtype)
                    from_dep[t] = torch.as_tensor(acting)
                envs.step_async(action.numpy())
                with torch.no_grad():  # while the workers step
                    values[t] = model.value(current)
                    logprobs[t] = distribution.log_prob(action).sum(-1)
                observation, reward, terminated, truncated, info = envs.step_wait()
                reward_sum += float(reward.sum())
                reward = torch.as_tensor(reward, dtype=torch.float32)
                cut = truncated & ~terminated
                if cut.any():  # a clip's end is a time limit: bootstrap from its last state
                    final = np.stack([info["final_obs"][i] for i in np.flatnonzero(cut)])
                    with torch.no_grad():
                        final_value = model.value(torch.as_tensor(final, dtype=torch.float32))
                    reward[torch.as_tensor(cut)] += config.gamma * final_value
                observations[t], actions[t], rewards[t] = current, action, reward
                ended[t] = torch.as_tensor(terminated | truncated, dtype=torch.float32)
                done = terminated | truncated
                for i in np.flatnonzero(done):
                    ends["steps"].append(info["episode_steps"][i])
                    ends["terminated"].append(bool(terminated[i]))
                    if info["ended_by"][i] >= 0:
                        ends["by"].append(int(info["ended_by"][i]))
                if dep is not None and done.any():
                    switching.episodes += done
                    switching.episodes_done += int(done.sum())
                    dep.end_episodes(done)
                step += config.envs

            # GAE over the rollout; `ended` stops the recursion at episode ends
            with torch.no_grad():
                next_value = model.value(torch.as_tensor(observation, dtype=torch.float32))
            advantages = torch.zeros_like(rewards)
            running = torch.zeros(config.envs)
            for t in reversed(range(config.rollout)):
                following = next_value if t == config.rollout - 1 else values[t + 1]
                alive = 1.0 - ended[t]
                delta = rewards[t] + config.gamma * following * alive - values[t]
                running = delta + config.gamma * config.gae_lambda * alive * running
                advantages[t] = running
            returns = advantages + values

            flat = {
                "observation": observations.reshape(batch, observation_size),
                "action": actions.reshape(batch, action_size),
                "logprob": logprobs.reshape(batch),
                "advantage": advantages.reshape(batch),
                "return": returns.reshape(batch),
                "policy_mask": (
                    ~from_dep.reshape(batch)
                    if config.dep_actions == "exclude"
                    else torch.ones(batch, dtype=torch.bool)
                ),
            }
            try:
                torch.set_num_threads(config.threads)
                update(model, optimizer, flat, config)
            except FloatingPointError as error:
                raise FloatingPointError(
                    f"{error} after step {step}; {checkpoint_path} holds the last good state"
                ) from None
            finally:
                torch.set_num_threads(1)
            # the normaliser moves after the update, so the update saw the rollout's scaling
            model.norm.update(flat["observation"])
            iteration += 1
            elapsed = time.perf_counter() - started
            wall += elapsed
            bar.update(batch)
            rollout_distance = distance if curriculum is None else curriculum.distance
            row = _iteration_row(
                iteration,
                step,
                wall,
                elapsed,
                batch,
                reward_sum / batch,
                ends,
                eval_env.tracked,
                rollout_distance,
            )
            log.append(row)
            if curriculum is not None:
                run = len(ends["steps"]) + config.envs  # ended, and cut by the rollout's end
                if curriculum.update(sum(ends["terminated"]) / run):
                    envs.set_attr("termination_distance", curriculum.distance)
            _write_csv(out / "training.csv", training_columns, log)
            if step // config.eval_every > (step - batch) // config.eval_every:
                record_evaluation()
            bar.set_postfix(
                steps_per_s=round(batch / elapsed), test_mpjpe_mm=round(curve[-1]["mpjpe_mm"], 1)
            )
            checkpoint()
    finally:
        bar.close()
        envs.close()

    policy = DeterministicPolicy(model)
    if curve[-1]["steps"] != step:
        summary, records = record_evaluation()
        checkpoint()
    else:
        summary, records = evaluate(policy, eval_env, task.id)
    final = {**header, "steps": step, "wall_s": round(wall, 1), "summary": summary}
    final["episodes"] = records
    final["steps_per_s"] = round(step / wall, 1) if wall else math.nan
    (out / "final.json").write_text(json.dumps(final, indent=1))
    save_policy(policy, out, header)
    return final


# -- the trained policy ----------------------------------------------------------------------
POLICY_FORMAT = "crossmimic-policy/1"


def save_policy(policy: DeterministicPolicy, out: Path, header: dict[str, Any]) -> None:
    """policy.pt (weights and what they are for) and policy.onnx (normaliser in the graph)."""
    import warnings

    names = ("task", "morphology", "model_hash", "observation_size", "action_size")
    meta = {k: header[k] for k in names}
    meta["action_interface"] = header["action_interface"]
    meta["hidden"] = list(header["config"]["hidden"])
    state = {"format": POLICY_FORMAT, **meta, "policy": policy.state_dict()}
    _save(out / "policy.pt", state)
    example = torch.zeros(1, header["observation_size"])
    with warnings.catch_warnings():
        # torch 2.9+ prefers its torch.export-based exporter, which needs onnxscript; the
        # TorchScript exporter handles this plain MLP and is kept for that reason
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            policy.eval(),
            (example,),
            str(out / "policy.onnx.partial"),
            dynamo=False,
            input_names=["observation"],
            output_names=["action"],
            dynamic_axes={"observation": {0: "batch"}, "action": {0: "batch"}},
        )
    import onnx

    graph = onnx.load(str(out / "policy.onnx.partial"))
    # read by benchmark.agents.OnnxAgent, so the policy acts through the interface it learned
    onnx.helper.set_model_props(graph, {"action_interface": meta["action_interface"]})
    onnx.save(graph, str(out / "policy.onnx.partial"))
    os.replace(out / "policy.onnx.partial", out / "policy.onnx")


def load_policy(path: Path) -> tuple[DeterministicPolicy, dict[str, Any]]:
    """A saved policy.pt, refused if corrupted or made for another body model."""
    state = _read(path, POLICY_FORMAT, "policy file")
    state.setdefault("action_interface", "excitation")  # files made before interfaces existed
    config = TrainConfig(hidden=tuple(state["hidden"]))
    model = ActorCritic(state["observation_size"], state["action_size"], config)
    policy = DeterministicPolicy(model)
    policy.load_state_dict(state["policy"])
    return policy.eval(), state
