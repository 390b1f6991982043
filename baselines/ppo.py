"""PPO and DEP-PPO on the imitation tasks, readable top to bottom (in CleanRL's manner).

PPO: a Gaussian MLP policy (diagonal or Lattice noise) and an MLP value function,
environments in worker processes with shared-memory buffers (`benchmark.vector`), a running
observation normaliser, GAE, the clipped surrogate (optionally dual-clipped), a value loss,
gradient clipping and minibatches.
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
  policy loss (for ablation);
- "exclude-warmup": the warm-up's DEP steps are left out so, the interventions after it
  enter as with "policy-logprob". DEP's output is nearly bang-bang, and a warm-up of
  policy-logprob steps clones it into the policy's mean (docs/results.md).
`dep_original=True` reproduces the reference (global switching and greedy-episode flag for
the whole batch, DEP not stepped in greedy episodes, the reference DEP and sensor).

Exact resumption: every iteration starts each environment from a fresh reset seeded by
(seed, iteration, environment), so the state between iterations is the checkpoint's (networks,
optimiser, normaliser, random generators, DEP); a run resumed from any checkpoint takes the
same steps as one that never stopped. A checkpoint is written after every iteration.

Overlap (`config.overlap`, PPO on the CPU): the next rollout is collected in a thread, with
a copy of the policy taken before the update, while the learner updates on the rollout just
collected (`Sampler`): each rollout's policy is one update old, and the ratio is taken
against its stored log-probabilities as always, or with `config.proximal="learner"` against
the learner's policy as the update starts (`decoupled`). Off, the run is the serial one to
the bit.

About 550 lines on purpose, as CleanRL's files: the algorithm read top to bottom in one file.
The pieces beside it: the settings (`baselines.config`), the networks (`baselines.networks`),
DEP-PPO's exploration (`baselines.dep_ppo`) and the run folder's files
(`baselines.run_files`).
"""

from __future__ import annotations

import copy
import math
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from baselines.config import TrainConfig
from baselines.dep_ppo import DepExploration, dep_params, policy_mask
from baselines.networks import ActorCritic, DeterministicPolicy
from baselines.run_files import (
    CHECKPOINT_FORMAT,
    CURVE_COLUMNS,
    TRAINING_COLUMNS,
    CheckpointError,
    evaluated_dir,
    iteration_row,
    load_checkpoint,
    save_policy,
    save_state,
    write_csv,
    write_curve,
)
from benchmark.agents import OnnxAgent
from benchmark.env import ImitationEnv, resolve_termination_distance
from benchmark.episode import Job, run_episode
from benchmark.metrics import EpisodeMetrics, task_summary
from benchmark.tasks import get_task, suite_hash
from benchmark.vector import SharedMemoryVectorEnv
from retargeting.files import atomic_path, write_json


# -- environments ----------------------------------------------------------------------------
def _make_env(config: TrainConfig):
    def make():

        return ImitationEnv(
            config.task,
            split="train",
            action_interface=config.action_interface,
            termination=config.termination,
            termination_distance=config.termination_distance,
            termination_tilt=config.termination_tilt,
            pose_reward=config.pose_reward,
            assist=config.assist_at(0),
        )

    return make


MJX_INSTALL = (
    "--backend mjx needs JAX and MuJoCo's MJX: pip install -e '.[gpu]' (on an NVIDIA GPU "
    "also pip install 'jax[cuda12]'); docs/gpu.md"
)


def _mjx_env() -> Any:
    """benchmark.mjx_env, or an ImportError that says how to install it."""
    try:
        from benchmark import mjx_env  # noqa: PLC0415 (optional: the gpu extra)
    except ImportError as error:
        raise ImportError(f"{MJX_INSTALL} ({error})") from None
    return mjx_env


def _vector_env(config: TrainConfig) -> Any:
    """The training environments: worker processes on the CPU, or worlds on the JAX device."""
    if config.backend == "cpu":
        return SharedMemoryVectorEnv(
            _make_env(config),
            config.envs,
            workers=config.workers,
            info_keys=("episode_steps", "ended_by"),
        )
    return _mjx_env().MjxVectorEnv(
        config.task,
        config.envs,
        action_interface=config.action_interface,
        termination=config.termination,
        termination_distance=config.termination_distance,
    )


