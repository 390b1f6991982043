"""The settings of a training run (PPO or DEP-PPO), defined once: `benchmark train`'s options
are made from these fields (`baselines.cli`), and every run records them in its
`config.json` and checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from benchmark.env import TERMINATION_RULES, check_assist, check_pose_reward, check_tilt
from benchmark.interfaces import INTERFACES, MJX_INTERFACES
from benchmark.tasks import get_task

BACKENDS = ("cpu", "mjx")
PROXIMAL = ("behaviour", "learner")


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
    policy_learning_rate: float | None = None  # the actor's own (Kinesis: 5e-5); None: one rate
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip: float = 0.2
    dual_clip: float | None = None  # bound a negative advantage's objective at c x it (c > 1)
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None  # stop an update past 1.5 x this KL
    # what the stop ends: "update" (both networks, Stable-Baselines3's) or "actor" (the value
    # function takes its remaining steps: one loss and one Adam no longer tie it to the policy)
    target_kl_stops: str = "update"
    # the KL the learning rates adapt to (rsl_rl's schedule; MyoSuite's leg walking: 0.01)
    adaptive_kl: float | None = None
    # every rate falls linearly from its setting to 0 at `steps` (CleanRL's default)
    anneal_lr: bool = False
    # the critic learns returns scaled by their running mean and variance (rl_games's
    # normalize_value; Engstrom et al. 2020 count return scaling among PPO's decisive details)
    value_normalization: bool = False
    hidden: tuple[int, ...] = (256, 256)
    init_log_std: float = -0.5
    exploration: str = "diagonal"  # or "lattice": latent noise too (`baselines.networks`)
    eval_every: int = 100_000  # steps between evaluations on the test clips
    # torch threads in the update, when the workers are idle; the rollout uses one, as its
    # policy passes run between the workers' steps and extra threads would take their cores
    threads: int = 2
    workers: int | None = None  # processes stepping the environments; None: one per core
    # collect the next rollout with the policy of the last update while the learner updates on
    # this one (`baselines.ppo.Sampler`): each rollout's policy one update old. PPO, CPU only.
    overlap: bool = False
    # the policy the clip is taken against: "behaviour" (the rollout's; under overlap one update
    # old) or "learner" (the learner's as the update starts, each sample weighted by the two
    # policies' probability ratio, truncated at 1: Hilton et al. 2022's decoupled objective).
    # The two differ only under overlap.
    proximal: str = "behaviour"
    # DEP-PPO
    dep_preset: str | None = None  # None: `ostrich` for the ostrich, else `myosuite_legs`
    dep_warmup: int | None = None  # steps of DEP only; None: the preset's
    dep_intervention_proba: float | None = None  # chance per step to start one; None: preset's
    dep_intervention_length: int | None = None  # DEP steps per intervention; None: preset's
    switching: str = "stochastic"  # or "deterministic"
    rl_length: int = 50  # policy steps between DEP blocks (deterministic switching)
    dep_actions: str = "policy-logprob"  # or "exclude", "exclude-warmup"
    dep_original: bool = False
    # the environment (benchmark.interfaces, benchmark.env): how actions reach the muscles,
    # and how training episodes end (evaluation always ends them by protocol v1's rule)
    action_interface: str = "excitation"
    termination: str = "mean-error"  # or "any-keypoint" (Kinesis's training rule)
    termination_distance: float | None = None  # metres x size scale; None: the rule's default
    termination_tilt: float | None = None  # radians: also end when the root tilts more
    termination_curriculum: bool = False  # adapt the distance (`TerminationCurriculum`)
    pose_reward: float = 0.0  # weight of DeepMimic's pose term in the training reward
    # a torque on the root toward the reference's orientation (`benchmark.env`), at this
    # scale at step 0, falling linearly to none at step `assist_until`
    assist: float = 0.0
    assist_until: int | None = None
    # where training's environments step: "cpu" (MuJoCo C in worker processes) or "mjx"
    # (benchmark.mjx_env, batched on the JAX device; the `gpu` extra). Evaluation is the CPU's.
    backend: str = "cpu"

    def __post_init__(self) -> None:

        self.hidden = tuple(self.hidden)
        checks = {
            "action_interface": (self.action_interface, tuple(INTERFACES)),
            "termination": (self.termination, tuple(TERMINATION_RULES)),
            "algo": (self.algo, ("ppo", "dep-ppo")),
            "backend": (self.backend, BACKENDS),
            "switching": (self.switching, ("stochastic", "deterministic")),
            "dep_actions": (self.dep_actions, ("policy-logprob", "exclude", "exclude-warmup")),
            "exploration": (self.exploration, ("diagonal", "lattice")),
            "target_kl_stops": (self.target_kl_stops, ("update", "actor")),
            "proximal": (self.proximal, PROXIMAL),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if self.action_interface == "joint_target" and self.algo == "dep-ppo":
            raise ValueError(
                "action_interface joint_target: DEP-PPO is not offered with it (DEP's sensors "
                "and motors are the muscles, joint_target's actions are joint angles)"
            )
        check_tilt(self.termination_tilt)
        for name in ("policy_learning_rate", "target_kl", "adaptive_kl"):  # positive if set
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        check_pose_reward(self.pose_reward)
        if self.anneal_lr and self.adaptive_kl is not None:
            raise ValueError("anneal_lr and adaptive_kl both set the learning rates: choose one")
        if self.dual_clip is not None and not self.dual_clip > 1:
            raise ValueError(f"dual_clip must be greater than 1, got {self.dual_clip!r}")
        if self.dep_intervention_proba is not None and not 0 <= self.dep_intervention_proba <= 1:
            raise ValueError(
                f"dep_intervention_proba must be a probability in [0, 1], got "
                f"{self.dep_intervention_proba!r}"
            )
        if self.dep_intervention_length is not None and not self.dep_intervention_length >= 1:
            raise ValueError(
                f"dep_intervention_length must be at least 1 step, got "
                f"{self.dep_intervention_length!r}"
            )
        check_assist(self.assist)
        if self.overlap and self.algo != "ppo":
            raise ValueError(
                "overlap: offered for PPO only (DEP-PPO's switching and DEP's state advance "
                "with every step the policy takes, and it would take them a rollout ahead)"
            )
        if self.overlap and self.backend != "cpu":
            raise ValueError("overlap runs on backend 'cpu' only (its workers are processes)")
        if self.proximal == "learner" and not self.overlap:
            raise ValueError(
                "proximal 'learner' needs overlap: without it the learner's policy as the "
                "update starts is the rollout's"
            )
        if self.backend == "mjx":  # what the MJX backend does not step
            if self.termination_tilt is not None:
                raise ValueError("termination_tilt runs on backend 'cpu' only")
            if self.pose_reward:
                raise ValueError("pose_reward runs on backend 'cpu' only")
            if self.assist:
                raise ValueError("assist runs on backend 'cpu' only")
            if self.action_interface not in MJX_INTERFACES:
                raise ValueError(
                    f"action_interface {self.action_interface} runs on backend 'cpu' only"
                )
        if self.assist and not (self.assist_until and self.assist_until > 0):
            raise ValueError("assist needs assist_until, the step at which it reaches 0")
        if self.envs * self.rollout % self.minibatches:
            raise ValueError("envs x rollout must divide into the minibatches")
        if self.dep_preset is None:
            body = get_task(self.task).body
            self.dep_preset = "ostrich" if body.species == "ostrich" else "myosuite_legs"

    def assist_at(self, step: int) -> float:
        """The assist's scale for the rollout that starts at `step`."""
        if not self.assist:
            return 0.0
        return self.assist * max(0.0, 1.0 - step / self.assist_until)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
