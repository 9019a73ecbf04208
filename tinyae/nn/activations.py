"""Activation layers: thin modules around :mod:`tinyae.functional`, for use inside ``Sequential``.

>>> import tinyae
>>> from tinyae import nn
>>> nn.ReLU()(tinyae.tensor([-1.0, 2.0]))
tensor([0., 2.], dtype=float32)
"""

from __future__ import annotations

from tinyae import functional
from tinyae.nn.module import Module
from tinyae.tensor import Tensor

__all__ = ["Identity", "LeakyReLU", "ReLU", "Sigmoid", "Softplus", "Tanh"]


class Sigmoid(Module):
    """``1 / (1 + e^-x)`` elementwise (stable for any finite x)."""

    def forward(self, x: Tensor) -> Tensor:
        return functional.sigmoid(x)


class Tanh(Module):
    """``tanh x`` elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return functional.tanh(x)


class ReLU(Module):
    """``max(x, 0)`` elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return functional.relu(x)


class Softplus(Module):
    """``log(1 + e^x)`` elementwise, a smooth ReLU (stable for any finite x)."""

    def forward(self, x: Tensor) -> Tensor:
        return functional.softplus(x)


class LeakyReLU(Module):
    """``x`` where x > 0, else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return functional.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope:g}"


class Identity(Module):
    """Returns its input unchanged (a placeholder where a layer is optional)."""

    def forward(self, x: Tensor) -> Tensor:
        return x
