"""DEP (differential extrinsic plasticity), batched in PyTorch over parallel environments.

DEP (Der & Martius 2015; used for exploration in DEP-RL, Schumacher et al. 2023) is a
self-organising controller: it correlates the recent velocities of its sensors with their
values a few steps earlier and feeds the result back as motor commands, so the body's own
dynamics grow into coordinated, large movements. Each environment has its own controller
matrix. One step, per environment (x the sensor vector, one entry per muscle):

1. low-pass: xbar <- xbar + (x - xbar) / s4avg (xbar = x on the first step);
2. learning, once time_dist + 2 steps are in the window: with d(s) = xbar[-s] - xbar[-s-1]
   (a sensor velocity, s = 1 the newest), C = sum_s M d(s) d(s + time_dist)^T over the last
   tau steps, with the inverse model M = -I; each row of C is scaled to norm kappa
   (normalisation "independent"); the homeostatic bias moves against DEP's previous output:
   h <- h - clip(bias_rate y_prev, +-0.05) - 0.001 h;
3. action: q = C xbar, q_hat = q / |q|_2, y = tanh(kappa q_hat + h) in [-1, 1].

The reference implementation (martius-lab/depRL) has quirks; the defaults here are the
sound behaviour and `original=True` reproduces the reference (tests/test_dep.py checks it
against outputs recorded from the `deprl` package by tools/dep_reference_fixture.py):
- newest velocity: the reference's window starts at s = 2, skipping d(1); we use it.
- row normalisation: the reference multiplies column k of C by kappa / |row k| (an index
  slip in its einsum); we scale each row j by kappa / |row j|, as the paper describes.
- episode ends: the reference never resets, so its window straddles a reset and correlates
  the jump of the body being put back; we restart an environment's window and low-pass at
  its episode end (its C and bias carry on).
- sensor: the reference normalises lengths and forces by running extrema kept forever, with
  +0.1 margins in raw units; we use the model's fixed muscle length ranges and peak forces
  (`MuscleSensor`), which need no history and mean the same in every run.
Switching between DEP and the policy is in `baselines.ppo`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from morphologies import MuscleReadings


@dataclass(frozen=True)
class DEPParams:
    """One published DEP parameter set (names as in DEP-RL)."""

    kappa: float  # gain
    tau: int  # window length (steps)
    time_dist: int  # delay between the correlated velocities (steps)
    s4avg: float  # low-pass divisor
    bias_rate: float  # homeostatic bias rate
    force_scale: float = 0.0  # weight of muscle force in the sensor
    regularization: int = 32  # eps = 10^-regularization in the norms
    # switching in DEP-PPO (steps are environment steps)
    warmup_steps: int = 200_000  # DEP only, before the policy acts at all
    intervention_length: int = 5  # steps of DEP per intervention
    intervention_proba: float = 0.0004  # chance per step to start one
    test_episode_every: int = 3  # every n-th episode of an environment has no DEP


PRESETS = {
    # DEP-RL's MyoSuite configurations (myoLegWalk and others)
    "myosuite_legs": DEPParams(
        kappa=1169.7, tau=40, time_dist=5, s4avg=2, bias_rate=0.002, warmup_steps=200_000
    ),
    # DEP-RL's ostrich-run configuration
    "ostrich": DEPParams(
        kappa=20.0,
        tau=8,
        time_dist=5,
        s4avg=1,
        bias_rate=0.03,
        force_scale=0.0003,
        warmup_steps=300_000,
        intervention_length=4,
    ),
}


def preset(name: str) -> DEPParams:
    if name not in PRESETS:
        raise KeyError(f"unknown DEP preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


class DEP:
    """DEP for `envs` parallel environments with `n` sensors and as many motors."""

    def __init__(
        self,
        params: DEPParams,
        envs: int,
        n: int,
        *,
        original: bool = False,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.params = params
        self.original = original
        self.envs, self.n = envs, n
        self.first_lag = 2 if original else 1
        self.eps = 10.0 ** (-params.regularization)
        # velocities d(1) .. d(tau - 1 + time_dist) need tau + time_dist stored steps
        self.window = params.tau + params.time_dist
        self.history = torch.zeros(self.window, envs, n, dtype=dtype)
        self.xbar = torch.zeros(envs, n, dtype=dtype)
        self.C = torch.zeros(envs, n, n, dtype=dtype)
        self.C_norm = torch.zeros(envs, n, n, dtype=dtype)
        self.bias = torch.zeros(envs, n, dtype=dtype)
        self.y = torch.zeros(envs, n, dtype=dtype)
        self.steps = torch.zeros(envs, dtype=torch.long)  # since this env's window started
        lags = torch.arange(self.first_lag, params.tau)
        self._lags = lags
        # rows of the velocity tensor (window - 1 rows, newest last) holding d(s) and
        # d(s + time_dist): d(s) is row (window - 1) - s
        self._newer = (self.window - 1) - lags
        self._older = self._newer - params.time_dist

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """One DEP step on sensors x (envs, n); returns motor commands in [-1, 1]."""
        p = self.params
        x = x.to(self.xbar.dtype)
        started = self.steps > 0
        if p.s4avg > 1:
            smoothed = self.xbar + (x - self.xbar) / p.s4avg
            self.xbar = torch.where(started[:, None], smoothed, x)
        else:
            self.xbar = x.clone()
        self.history = torch.cat([self.history[1:], self.xbar[None]])
        learning = self.steps + 1 > 2 + p.time_dist
        if learning.any():
            self._learn(learning)
        q = torch.einsum("ejk,ek->ej", self.C_norm, self.xbar)
        q = q * (1.0 / (torch.linalg.norm(q, dim=-1, keepdim=True) + self.eps))
        self.y = torch.clamp(torch.tanh(p.kappa * q + self.bias), -1.0, 1.0)
        self.steps += 1
        return self.y

    def _learn(self, learning: torch.Tensor) -> None:
        p = self.params
        velocity = self.history[1:] - self.history[:-1]  # (window - 1, envs, n)
        newer, older = velocity[self._newer], velocity[self._older]
        # lag s counts while s < min(steps - time_dist, tau), steps counted before this one
        limit = torch.clamp(self.steps - p.time_dist, max=p.tau)
        used = (self._lags[:, None] < limit[None, :]).to(velocity.dtype)  # (lags, envs)
        if self.original:
            # the reference adds the lags one by one in float32; with kappa ~1000 a different
            # summation order alone moves its outputs by ~1e-4, so the order is kept
            C = torch.zeros_like(self.C)
            for row in range(len(self._lags)):
                C += used[row, :, None, None] * torch.einsum("ej,ek->ejk", -newer[row], older[row])
        else:
            C = -torch.einsum("le,lej,lek->ejk", used, newer, older)  # M = -I
        scale = p.kappa / (torch.linalg.norm(C, dim=-1) + self.eps)  # rows of R = C M^T = -C
        # sound: row j scaled by row j's norm; the reference scales column k by row k's norm
        C_norm = C * (scale[:, None, :] if self.original else scale[:, :, None])
        bias = self.bias - (torch.clamp(p.bias_rate * self.y, -0.05, 0.05) + 0.001 * self.bias)
        mask = learning[:, None]
        self.C = torch.where(mask[..., None], C, self.C)
        self.C_norm = torch.where(mask[..., None], C_norm, self.C_norm)
        self.bias = torch.where(mask, bias, self.bias)

    def end_episodes(self, done: np.ndarray | torch.Tensor) -> None:
        """Restart the window of the environments whose episode ended (no-op if original)."""
        if self.original:
            return
        self.steps[torch.as_tensor(done, dtype=torch.bool)] = 0

    def state_dict(self) -> dict[str, torch.Tensor]:
        names = ("history", "xbar", "C", "C_norm", "bias", "y", "steps")
        return {name: getattr(self, name).clone() for name in names}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, value in state.items():
            current = getattr(self, name)
            if value.shape != current.shape:
                raise ValueError(
                    f"DEP state {name!r} has shape {tuple(value.shape)}, "
                    f"expected {tuple(current.shape)}"
                )
            setattr(self, name, value.clone())


class MuscleSensor:
    """DEP's sensor from the environment's observation: per muscle, length plus force_scale
    times force, both normalised; one row per environment.

    Sound (default): the observation already holds (length - low) / span and force / peak
    force from the model's fixed ranges; the sensor is 2 length - 1 + force_scale force.
    Original: the reference's running extrema per environment, never reset, with +0.1
    margins in raw units: 2 ((l - lmin) / (lmax - lmin + 0.1) - 0.5)
    + force_scale (f - fmin) / (fmax - fmin + 0.1), extrema updated first.
    """

    def __init__(
        self,
        readings: Callable[..., MuscleReadings],
        force_scale: float,
        *,
        original: bool = False,
    ) -> None:
        """`readings`: the environment's `muscle_readings(observations, normalised=...)`."""
        self.readings = readings
        self.force_scale, self.original = force_scale, original
        self.extrema: np.ndarray | None = None  # (4, envs, muscles): lmax, lmin, fmax, fmin

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """Sensors (envs, muscles) from observations (envs, observation size)."""
        muscles = self.readings(observations, normalised=not self.original)
        length, force = muscles.length, muscles.force
        if not self.original:
            return 2.0 * length - 1.0 + self.force_scale * force
        if self.extrema is None:
            start = np.array([0.0, 100.0, -100.0, 100.0])[:, None, None]
            self.extrema = np.broadcast_to(start, (4, *length.shape)).copy()
        ok = (np.isfinite(length).all(axis=1) & np.isfinite(force).all(axis=1))[:, None]
        e = self.extrema
        e[0] = np.where(ok, np.maximum(e[0], length), e[0])
        e[1] = np.where(ok, np.minimum(e[1], length), e[1])
        e[2] = np.where(ok, np.maximum(e[2], force), e[2])
        e[3] = np.where(ok, np.minimum(e[3], force), e[3])
        scaled_length = (length - e[1]) / (e[0] - e[1] + 0.1)
        scaled_force = (force - e[3]) / (e[2] - e[3] + 0.1)
        return 2.0 * (scaled_length - 0.5) + self.force_scale * scaled_force
