"""The sparse autoencoder of the UFLDL notes: a KL sparsity penalty on the mean code and weight decay.

With ``h`` the (batch, hidden) sigmoid code, ``rho_hat_j = mean_b h_bj`` the mean activation of unit j over
the batch, and ``W`` every weight matrix (biases and batch-norm scales excluded)::

    loss = reconstruction + beta * sum_j KL(rho || rho_hat_j) + (lambda / 2) * sum_W sum W^2
    KL(rho || q) = rho log(rho / q) + (1 - rho) log((1 - rho) / (1 - q))

UFLDL's reconstruction is ``(1/m) sum_b 0.5 * |xhat_b - x_b|^2`` (loss ``"l2_mean"``, the default here), so
that ``rho``, ``beta`` and ``lambda`` weigh the three terms independently of the batch size.
"""

from __future__ import annotations

from typing import Any

import tinyae.functional as F
from tinyae.backend import RandomGenerator
from tinyae.models.autoencoder import Autoencoder
from tinyae.models.base import register, total_of
from tinyae.tensor import Tensor

__all__ = ["SparseAutoencoder"]


@register
class SparseAutoencoder(Autoencoder):
    """An :class:`Autoencoder` whose sigmoid code units are pushed to be active a fraction ``rho`` of
    the time.

    The penalty applies to the code layer (the last encoder layer; for the classic one-hidden-layer model,
    ``sizes = [784, 196]``, the hidden layer), which must be sigmoid so that mean activations lie in (0, 1).

    Parameters
    ----------
    sizes : list of int
        The encoder's widths, as for :class:`Autoencoder`.
    rho : float
        Target mean activation, in (0, 1) (UFLDL's sparsity parameter).
    beta : float
        Weight of the sparsity penalty, >= 0.
    weight_decay : float
        UFLDL's lambda, >= 0: the penalty is ``lambda / 2 * sum W^2`` over the weight matrices.
    activation, loss, **kwargs
        As for :class:`Autoencoder`; the defaults are sigmoid layers and ``loss="l2_mean"``.

    Examples
    --------
    >>> import tinyae
    >>> model = SparseAutoencoder([784, 196], rho=0.1, beta=3.0, weight_decay=3e-3)
    >>> total, parts = model.loss(tinyae.tensor([[0.5] * 784] * 4))
    >>> list(parts)
    ['reconstruction', 'sparsity', 'weight_decay']
    """

    def __init__(
        self,
        sizes: list[int],
        rho: float = 0.05,
        beta: float = 3.0,
        weight_decay: float = 1e-4,
        activation: str = "sigmoid",
        loss: str = "l2_mean",
        **kwargs: Any,
    ) -> None:
        super().__init__(sizes, activation=activation, loss=loss, **kwargs)
        if self.code_activation != "sigmoid":
            raise ValueError(
                f"the sparsity penalty needs sigmoid code units (mean activations in (0, 1)), got "
                f"code_activation {self.code_activation!r}"
            )
        if not 0.0 < rho < 1.0:
            raise ValueError(f"rho must be in (0, 1), got {rho}")
        if beta < 0 or weight_decay < 0:
            raise ValueError(f"beta and weight_decay must be >= 0, got {beta} and {weight_decay}")
        self.rho = float(rho)
        self.beta = float(beta)
        self.weight_decay = float(weight_decay)

    def sparsity_penalty(self, code: Tensor) -> Tensor:
        """``beta * sum_j KL(rho || mean_b code_bj)`` for a (batch, hidden) code."""
        return F.kl_sparsity(code.mean(axis=0), self.rho) * self.beta

    def weight_penalty(self) -> Tensor:
        """``lambda / 2 * sum W^2`` over the weight matrices (a tied weight counts once)."""
        weights = self.weights()
        total = F.l2_loss(weights[0])
        for w in weights[1:]:
            total = total + F.l2_loss(w)
        return total * self.weight_decay

    def loss(self, *batch: Any, rng: RandomGenerator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """``(total, {"reconstruction", "sparsity", "weight_decay"})`` for the batch ``(x,)``."""
        x = self.batch_input(batch)
        code = self.encode(x)
        parts = {
            "reconstruction": self.reconstruction_loss(code, x),
            "sparsity": self.sparsity_penalty(code),
            "weight_decay": self.weight_penalty(),
        }
        return total_of(parts), parts

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "rho": self.rho, "beta": self.beta, "weight_decay": self.weight_decay}
