"""The variational autoencoder (Kingma and Welling) with a Bernoulli or unit-variance Gaussian decoder.

The encoder gives ``q(z|x) = N(mu(x), diag(exp(log_var(x))))``; ``z = mu + exp(log_var / 2) * eps`` with
``eps ~ N(0, I)`` (the reparameterisation); the decoder gives ``p(x|z)`` from logits.  Per sample::

    reconstruction = -log p(x|z)                       (one draw of z)
        bernoulli: sum_i BCE_with_logits(logit_i, x_i)
        gaussian:  0.5 * sum_i (x_i - mean_i)^2 + 0.5 * d * log(2 pi)   (unit variance)
    kl = KL(q(z|x) || N(0, I)) = 0.5 * sum_k (mu_k^2 + exp(log_var_k) - 1 - log_var_k)
    elbo = -(reconstruction + kl)

and the loss is the batch mean of ``reconstruction + kl`` (the negative ELBO), with parts
``{"reconstruction", "kl"}``, each averaged over the batch.
"""

from __future__ import annotations

import math
from typing import Any

import tinyae.functional as F
from tinyae.backend import Backend, RandomGenerator, get_backend
from tinyae.models.base import Model, check_choice, check_sizes, evaluating, noise_source, register, total_of
from tinyae.models.layers import ACTIVATIONS, check_activation, decode_logits, dense_stack
from tinyae.nn import Linear
from tinyae.tensor import Tensor

__all__ = ["LIKELIHOODS", "VAE"]

LIKELIHOODS = ("bernoulli", "gaussian")
HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