def _reset_seeds(config: TrainConfig, iteration: int) -> list[int]:
    sequence = np.random.SeedSequence([config.seed, iteration])
    return [int(s) for s in sequence.generate_state(config.envs)]


# -- evaluation ------------------------------------------------------------------------------
def evaluate(policy_file: Path, env: Any, task: str) -> tuple[dict[str, float], list[dict]]:
    """The protocol's evaluation of an exported policy on the env's clips (frame 0 each).

    Through the ONNX file, as `benchmark run --agent FILE` acts: PyTorch and onnxruntime
    round differently, and over hundreds of frames of contact the difference can move an
    episode's end, so a curve evaluated in PyTorch would not be what its file replays."""

    agent = OnnxAgent(policy_file)  # acts through the interface its metadata names (the run's)
    records = [run_episode(agent, env, Job(task, 0, clip.name, "test")) for clip in env.clips]
    return task_summary([EpisodeMetrics.from_record(r) for r in records]), records


# -- training termination ----------------------------------------------------------------------
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


# -- the rollout -----------------------------------------------------------------------------
@dataclass
class Rollout:
    """One iteration's experience, (steps, envs, ...) each, and what its episodes did."""

    observations: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    means: torch.Tensor  # the policy's mean action: with `scale`, the rollout's policy
    scale: torch.Tensor  # the policy's noise as it collected (`ActorCritic.scale`)
    rewards: torch.Tensor
    ended: torch.Tensor  # an episode ended at this step (terminated or cut): no bootstrap
    from_dep: torch.Tensor
    values: torch.Tensor
    last_observation: np.ndarray
    ends: dict[str, list]  # per ended episode: its steps, whether terminated, which keypoint
    reward_sum: float


def collect(
    model: ActorCritic,
    envs: Any,
    config: TrainConfig,
    iteration: int,
    step: int,
    exploration: DepExploration | None,
    rng: np.random.Generator,
) -> Rollout:
    """`config.rollout` steps of every environment, each from a fresh reset seeded by (seed,
    iteration, environment); the policy samples its actions (DEP replaces some in DEP-PPO)."""
    shape = (config.rollout, config.envs)
    observation_size = envs.single_observation_space.shape[0]
    action_size = envs.single_action_space.shape[0]
    observations = torch.zeros(*shape, observation_size)
    actions, means = torch.zeros(*shape, action_size), torch.zeros(*shape, action_size)
    with torch.no_grad():
        scale = model.scale()
    logprobs, rewards, ended = torch.zeros(shape), torch.zeros(shape), torch.zeros(shape)
    from_dep = torch.zeros(shape, dtype=torch.bool)
    values = torch.zeros(shape)
    observation, _ = envs.reset(seed=_reset_seeds(config, iteration))
    ends: dict[str, list] = {"steps": [], "terminated": [], "by": []}
    reward_sum = 0.0
    if exploration is not None:
        exploration.begin_rollout(iteration)
    for t in range(config.rollout):
        current = torch.as_tensor(observation, dtype=torch.float32)
        with torch.no_grad():
            distribution = model.distribution(current)
            action = distribution.sample()
        if exploration is not None:
            from_dep[t] = exploration.act(action, observation, step, rng)
        envs.step_async(action.numpy())
        with torch.no_grad():  # while the workers step
            values[t] = model.value(current)
            logprobs[t] = distribution.log_prob(action)
            means[t] = distribution.mean
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
        if exploration is not None:
            exploration.end_episodes(done)
        step += config.envs
    return Rollout(
        observations,
        actions,
        logprobs,
        means,
        scale,
        rewards,
        ended,
        from_dep,
        values,
        observation,
        ends,
        reward_sum,
    )


