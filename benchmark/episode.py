"""One evaluation episode, the one loop every consumer uses: `benchmark run` (through
`Worker`, in this process, a pool or on Ray), rendering, plots and PPO's test evaluations.

`play` steps an agent through an episode from frame 0 of a clip, yielding the state after the
reset and after every step; an agent that raises, exits, runs past its time limits or sends an
invalid action ends the episode with an `AgentFault` naming why. `run_episode` turns an
episode into its scored record (never raising for the agent's or physics' faults);
`evaluation_env` makes the environment an agent is evaluated in (its declared interface, and
the clip's own replay for the diagnostic reference agent).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark import protocol
from benchmark.agents import action_interface, is_controller, load_agent
from benchmark.env import ImitationEnv
from benchmark.metrics import episode_metrics


@dataclass(frozen=True)
class Job:
    task: str
    seed: int
    clip: str
    split: str

    @property
    def key(self) -> str:
        return f"{self.task}|{self.seed}|{self.clip}"


@dataclass(frozen=True)
class Step:
    """The episode after a reset (info: the reset's) or after one step."""

    observation: np.ndarray
    info: dict[str, Any]
    terminated: bool = False
    truncated: bool = False


class AgentTimeout(Exception):
    """An agent's call or episode ran past its time limit."""


class AgentFault(Exception):
    """The agent raised, exited, ran past a time limit or sent an invalid action; the message
    is the episode's recorded failure."""


def evaluation_env(agent: Any, task: str, split: str) -> Any:
    """The environment `agent` is evaluated in: protocol v1's evaluation episodes through the
    interface the agent declares; a diagnostic agent (not a controller) replays the clip."""

    return ImitationEnv(
        task,
        split=split,
        evaluation=True,
        action_interface=action_interface(agent),
        replay_reference=not is_controller(agent),
    )


def task_info(env: Any, job: Job) -> dict[str, Any]:
    """What an agent's `reset` is told before an episode."""
    return {
        "task": job.task,
        "clip": job.clip,
        "seed": job.seed,
        "action_size": env.action_space.shape[0],
        "observation_size": env.observation_space.shape[0],
    }


@contextlib.contextmanager
def _time_limit(seconds: float, what: str):
    """Raise AgentTimeout in this thread after `seconds` (SIGALRM; where that cannot be had,
    outside the main thread, off Unix or for an infinite limit, no limit)."""
    if (
        math.isinf(seconds)
        or threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "setitimer")
    ):
        yield
        return

    def expire(signum, frame):
        raise AgentTimeout(f"{what} took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _agent_code():
    """The agent's code: a fault, or an exit, ends the episode, never the run."""
    try:
        yield
    except (Exception, SystemExit) as error:
        raise AgentFault(f"agent raised {type(error).__name__}: {error}") from error


def play(
    agent: Any,
    env: Any,
    job: Job,
    *,
    step_limit_s: float = math.inf,
    episode_limit_s: float = math.inf,
) -> Iterator[Step]:
    """Yield the episode of `job` from frame 0: first the state after the reset, then each
    step's, until it terminates or reaches the clip's end. An agent's reset or act call longer
    than `step_limit_s`, or an episode longer than `episode_limit_s`, is an `AgentFault`."""
    started = time.perf_counter()
    observation, info = env.reset(seed=job.seed, options={"clip": job.clip})
    yield Step(observation, info)
    if hasattr(agent, "reset"):
        with _agent_code(), _time_limit(step_limit_s, "reset"):
            agent.reset(task_info(env, job))
    while True:
        with _agent_code(), _time_limit(step_limit_s, "act"):
            action = agent.act(observation)
        if time.perf_counter() - started > episode_limit_s:
            raise AgentFault(f"agent's episode took longer than {episode_limit_s:g} s")
        try:
            observation, _, terminated, truncated, info = env.step(action)
        except ValueError as error:
            raise AgentFault(f"invalid action: {error}") from None
        except Exception as error:  # an action the environment could not take at all
            raise AgentFault(f"agent raised {type(error).__name__}: {error}") from error
        yield Step(observation, info, terminated, truncated)
        if terminated or truncated:
            return


def run_episode(
    agent: Any,
    env: Any,
    job: Job,
    *,
    step_limit_s: float = protocol.AGENT_STEP_LIMIT_S,
    episode_limit_s: float = protocol.AGENT_EPISODE_LIMIT_S,
) -> dict[str, Any]:
    """One evaluation episode's scored record; never raises for the agent's or physics'
    faults, which end the episode as failed with the reason."""
    started = time.perf_counter()
    infos, terminated, failure, clip_steps = [], False, None, 0
    try:
        for index, step in enumerate(
            play(agent, env, job, step_limit_s=step_limit_s, episode_limit_s=episode_limit_s)
        ):
            if index == 0:
                clip_steps = len(env.clip.qpos) - 1
                continue
            infos.append(step.info)
            terminated = step.terminated
            if step.info.get("failure"):
                failure = step.info["failure"]
    except AgentFault as fault:
        failure = failure or str(fault)
    metrics = episode_metrics(
        job.clip,
        infos,
        clip_steps,
        terminated=terminated,
        scale=env.scale,
        leg_length=env.body.measures.leg_length,
        failure=failure,
    )
    record = {"key": job.key, "task": job.task, "seed": job.seed, **metrics.as_dict()}
    # the tracked keypoint farthest off when the termination rule ended the episode
    last = infos[-1]["ended_by"] if terminated and infos else -1
    record["ended_by"] = env.tracked[last] if last >= 0 else None
    record["wall_s"] = round(time.perf_counter() - started, 4)
    return record


class Worker:
    """An agent loaded once and its evaluation environments, kept across episodes: what each
    executor (this process, a process of a pool, a Ray actor) runs jobs with."""

    def __init__(self, agent_spec: str, agent: Any = None) -> None:
        self.agent = agent if agent is not None else load_agent(agent_spec)
        self.envs: dict[tuple[str, str], Any] = {}

    def run(self, job: Job) -> dict[str, Any]:
        key = (job.task, job.split)
        if key not in self.envs:
            self.envs[key] = evaluation_env(self.agent, job.task, job.split)
        return run_episode(self.agent, self.envs[key], job)
