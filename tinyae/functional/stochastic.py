"""Noise: the VAE's reparameterisation, the denoising autoencoder's corruptions, and dropout.

Randomness is an argument, never hidden state: ``reparameterize`` takes its noise ``eps``; the others take
a generator ``rng`` (by default the input's backend generator, seeded by ``tinyae.manual_seed``), so a
test can fix the noise and gradient-check the rest.
"""

from __future__ import annotations

from typing import Any

from tinyae.backend import RandomGenerator
from tinyae.tensor import Context, Function, OpError, Tensor

__all__ = ["dropout", "gaussian_noise", "masking_noise", "reparameterize"]


class Reparameterize(Function):
    """``z = mu + exp(log_var / 2) * eps``: a sample of N(mu, sigma^2) that is differentiable in mu, log_var.

    With ``std = exp(log_var / 2)``: dz/dmu = 1, dz/dlog_var = eps * std / 2, dz/deps = std.
    """

    @staticmethod
    def forward(ctx: Context, mu: Any, log_var: Any, eps: Any) -> Any:
        std = ctx.xp.exp(0.5 * log_var)
        ctx.save(std, eps)
        return mu + std * eps

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        std, eps = ctx.saved
        grad_eps = grad * std
        return grad, 0.5 * grad_eps * eps, grad_eps


def reparameterize(mu: Tensor, log_var: Tensor, eps: Tensor) -> Tensor:
    """Draw ``z ~ N(mu, exp(log_var))`` as ``mu + exp(0.5 * log_var) * eps`` with ``eps ~ N(0, 1)`` given.

    ``log_var`` is the log-variance (so the standard deviation is ``exp(0.5 * log_var)``); all three have
    one shape (or broadcast to one).  Draw ``eps`` with ``x.backend.random.normal(shape, dtype)``.

    >>> import tinyae, tinyae.functional as F
    >>> F.reparameterize(tinyae.tensor([1.0]), tinyae.tensor([0.0]), tinyae.tensor([2.0])).numpy()
    array([3.], dtype=float32)
    """
    return Reparameterize.apply(mu, log_var, eps)


def _generator(x: Tensor, rng: RandomGenerator | None) -> RandomGenerator:
    return x.backend.random if rng is None else rng


def _check_fraction(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise OpError(f"{name} must be a fraction in [0, 1], got {value}")
    return float(value)


def masking_noise(x: Tensor, level: float, rng: RandomGenerator | None = None) -> Tensor:
    """Set a random fraction ``level`` of the entries of x to 0 (the denoising AE's corruption).

    Each entry is kept with probability ``1 - level``; kept entries are not rescaled.
    """
    level = _check_fraction("masking level", level)
    keep = _generator(x, rng).uniform(x.shape, x.dtype) >= level
    return x * x.backend.xp.astype(keep, x.dtype)


def gaussian_noise(x: Tensor, std: float, rng: RandomGenerator | None = None) -> Tensor:
    """Add independent N(0, std^2) noise to every entry of x."""
    if std < 0:
        raise OpError(f"noise std must be >= 0, got {std}")
    return x + float(std) * _generator(x, rng).normal(x.shape, x.dtype)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, rng: RandomGenerator | None = None) -> Tensor:
    """Zero each entry with probability ``p``, scale the rest by ``1 / (1 - p)``; identity unless training.

    >>> import tinyae, tinyae.functional as F
    >>> x = tinyae.tensor([[1.0, 2.0]])
    >>> F.dropout(x, 0.5, training=False) is x
    True
    """
    p = _check_fraction("dropout probability", p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = _generator(x, rng).uniform(x.shape, x.dtype) >= p
    return x * (x.backend.xp.astype(keep, x.dtype) * (1.0 / (1.0 - p)))