@register
class VAE(Model):
    """A variational autoencoder: MLP encoder to ``(mu, log_var)``, MLP decoder to logits.

    Parameters
    ----------
    in_dim : int
        Input width (784 for MNIST).
    hidden : int or list of int
        Hidden widths of the encoder (the decoder mirrors them); at least one.
    latent : int
        Latent dimension.
    likelihood : {"bernoulli", "gaussian"}
        Decoder distribution: Bernoulli pixels (decoded probabilities ``sigmoid(logits)``) or a Gaussian
        of unit variance (decoded mean ``logits``).
    activation : str
        Hidden activation.
    init, dtype, backend, bias_init
        As for :class:`~tinyae.models.Autoencoder`.

    Examples
    --------
    >>> import tinyae
    >>> vae = VAE(784, hidden=400, latent=20)
    >>> mu, log_var = vae.encode(tinyae.tensor([[0.5] * 784]))
    >>> mu.shape, vae.sample(3).shape
    ((1, 20), (3, 784))
    """

    def __init__(
        self,
        in_dim: int = 784,
        hidden: int | list[int] = 400,
        latent: int = 20,
        likelihood: str = "bernoulli",
        activation: str = "relu",
        init: str = "xavier_uniform",
        dtype: str = "float32",
        backend: str | Backend | None = None,
        bias_init: str = "zeros",
    ) -> None:
        super().__init__()
        hidden_sizes = [hidden] if isinstance(hidden, int) else list(hidden)
        check_sizes("VAE", [in_dim, *hidden_sizes, latent], minimum=3)
        check_choice("likelihood", likelihood, LIKELIHOODS)
        self.in_dim, self.latent = int(in_dim), int(latent)
        self.hidden = hidden if isinstance(hidden, int) else list(hidden_sizes)
        self.likelihood = likelihood
        self.activation = check_activation("activation", activation)
        self.init = init
        self.bias_init = bias_init
        self.output_activation = "sigmoid" if likelihood == "bernoulli" else "identity"
        target = get_backend(backend)
        depth = len(hidden_sizes)
        self.encoder = dense_stack(
            [self.in_dim, *hidden_sizes],
            [activation] * depth,
            [False] * depth,
            init,
            dtype,
            target,
            bias_init,
        )
        self.mu_head, self.log_var_head = (
            Linear(hidden_sizes[-1], self.latent, init=init, bias_init=bias_init, dtype=dtype, backend=target)
            for _ in range(2)
        )
        self.decoder = dense_stack(
            [self.latent, *hidden_sizes[::-1], self.in_dim],
            [activation] * depth + [self.output_activation],
            [False] * (depth + 1),
            init,
            dtype,
            target,
            bias_init,
        )

    # --- the protocol ---------------------------------------------------------------------------------------
    def encode(self, x: Any) -> tuple[Tensor, Tensor]:
        """(batch, in_dim) -> ``(mu, log_var)``, each (batch, latent); ``log_var`` is the log-variance."""
        h = self.encoder(self.as_input(x))
        return self.mu_head(h), self.log_var_head(h)

    def decode_logits(self, z: Any) -> Tensor:
        """(batch, latent) -> (batch, in_dim) decoder logits (the mean itself for a Gaussian decoder)."""
        return decode_logits(self.decoder, self.as_input(z))

    def decode(self, z: Any) -> Tensor:
        """(batch, latent) -> (batch, in_dim): Bernoulli probabilities, or the Gaussian mean."""
        return ACTIVATIONS[self.output_activation](self.decode_logits(z))

    def forward(self, x: Any) -> Tensor:
        """The reconstruction in data space, decoded from the mean code ``mu`` (no noise)."""
        mu, _ = self.encode(x)
        return self.decode(mu)

    def draw(self, mu: Tensor, log_var: Tensor, rng: RandomGenerator | None = None) -> Tensor:
        """``z = mu + exp(log_var / 2) * eps`` with ``eps ~ N(0, I)`` from ``rng``."""
        eps = noise_source(mu, rng).normal(mu.shape, mu.dtype)
        return F.reparameterize(mu, log_var, eps)

    def log_likelihood(self, logits: Tensor, x: Tensor) -> Tensor:
        """Per-sample ``log p(x|z)`` from the decoder logits, shape (batch,)."""
        if self.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(axis=-1)
        squared = F.mse_loss(logits, x, reduction="none").sum(axis=-1)
        return -(squared * 0.5 + HALF_LOG_TWO_PI * x.shape[-1])

    def terms(self, x: Any, rng: RandomGenerator | None = None) -> tuple[Tensor, Tensor]:
        """Per-sample ``(-log p(x|z), KL(q(z|x) || p(z)))`` with one draw of z, each of shape (batch,)."""
        x = self.as_input(x)
        mu, log_var = self.encode(x)
        logits = self.decode_logits(self.draw(mu, log_var, rng))
        return -self.log_likelihood(logits, x), F.gaussian_kl(mu, log_var, reduction="none")

    def loss(self, *batch: Any, rng: RandomGenerator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """``(total, {"reconstruction", "kl"})``: the negative ELBO averaged over the batch ``(x,)``."""
        if not batch:
            raise TypeError("VAE.loss() needs a batch (x,), got nothing")
        reconstruction, kl = self.terms(batch[0], rng)
        parts = {"reconstruction": reconstruction.mean(), "kl": kl.mean()}
        return total_of(parts), parts

    def elbo(self, x: Any, rng: RandomGenerator | None = None) -> Tensor:
        """Per-sample evidence lower bound ``log p(x|z) - KL(q(z|x) || p(z))``, one draw, shape (batch,)."""
        reconstruction, kl = self.terms(x, rng)
        return -(reconstruction + kl)

    def sample(self, n: int, rng: RandomGenerator | None = None) -> Tensor:
        """``n`` new samples in data space: ``decode(z)`` with ``z ~ N(0, I)``; no graph."""
        generator = self.backend.random if rng is None else rng
        z = Tensor(
            generator.normal((int(n), self.latent), self._first_parameter().dtype), backend=self.backend
        )
        with evaluating(self):
            return self.decode(z)

    def reconstruct(self, x: Any) -> Tensor:
        """The decoded mean ``decode(mu(x))`` (no noise, no graph)."""
        with evaluating(self):
            return self.forward(x)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "in_dim": self.in_dim,
            "hidden": self.hidden,
            "latent": self.latent,
            "likelihood": self.likelihood,
            "activation": self.activation,
            "init": self.init,
            "bias_init": self.bias_init,
            **self.placement(),
        }
