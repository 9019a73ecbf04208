"""``clip_grad_norm_``: rescale gradients so that their global L2 norm is at most ``max_norm``."""

from __future__ import annotations

import math
from collections.abc import Iterable

from tinyae.tensor import Tensor

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(params: Iterable[Tensor] | Tensor, max_norm: float) -> float:
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))`` and return ``total_norm``.

    ``total_norm`` is the L2 norm of all gradients together, as if concatenated into one vector, measured
    before clipping.  The 1e-6 (as in PyTorch) keeps the factor finite when every gradient is zero.
    Parameters without a gradient are ignored.  Each scaled gradient is a new array in the gradient's
    dtype (``.grad`` arrays may be shared between parameters, so none is changed in place).

    Examples
    --------
    >>> import tinyae
    >>> from tinyae import optim
    >>> w = tinyae.tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = w.backend.asarray([3.0, 4.0], dtype="float32")
    >>> optim.clip_grad_norm_([w], max_norm=2.0)
    5.0
    >>> w.grad  # 2 / (5 + 1e-6) times (3, 4)
    array([1.1999998, 1.5999997], dtype=float32)
    """
    if isinstance(params, Tensor):
        params = [params]
    unique = list({id(p): p for p in params}.values())  # a parameter listed twice counts once
    with_grads = [p for p in unique if p.grad is not None]
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_ needs max_norm >= 0, got {max_norm}")
    # one host read per parameter; the sums of squares are accumulated as Python floats (float64)
    total = math.sqrt(sum(float(p.backend.xp.sum(p.grad * p.grad)) for p in with_grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p in with_grads:
            p.grad = p.grad * scale  # a Python float keeps the gradient's dtype
    return total
