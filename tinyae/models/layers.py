"""Building blocks of the models: a dense block (linear, optional batch norm, activation), the tied linear
layer, and the functions that stack them into encoders and mirrored decoders.

A block keeps its pre-activation available (:meth:`Dense.pre`) so that a loss can start from the logits
of a sigmoid output (binary cross-entropy from logits is exact where the one on probabilities must clamp).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tinyae.functional as F
from tinyae.backend import Backend, dtype_name
from tinyae.nn import BatchNorm1d, Linear, Module, Parameter, Sequential
from tinyae.tensor import Tensor

__all__ = ["ACTIVATIONS", "Dense", "TiedLinear", "check_stack", "decode_logits", "dense_stack", "tied_stack"]


def _identity(x: Tensor) -> Tensor:
    return x


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "sigmoid": F.sigmoid,
    "relu": F.relu,
    "tanh": F.tanh,
    "softplus": F.softplus,
    "leaky_relu": F.leaky_relu,
    "identity": _identity,
}


def check_activation(what: str, name: str) -> str:
    """``name`` when it is one of :data:`ACTIVATIONS`, else a ValueError naming ``what``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown {what} {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return name


class TiedLinear(Module):
    """The decoder half of a tied pair: ``y = x @ W.T + c`` with ``W`` the weight of an encoder ``Linear``.

    ``weight`` is the encoder's own Parameter (one object, registered in both layers), so ``parameters()``
    lists it once and an optimizer moves it once; the bias ``c`` is this layer's own.

    Shapes: x (batch, source.out_features) -> y (batch, source.in_features).
    """

    def __init__(self, source: Linear, bias: bool = True) -> None:
        super().__init__()
        self.in_features = source.out_features
        self.out_features = source.in_features
        self.weight = source.weight
        if bias:
            xp = source.weight.backend.xp
            zeros = xp.zeros((self.out_features,), dtype=source.weight.dtype)
            self.bias: Parameter | None = Parameter(zeros, backend=source.weight.backend)
        else:
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias, transpose_weight=True)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, tied"


class Dense(Module):
    """One layer: ``activation(norm(linear(x)))``, the batch norm optional.

    Parameters
    ----------
    linear : Linear or TiedLinear
        The affine map.
    activation : str
        A name in :data:`ACTIVATIONS`.
    norm : BatchNorm1d, optional
        Batch normalisation between the affine map and the activation.
    """

    def __init__(self, linear: Linear | TiedLinear, activation: str, norm: BatchNorm1d | None = None) -> None:
        super().__init__()
        self.linear = linear
        self.norm = norm
        self.activation = check_activation("activation", activation)

    @property
    def in_features(self) -> int:
        return self.linear.in_features

    @property
    def out_features(self) -> int:
        return self.linear.out_features

    def pre(self, x: Tensor) -> Tensor:
        """The pre-activation ``norm(linear(x))`` (the logits of a sigmoid output layer)."""
        y = self.linear(x)
        return y if self.norm is None else self.norm(y)

    def forward(self, x: Tensor) -> Tensor:
        return ACTIVATIONS[self.activation](self.pre(x))

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"


def dense_stack(
    sizes: Sequence[int],
    activations: Sequence[str],
    batch_norm: Sequence[bool],
    init: str,
    dtype: str,
    backend: Backend,
    bias_init: str = "zeros",
    norm_options: Mapping[str, Any] | None = None,
) -> Sequential:
    """``Dense`` blocks ``sizes[0] -> sizes[1] -> ...``, block i with ``activations[i]`` and, where
    ``batch_norm[i]``, a BatchNorm1d (momentum 0.1, a moving-average decay of 0.9) and no linear bias
    (the norm's shift replaces it: a bias before a batch norm is subtracted out again).  ``init`` and
    ``bias_init`` name the initialisers of the weights and biases (see :mod:`tinyae.nn.init`);
    ``norm_options`` are keyword arguments of every BatchNorm1d (``eps``, ``momentum``,
    ``unbiased_running_var``)."""
    blocks = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        linear = Linear(
            n_in, n_out, bias=not batch_norm[i], init=init, bias_init=bias_init, dtype=dtype, backend=backend
        )
        norm = None
        if batch_norm[i]:
            norm = BatchNorm1d(n_out, **norm_settings(norm_options), dtype=dtype, backend=backend)
        blocks.append(Dense(linear, activations[i], norm))
    return Sequential(*blocks)


def norm_settings(norm_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """BatchNorm1d keywords: momentum 0.1 (a decay of 0.9) unless ``norm_options`` says otherwise."""
    settings = {"momentum": 0.1, **(norm_options or {})}
    unknown = set(settings) - {"momentum", "eps", "unbiased_running_var"}
    if unknown:
        raise ValueError(
            f"unknown norm_options {sorted(unknown)}; choose among 'eps', 'momentum', 'unbiased_running_var'"
        )
    return settings


def tied_stack(
    encoder: Sequential,
    activations: Sequence[str],
    batch_norm: Sequence[bool],
    norm_options: Mapping[str, Any] | None = None,
) -> Sequential:
    """The mirror image of ``encoder`` whose linear layers reuse the encoder's weights, transposed."""
    blocks = []
    sources = [block.linear for block in reversed(list(encoder)) if isinstance(block, Dense)]
    for i, source in enumerate(sources):
        if not isinstance(source, Linear):
            raise TypeError(f"a tied decoder needs Linear encoder layers, got {type(source).__name__}")
        weight = source.weight
        norm = None
        if batch_norm[i]:
            dtype = dtype_name(weight.dtype)
            norm = BatchNorm1d(
                source.in_features, **norm_settings(norm_options), dtype=dtype, backend=weight.backend
            )
        blocks.append(Dense(TiedLinear(source, bias=not batch_norm[i]), activations[i], norm))
    return Sequential(*blocks)


def decode_logits(decoder: Sequential, z: Tensor) -> Tensor:
    """Run every block of ``decoder`` but stop the last one before its activation: the output logits."""
    blocks = list(decoder)
    for block in blocks[:-1]:
        z = block(z)
    last = blocks[-1]
    if not isinstance(last, Dense):
        raise TypeError(f"the last decoder layer must be a Dense block, got {type(last).__name__}")
    return last.pre(z)


def check_stack(
    owner: str, stack: Module, sizes: Sequence[int], activations: Sequence[str], batch_norm: Sequence[bool]
) -> Sequential:
    """``stack`` when it is a Sequential of Dense blocks with exactly these widths, activations and norms."""
    if not isinstance(stack, Sequential):
        raise TypeError(f"{owner}: expected an nn.Sequential of Dense blocks, got {type(stack).__name__}")
    blocks = list(stack)
    widths = list(itertools.pairwise(sizes))
    if len(blocks) != len(widths):
        raise ValueError(f"{owner}: expected {len(widths)} blocks for sizes {list(sizes)}, got {len(blocks)}")
    for i, (block, (n_in, n_out)) in enumerate(zip(blocks, widths, strict=True)):
        if not isinstance(block, Dense):
            raise TypeError(f"{owner}: block {i} is a {type(block).__name__}, not a Dense block")
        found = (block.in_features, block.out_features, block.activation, block.norm is not None)
        wanted = (n_in, n_out, activations[i], bool(batch_norm[i]))
        if found != wanted:
            raise ValueError(
                f"{owner}: block {i} is (in, out, activation, batch_norm) = {found}, expected {wanted}"
            )
    return stack