def advantages_and_returns(
    rollout: Rollout, next_value: torch.Tensor, config: TrainConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over the rollout; an episode's end stops the recursion."""
    rewards, values, ended = rollout.rewards, rollout.values, rollout.ended
    advantages = torch.zeros_like(rewards)
    running = torch.zeros(config.envs)
    for t in reversed(range(config.rollout)):
        following = next_value if t == config.rollout - 1 else values[t + 1]
        alive = 1.0 - ended[t]
        delta = rewards[t] + config.gamma * following * alive - values[t]
        running = delta + config.gamma * config.gae_lambda * alive * running
        advantages[t] = running
    return advantages, advantages + values


# -- the update ------------------------------------------------------------------------------
def _optimizer(model: ActorCritic, config: TrainConfig) -> torch.optim.Adam:
    """One Adam at `learning_rate`; with `policy_learning_rate`, the actor and its log-std
    in a group of their own at that rate (Kinesis trains its policy at 5e-5, its value
    function at 3e-4)."""
    if config.policy_learning_rate is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, eps=1e-5)
    else:
        actor = [*model.actor.parameters(), model.log_std]
        groups = [
            {"params": actor, "lr": config.policy_learning_rate},
            {"params": list(model.critic.parameters())},
        ]
        optimizer = torch.optim.Adam(groups, lr=config.learning_rate, eps=1e-5)
    for group in optimizer.param_groups:  # torch's schedulers' key: the rate a schedule scales
        group["initial_lr"] = group["lr"]
    return optimizer


def anneal_learning_rate(optimizer: torch.optim.Optimizer, fraction_done: float) -> None:
    """CleanRL's linear schedule (`config.anneal_lr`): each rate at its setting times the
    fraction of the run still ahead."""
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * (1.0 - fraction_done)


