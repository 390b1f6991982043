"""PPO's networks: a running observation normaliser, a Gaussian MLP policy (diagonal, or with
Lattice's latent noise) with an MLP value function, and the deterministic policy that is
evaluated, exported and shipped."""

from __future__ import annotations

import torch
from torch import nn

from baselines.config import TrainConfig


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
    """`exploration` "diagonal": independent noise per action, one learned log-std each.
    "lattice" (Chiappa et al. 2023, Kinesis's exploration): noise also on the policy's last
    hidden layer, so the actions' noise is correlated through the output weights W:
    covariance W diag(s_latent^2) W^T + diag(s_action^2), both log-stds learned (one vector,
    actions first), W learning from the covariance as from the mean. Muscles that act together
    are then explored together."""

    def __init__(self, observation_size: int, action_size: int, config: TrainConfig) -> None:
        super().__init__()
        self.norm = RunningNorm(observation_size)
        self.actor = _mlp(observation_size, config.hidden, action_size, 0.01)
        self.critic = _mlp(observation_size, config.hidden, 1, 1.0)
        self.lattice = config.exploration == "lattice"
        size = action_size + (config.hidden[-1] if self.lattice else 0)
        self.log_std = nn.Parameter(torch.full((size,), config.init_log_std))
        # value normalisation: the critic learns the returns scaled by their running moments
        self.returns = RunningNorm(1) if config.value_normalization else None

    def distribution(self, observation: torch.Tensor) -> torch.distributions.Distribution:
        """The policy's action distribution; `log_prob` gives one value per observation."""
        return self.distribution_at(self.actor(self.norm(observation)), self.scale())

    def scale(self) -> torch.Tensor:
        """The noise, one for every observation: the actions' standard deviations (diagonal)
        or the Cholesky factor of their covariance (lattice)."""
        if not self.lattice:
            return self.log_std.exp()
        actions = self.actor[-1].out_features
        variance = (2 * self.log_std).exp()
        weight = self.actor[-1].weight  # (actions, latent)
        covariance = (weight * variance[actions:]) @ weight.T + torch.diag(variance[:actions])
        return torch.linalg.cholesky(covariance)

    def distribution_at(
        self, mean: torch.Tensor, scale: torch.Tensor
    ) -> torch.distributions.Distribution:
        """The policy's distribution around `mean` with the noise `scale` (`scale()`'s form):
        the update rebuilds the rollout's policy from these to measure how far it moved."""
        if not self.lattice:
            normal = torch.distributions.Normal(mean, scale.expand_as(mean))
            return torch.distributions.Independent(normal, 1)
        return torch.distributions.MultivariateNormal(mean, scale_tril=scale)

    def _critic_output(self, observation: torch.Tensor) -> torch.Tensor:
        """The critic's output: the value, scaled when value normalisation is on."""
        return self.critic(self.norm(observation)).squeeze(-1)

    def value(self, observation: torch.Tensor) -> torch.Tensor:
        """The state's value in the reward's units."""
        value = self._critic_output(observation)
        if self.returns is None:
            return value
        return value * torch.sqrt(self.returns.var.float() + 1e-8) + self.returns.mean.float()

    def value_loss(self, observation: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
        """0.5 (V - R)^2 per sample; with value normalisation, in the returns' scaled units,
        so that the critic's gradient does not dwarf the policy's under one gradient clip."""
        value = self._critic_output(observation)
        if self.returns is not None:
            returns = self.returns(returns[:, None]).squeeze(-1)
        return 0.5 * (value - returns).pow(2)


class DeterministicPolicy(nn.Module):
    """What is evaluated, exported and shipped: normaliser, policy mean, clip to [-1, 1]."""

    def __init__(self, model: ActorCritic) -> None:
        super().__init__()
        self.norm, self.actor = model.norm, model.actor

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.actor(self.norm(observation)), -1.0, 1.0)
