"""Reconstruction losses of the autoencoders, by name, each with the reduction its source tutorial uses.

With ``x`` the (batch, features) input, ``xhat`` the reconstruction and ``n`` the batch size:

========== ===================================================== ===========================================
name       formula                                               source
========== ===================================================== ===========================================
``l2``     ``0.5 * sum_{b,i} (xhat - x)^2`` (the whole batch)    TensorFlow AE, ``tf.nn.l2_loss``
``l2_mean`` ``(1/n) * 0.5 * sum_{b,i} (xhat - x)^2``             UFLDL sparse AE, ``J = 1/m sum 1/2 |e|^2``
``mse``    ``(1/(n d)) * sum_{b,i} (xhat - x)^2`` (all elements)  stacked AE, ``reduce_mean(pow(y - x, 2))``
``bce``    ``(1/n) * sum_{b,i} BCE(xhat, x)``, from the logits   Theano dA: ``mean(sum(-x log z - ..., 1))``
``l2_norm`` ``(1/n) * sum_b sqrt(sum_i (xhat - x)^2 + 1e-12)``    batch-norm AE: batch mean of the L2 norms
========== ===================================================== ===========================================

``bce`` sums over the pixels and averages over the batch, as the Theano tutorial does: the per-sample
value is then the negative log-likelihood of a Bernoulli decoder (the VAE's reconstruction term), and the
gradient does not grow with the batch size, which the tutorial's learning rate 0.1 relies on.  It is taken
from the logits of the sigmoid output (exact and finite for any logit), so it needs a sigmoid output.

``l2_norm`` adds ``1e-12`` under the square root: the derivative of a norm, ``e / |e|``, is 0/0 at a perfect
reconstruction; with the term it is ``0 / 1e-6 = 0`` there and changes nothing measurable elsewhere.
"""

from __future__ import annotations

import tinyae.functional as F
from tinyae.tensor import Tensor

__all__ = ["LOSSES", "NORM_FLOOR", "reconstruction_loss"]

LOSSES = ("l2", "l2_mean", "mse", "bce", "l2_norm")
NORM_FLOOR = 1e-12  # under the square root of l2_norm: keeps the gradient finite at zero error


def reconstruction_loss(kind: str, logits: Tensor, output: Tensor | None, target: Tensor) -> Tensor:
    """The reconstruction loss ``kind`` (see the module docstring) as a scalar tensor.

    Parameters
    ----------
    kind : str
        One of :data:`LOSSES`.
    logits : Tensor
        (batch, features) pre-activations of the output layer (used by ``bce``).
    output : Tensor or None
        (batch, features) reconstruction in data space (used by every other loss).
    target : Tensor
        (batch, features) the clean input.
    """
    n = target.shape[0]
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") * (1.0 / n)
    if output is None:
        raise ValueError(f"the {kind!r} loss needs the reconstruction, got None")
    if kind == "l2":
        return F.l2_loss(output - target)
    if kind == "l2_mean":
        return F.l2_loss(output - target) * (1.0 / n)
    if kind == "mse":
        return F.mse_loss(output, target)
    if kind == "l2_norm":
        squared = F.mse_loss(output, target, reduction="none").sum(axis=-1)
        return F.sqrt(squared + NORM_FLOOR).mean()
    raise ValueError(f"unknown reconstruction loss {kind!r}; choose one of {list(LOSSES)}")