def update(
    model: ActorCritic,
    optimizer: torch.optim.Optimizer,
    flat: dict[str, torch.Tensor],
    scale: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """PPO's clipped-surrogate update: `config.epochs` passes over the rollout in
    `config.minibatches` shuffled minibatches (`flat`: observation, action, logprob, mean,
    advantage, return, policy_mask, one row per step; `scale`: the rollout policy's noise).
    The KL from the rollout's policy is the exact one between the two Gaussians, averaged
    over the minibatch's states (as rsl_rl measures it): the sampled estimate from the
    actions' log-ratios (k3) is heavy-tailed, and with 80 actions one update's estimate
    ran tens of times the exact value. With `config.target_kl`, the update stops before a
    minibatch whose KL exceeds 1.5 x the target (Stable-Baselines3's rule), or with
    `target_kl_stops="actor"` the policy's steps stop and the value function takes the rest
    (the actor's gradients are then None, so Adam leaves it, momentum and all, where it
    stopped); `config.adaptive_kl` moves the learning rates with the KL while the policy
    moves. The KL is measured only where one of them asks for it. Returns the KL of
    the updated policy over the whole rollout, the mean fraction of the policy's samples
    outside the clip range, and the policy's minibatch steps. `generator` shuffles the
    minibatches (None: torch's global one). With `config.proximal="learner"` the clip, the
    KL and the clip fraction are taken against the learner's policy as the update starts
    (`decoupled`)."""
    if config.proximal == "learner":
        flat, scale = decoupled(model, flat)
    batch = len(flat["observation"])
    size = batch // config.minibatches
    clipped, steps, acting = [], 0, True
    measure_kl = config.target_kl is not None or config.adaptive_kl is not None
    for _ in range(config.epochs):
        order = torch.randperm(batch, generator=generator)
        for start in range(0, batch, size):
            index = order[start : start + size]
            mb = {k: v[index] for k, v in flat.items()}
            loss = config.value_coef * model.value_loss(mb["observation"], mb["return"]).mean()
            if acting:  # once the actor stops, only the value function's loss is computed
                distribution = model.distribution(mb["observation"])
                # a DEP action far from the policy can move its log-probability by tens in
                # one update; exp would overflow to inf and the gradient to NaN. Past e^20
                # the clipped objective passes no gradient anyway.
                log_ratio = torch.clamp(
                    distribution.log_prob(mb["action"]) - mb["logprob"], -20.0, 20.0
                )
                ratio = log_ratio.exp()
                own = mb["policy_mask"].float()  # the clip fraction of the policy's samples
                outside = ((ratio.detach() - 1).abs() > config.clip).float()
                clipped.append(float((outside * own).sum() / own.sum().clamp(min=1.0)))
                if measure_kl:
                    with torch.no_grad():
                        kl = _kl(model, mb["mean"], scale, distribution)
                    if config.target_kl is not None and kl > 1.5 * config.target_kl:
                        if config.target_kl_stops == "update":
                            return _update_stats(model, flat, scale, clipped, steps, optimizer)
                        acting = False
                    if config.adaptive_kl is not None:
                        adapt_learning_rate(optimizer, kl, config.adaptive_kl)
            if acting:
                advantage = mb["advantage"]
                advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                surrogate = clipped_surrogate(ratio, advantage, config.clip, config.dual_clip)
                if "weight" in mb:  # the decoupled objective's off-policy correction
                    surrogate = surrogate * mb["weight"]
                loss = loss - (surrogate * own).sum() / own.sum().clamp(min=1.0)
            if not torch.isfinite(loss):
                raise FloatingPointError("non-finite loss in the update")
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            steps += acting
    return _update_stats(model, flat, scale, clipped, steps, optimizer)


def decoupled(
    model: ActorCritic, flat: dict[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Hilton et al. 2022's decoupled objective, for overlap's rollouts of a policy one update
    old: PPO's clip bounds how far an update moves the policy, so it is taken against the
    proximal policy (the learner's as the update starts), and the off-policy correction is a
    weight per sample, proximal / behaviour probability, truncated at 1 as V-trace truncates
    its weights (Espeholt et al. 2018): consecutive policies here lie KLs of 1-2 apart, and
    untruncated weights would let a few samples carry the update (docs/speed.md). Returns
    the batch with the proximal log-probabilities, means and weights, and the proximal
    policy's noise."""
    with torch.no_grad():
        proximal = model.distribution(flat["observation"])
        logprob = proximal.log_prob(flat["action"])
        weight = torch.exp(torch.clamp(logprob - flat["logprob"], max=0.0))
        changed = {"logprob": logprob, "mean": proximal.mean, "weight": weight}
        return {**flat, **changed}, model.scale()


def _kl(
    model: ActorCritic,
    mean: torch.Tensor,
    scale: torch.Tensor,
    distribution: torch.distributions.Distribution,
) -> float:
    """The mean KL(rollout's policy || `distribution`) over the states of `mean`'s rows."""
    before = model.distribution_at(mean, scale)
    return float(torch.distributions.kl_divergence(before, distribution).mean())


LEARNING_RATE_BOUNDS = (1e-5, 1e-2)


def adapt_learning_rate(optimizer: torch.optim.Optimizer, kl: float, desired: float) -> None:
    """rsl_rl's adaptive schedule (the one MyoSuite's leg walking trains with): every
    learning rate falls by 1.5x when the KL from the rollout's policy exceeds twice the
    desired one and rises by 1.5x below half of it. With 80 actions a fixed rate moved the
    policy by KLs of 1-20 per update late in training (docs/results.md)."""
    factor = 1 / 1.5 if kl > 2 * desired else 1.5 if kl < desired / 2 else 1.0
    low, high = LEARNING_RATE_BOUNDS
    for group in optimizer.param_groups:
        group["lr"] = min(high, max(low, group["lr"] * factor))


def clipped_surrogate(
    ratio: torch.Tensor, advantage: torch.Tensor, clip: float, dual_clip: float | None
) -> torch.Tensor:
    """PPO's clipped objective per sample. With a negative advantage it is not bounded as
    the ratio grows: an action far in the policy's tail (a DEP action in the loss) can take
    a ratio of e^20 and its gradient with it. `dual_clip` c bounds it below by c x advantage
    (Ye et al. 2020, dual-clip PPO)."""
    surrogate = torch.minimum(ratio * advantage, torch.clamp(ratio, 1 - clip, 1 + clip) * advantage)
    if dual_clip is None:
        return surrogate
    return torch.where(advantage < 0, torch.maximum(surrogate, dual_clip * advantage), surrogate)


def _update_stats(
    model: ActorCritic,
    flat: dict[str, torch.Tensor],
    scale: torch.Tensor,
    clipped: list[float],
    steps: int,
    optimizer: torch.optim.Optimizer,
) -> dict[str, float]:
    with torch.no_grad():  # how far the whole update moved the policy
        kl = _kl(model, flat["mean"], scale, model.distribution(flat["observation"]))
    return {
        "kl": float(f"{kl:.6g}"),
        "clip_fraction": round(float(np.mean(clipped)), 4),
        "minibatch_steps": steps,
        "learning_rate": float(f"{optimizer.param_groups[0]['lr']:.6g}"),
    }


# -- overlap ---------------------------------------------------------------------------------
class Sampler:
    """Collects the next rollout in a thread while the learner updates (`config.overlap`).

    `snapshot` copies the model before its update into `behaviour`, the policy the next
    rollout acts with, and notes torch's global generator, from which only the sampler draws
    under overlap (the update shuffles with a generator of its own): the run is then the same
    whatever the threads' timing. The checkpoint keeps both, so a resumed run collects its
    pending rollout again step for step (every rollout starts from seeded resets)."""

    def __init__(self, model: ActorCritic, envs: Any, config: TrainConfig) -> None:
        self.behaviour = copy.deepcopy(model)
        self.envs, self.config = envs, config
        self.generator_state = torch.get_rng_state()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sampler")
        self.pending: Future | None = None

    def snapshot(self, model: ActorCritic) -> None:
        self.behaviour.load_state_dict(model.state_dict())
        self.generator_state = torch.get_rng_state()

    def collect(self, iteration: int, step: int, rng: np.random.Generator) -> Rollout:
        """The rollout from the last snapshot: the one started in the thread, or now."""
        if self.pending is None:
            torch.set_rng_state(self.generator_state)
            return collect(self.behaviour, self.envs, self.config, iteration, step, None, rng)
        rollout, self.pending = self.pending.result(), None
        return rollout

    def start(self, iteration: int, step: int, rng: np.random.Generator) -> None:
        args = (self.behaviour, self.envs, self.config, iteration, step, None, rng)
        self.pending = self.pool.submit(collect, *args)

    def state_dict(self) -> dict[str, Any]:
        return {"behaviour": self.behaviour.state_dict(), "sampler_rng": self.generator_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.behaviour.load_state_dict(state["behaviour"])
        self.generator_state = state["sampler_rng"]

    def close(self) -> None:
        """Wait for a rollout in flight (the workers must be idle before they close)."""
        if self.pending is not None:
            self.pending.exception()
        self.pool.shutdown()


# -- training --------------------------------------------------------------------------------
RESUMED_CONFIG = (
    "algo",
    "seed",
    "envs",
    "rollout",
    "hidden",
    "exploration",
    "dep_preset",
    "dep_intervention_proba",
    "dep_intervention_length",
    "dep_original",
    "action_interface",
    "termination",
    "termination_distance",
    "termination_tilt",
    "termination_curriculum",
    "pose_reward",
    "assist",
    "assist_until",
    "policy_learning_rate",
    "value_normalization",
    "anneal_lr",
    "backend",
    "overlap",
    "proximal",
)


def train(config: TrainConfig, out: Path, *, resume: bool = False, progress: bool = True) -> dict:
    """Train, evaluate every `eval_every` steps, save the final policy; returns the final
    evaluation summary. Writes into `out`: config.json, checkpoint.pt (every iteration),
    training.csv (every iteration: episode lengths, terminations and the keypoints that ended
    them), curve.csv and curve.json (every evaluation) with the policy evaluated at each
    (evaluated/STEPS/), final.json, policy.pt and policy.onnx."""

    task = get_task(config.task)
    body = task.body
    out = Path(out)
    checkpoint_path = out / "checkpoint.pt"
    if checkpoint_path.exists() and not resume:
        raise FileExistsError(f"{out} holds a run already; pass --resume to continue it")
    if config.backend == "mjx":  # before anything is written: installed, and the body runs
        _mjx_env().put_model(task)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # the rollout's; `update` takes config.threads
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)

    eval_env = ImitationEnv(
        task.id, split="test", evaluation=True, action_interface=config.action_interface
    )
    observation_size, action_size = eval_env.observation_size, eval_env.action_space.shape[0]
    model = ActorCritic(observation_size, action_size, config)
    optimizer = _optimizer(model, config)
    params = dep_params(config)
    exploration = (
        DepExploration(config, params, action_size, eval_env.muscle_readings)
        if config.algo == "dep-ppo"
        else None
    )

    iteration, step, wall, curve, log = 0, 0, 0.0, [], []
    distance = resolve_termination_distance(config.termination, config.termination_distance)
    curriculum = (
        TerminationCurriculum(distance, distance) if config.termination_curriculum else None
    )
    clips = suite_hash([task])  # the training and test clips this run learns and is scored on
    # under overlap the update shuffles with its own generator: the sampler draws from torch's
    update_generator = torch.Generator().manual_seed(config.seed) if config.overlap else None
    state: dict[str, Any] = {}
    if resume and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, task=task.id, suite_hash=clips)
        saved = TrainConfig.from_dict(state["config"])
        for name in RESUMED_CONFIG:
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
        if exploration is not None:
            exploration.load_state_dict(state)
        if update_generator is not None and "update_rng" in state:
            update_generator.set_state(state["update_rng"])
    header = {
        "config": asdict(config),
        "task": task.id,
        "morphology": body.name,
        "model_hash": body.model_hash,
        "suite_hash": clips,
        "protocol": task.protocol,
        "observation_size": observation_size,
        "action_size": action_size,
        "action_interface": config.action_interface,
        "training_termination": {
            "rule": config.termination,
            "distance_m": distance,
            "curriculum": config.termination_curriculum,
            **({"tilt_rad": config.termination_tilt} if config.termination_tilt else {}),
        },
        **({"training_reward": {"pose_weight": config.pose_reward}} if config.pose_reward else {}),
        **(
            {"training_assist": {"scale": config.assist, "until_step": config.assist_until}}
            if config.assist
            else {}
        ),
    }
    write_json(out / "config.json", header)

    def checkpoint() -> None:
        state = {
            "format": CHECKPOINT_FORMAT,
            **{k: header[k] for k in ("task", "morphology", "model_hash", "suite_hash", "config")},
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
        if exploration is not None:
            state.update(exploration.state_dict())
        if sampler is not None:
            state.update(sampler.state_dict(), update_rng=update_generator.get_state())
        save_state(checkpoint_path, state)

    latest: list = []  # the summary and episodes of this process's latest evaluation

    def record_evaluation() -> None:
        # every evaluated policy kept, so any point of the curve can be re-run or rendered
        # (a run's best evaluation is often not its last)
        folder = evaluated_dir(out, step)
        save_policy(DeterministicPolicy(model), folder, header)
        summary, records = evaluate(folder / "policy.onnx", eval_env, task.id)
        latest[:] = [summary, records]
        row = {"steps": step, "wall_s": round(wall, 1)}
        row.update({k: summary[k] for k in CURVE_COLUMNS if k in summary})
        row["end_frames"] = ";".join(str(r["steps"]) for r in records)
        row["ended_by"] = ";".join(r["ended_by"] or "-" for r in records)
        curve.append(row)
        write_curve(out, curve)

    sampler: Sampler | None = None
    if not curve:
        record_evaluation()
        checkpoint()
    envs = _vector_env(config)
    if config.overlap:
        sampler = Sampler(model, envs, config)
        if "behaviour" in state:  # a rollout was pending: collect it again, as it was
            sampler.load_state_dict(state)
        torch.set_num_threads(config.threads)  # once: the sampler's thread runs beside
    # what can end a training episode: each tracked keypoint, and the tilt rule where it is on
    enders = list(eval_env.tracked) + (["tilt"] if config.termination_tilt else [])
    training_columns = TRAINING_COLUMNS + tuple(f"ended_{k}" for k in enders)
    training_columns += ("assist",) if config.assist else ()
    training_columns += ("dep_share",) if exploration is not None else ()
    if curriculum is not None:
        envs.set_attr("termination_distance", curriculum.distance)
    batch = config.envs * config.rollout
    bar = tqdm(total=config.steps, initial=step, unit="step", disable=not progress)
    bar.set_postfix(test_mpjpe_mm=round(curve[-1]["mpjpe_mm"], 1))
    try:
        while step < config.steps:
            started = time.perf_counter()
            assist = config.assist_at(step)
            if config.assist and (sampler is None or sampler.pending is None):
                envs.set_attr("assist", assist)
            if sampler is None:
                behaviour = model
                rollout = collect(model, envs, config, iteration, step, exploration, rng)
            else:
                behaviour = sampler.behaviour
                rollout = sampler.collect(iteration, step, rng)
            step += batch
            with torch.no_grad():  # the critic that valued the rollout's steps
                next_value = behaviour.value(
                    torch.as_tensor(rollout.last_observation, dtype=torch.float32)
                )
            advantages, returns = advantages_and_returns(rollout, next_value, config)
            flat = {
                "observation": rollout.observations.reshape(batch, observation_size),
                "action": rollout.actions.reshape(batch, action_size),
                "logprob": rollout.logprobs.reshape(batch),
                "mean": rollout.means.reshape(batch, action_size),
                "advantage": advantages.reshape(batch),
                "return": returns.reshape(batch),
                "policy_mask": policy_mask(rollout.from_dep, config, params, step - batch),
            }
            ends = rollout.ends
            rollout_distance = distance if curriculum is None else curriculum.distance
            if curriculum is not None:  # before the next rollout starts
                run = len(ends["steps"]) + config.envs  # ended, and cut by the rollout's end
                if curriculum.update(sum(ends["terminated"]) / run):
                    envs.set_attr("termination_distance", curriculum.distance)
            if sampler is not None:  # the next rollout, with the policy before this update
                sampler.snapshot(model)
                if step < config.steps:
                    if config.assist:
                        envs.set_attr("assist", config.assist_at(step))
                    sampler.start(iteration + 1, step, rng)
            if model.returns is not None:  # the critic's targets scaled by the moments so far
                model.returns.update(flat["return"][:, None])
            try:
                if sampler is None:
                    torch.set_num_threads(config.threads)
                if config.anneal_lr:  # by the steps before this rollout: the first at full rate
                    anneal_learning_rate(optimizer, (step - batch) / config.steps)
                update_stats = update(
                    model, optimizer, flat, rollout.scale, config, update_generator
                )
            except FloatingPointError as error:
                raise FloatingPointError(
                    f"{error} after step {step}; {checkpoint_path} holds the last good state"
                ) from None
            finally:
                if sampler is None:  # the rollout's policy passes take one
                    torch.set_num_threads(1)
            # the normaliser moves after the update, so the update saw the rollout's scaling
            model.norm.update(flat["observation"])
            iteration += 1
            elapsed = time.perf_counter() - started
            wall += elapsed
            bar.update(batch)
            log.append(
                iteration_row(
                    iteration,
                    step,
                    wall,
                    elapsed,
                    batch,
                    rollout.reward_sum / batch,
                    ends,
                    enders,
                    rollout_distance,
                )
                | update_stats
                | ({"assist": round(assist, 6)} if config.assist else {})
                # the share of the rollout's samples whose action was DEP's
                | (
                    {"dep_share": round(float(rollout.from_dep.float().mean()), 5)}
                    if exploration is not None
                    else {}
                )
            )
            write_csv(out / "training.csv", training_columns, log)
            if step // config.eval_every > (step - batch) // config.eval_every:
                record_evaluation()
            bar.set_postfix(
                steps_per_s=round(batch / elapsed), test_mpjpe_mm=round(curve[-1]["mpjpe_mm"], 1)
            )
            checkpoint()
    finally:
        bar.close()
        if sampler is not None:
            sampler.close()
        envs.close()

    if curve[-1]["steps"] != step:
        record_evaluation()
        checkpoint()
    kept = evaluated_dir(out, step)
    if not latest:  # resumed after its last evaluation: that evaluation's policy, replayed
        if not (kept / "policy.onnx").is_file():  # a run from before policies were kept
            save_policy(DeterministicPolicy(model), kept, header)
        latest[:] = evaluate(kept / "policy.onnx", eval_env, task.id)
    summary, records = latest
    final = {**header, "steps": step, "wall_s": round(wall, 1), "summary": summary}
    final["episodes"] = records
    final["steps_per_s"] = round(step / wall, 1) if wall else math.nan
    write_json(out / "final.json", final)
    for name in ("policy.pt", "policy.onnx"):  # the final policy is the last one evaluated
        with atomic_path(out / name) as partial:
            shutil.copyfile(kept / name, partial)
    return final
