"""The contractive autoencoder: penalise the squared Frobenius norm of the encoder's Jacobian.

For one sigmoid layer ``h = sigmoid(x @ W + b)`` the Jacobian is ``dh_j/dx_i = h_j (1 - h_j) W_ij``, so per
sample ``|J|_F^2 = sum_j (h_j (1 - h_j))^2 * sum_i W_ij^2``: no (features x code) matrix is formed.  For a
deeper encoder the Jacobian is the product of the layers' ``W_l * f'_l`` and is formed per sample, shape
(batch, in, code).  The loss is::

    loss = reconstruction + contraction * mean_b |J(x_b)|_F^2

Activations are differentiated through their outputs (sigmoid ``h (1 - h)``, tanh ``1 - h^2``, identity
``1``), with ordinary differentiable ops, so the penalty's own gradient comes from autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinyae.backend import RandomGenerator
from tinyae.models.autoencoder import Autoencoder
from tinyae.models.base import register, total_of
from tinyae.models.layers import Dense
from tinyae.tensor import Tensor

__all__ = ["ContractiveAutoencoder"]

# activation -> its derivative written in terms of its output h (None: the derivative is 1)
DERIVATIVES: dict[str, Callable[[Tensor], Tensor] | None] = {
    "sigmoid": lambda h: h * (1.0 - h),
    "tanh": lambda h: 1.0 - h * h,
    "identity": None,
}


@register
class ContractiveAutoencoder(Autoencoder):
    """An :class:`Autoencoder` whose code is made insensitive to small input changes.

    Loss: ``reconstruction + contraction * mean over the batch of |d code / d x|_F^2`` (the defaults follow
    the Theano tutorial: sigmoid layers, cross-entropy summed over pixels and averaged over the batch).

    Parameters
    ----------
    sizes : list of int
        The encoder's widths, as for :class:`Autoencoder`.
    contraction : float
        Weight of the Jacobian penalty (lambda), >= 0.
    activation, loss, **kwargs
        As for :class:`Autoencoder`; encoder activations must be sigmoid, tanh or identity, and
        ``batch_norm`` is not supported (the Jacobian of a batch-norm layer couples the samples).

    Examples
    --------
    >>> import tinyae
    >>> model = ContractiveAutoencoder([784, 500], contraction=0.1)
    >>> total, parts = model.loss(tinyae.tensor([[0.5] * 784] * 4))
    >>> list(parts)
    ['reconstruction', 'contraction']
    """

    def __init__(
        self,
        sizes: list[int],
        contraction: float = 0.1,
        activation: str = "sigmoid",
        loss: str = "bce",
        **kwargs: Any,
    ) -> None:
        super().__init__(sizes, activation=activation, loss=loss, **kwargs)
        for name in (self.activation, self.code_activation):
            if name not in DERIVATIVES:
                raise ValueError(
                    f"the contractive penalty supports encoder activations {sorted(DERIVATIVES)}, "
                    f"got {name!r}"
                )
        if self.batch_norm:
            raise ValueError("the contractive penalty does not support batch_norm=True")
        if contraction < 0:
            raise ValueError(f"contraction must be >= 0, got {contraction}")
        self.contraction = float(contraction)

    def encode_with_jacobian(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(code, mean_b |J(x_b)|_F^2)`` with J the Jacobian of the code with respect to the input."""
        blocks: list[Dense] = list(self.encoder)  # type: ignore[arg-type]
        n = x.shape[0]
        h = x
        if len(blocks) == 1:
            block = blocks[0]
            h = block(h)
            w = block.linear.weight
            column_norms = (w * w).sum(axis=0)  # sum_i W_ij^2, shape (code,)
            slope = DERIVATIVES[block.activation]
            if slope is None:
                return h, column_norms.sum()
            d = slope(h)
            return h, ((d * d) * column_norms).sum(axis=1).mean()
        jacobian: Tensor | None = None  # (in, width) while no slope is applied, then (batch, in, width)
        for block in blocks:
            h = block(h)
            w = block.linear.weight
            jacobian = w if jacobian is None else jacobian @ w
            slope = DERIVATIVES[block.activation]
            if slope is not None:
                jacobian = jacobian * slope(h).reshape(n, 1, block.out_features)
        assert jacobian is not None
        squares = jacobian * jacobian
        if squares.ndim == 2:  # every layer linear: the same Jacobian for every sample
            return h, squares.sum()
        return h, squares.sum(axis=(1, 2)).mean()

    def loss(self, *batch: Any, rng: RandomGenerator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """``(total, {"reconstruction", "contraction"})`` for the batch ``(x,)``."""
        x = self.batch_input(batch)
        code, frobenius = self.encode_with_jacobian(x)
        parts = {
            "reconstruction": self.reconstruction_loss(code, x),
            "contraction": frobenius * self.contraction,
        }
        return total_of(parts), parts

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "contraction": self.contraction}
