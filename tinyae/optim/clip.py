"""``clip_grad_norm_``: rescale gradients so that their global L2 norm is at most ``max_norm``."""

from __future__ import annotations

from collections.abc import Iterable

from tinyae.tensor import Tensor

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(params: Iterable[Tensor] | Tensor, max_norm: float) -> Tensor:
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))``; return ``total_norm``.

    ``total_norm`` is the L2 norm of all gradients together, as if concatenated into one vector, measured
    before clipping, and is returned as a 0-d tensor on the gradients' backend (as PyTorch does): it is
    computed on the device and never read back, so a GPU training step does not wait here.  Call
    ``.item()`` to read it.  For the same reason every gradient is multiplied by the factor, which is 1
    when the norm is within bounds: choosing to skip the multiply would need the norm on the host.

    The 1e-6 (as in PyTorch) keeps the factor finite when every gradient is zero.  The sums are taken in
    the gradients' dtype.  Parameters without a gradient are ignored.  Each scaled gradient is a new
    array in the gradient's dtype (``.grad`` arrays may be shared between parameters, so none is changed
    in place).

    Examples
    --------
    >>> import tinyae
    >>> from tinyae import optim
    >>> w = tinyae.tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = w.backend.asarray([3.0, 4.0], dtype="float32")
    >>> optim.clip_grad_norm_([w], max_norm=2.0).item()
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
    if not with_grads:
        backend = unique[0].backend if unique else None
        return Tensor(0.0, backend=backend)
    backends = sorted({p.backend.name for p in with_grads})
    if len(backends) > 1:
        raise ValueError(f"clip_grad_norm_ got gradients on several backends: {', '.join(backends)}")
    backend = with_grads[0].backend
    xp = backend.xp
    squares = xp.sum(with_grads[0].grad * with_grads[0].grad)
    for p in with_grads[1:]:
        squares = squares + xp.sum(p.grad * p.grad)  # 0-d device arrays: nothing is read back
    total = xp.sqrt(squares)
    ratio = max_norm / (total + 1e-6)
    factor = xp.minimum(ratio, xp.ones_like(ratio))
    for p in with_grads:
        same = factor if factor.dtype == p.grad.dtype else xp.astype(factor, p.grad.dtype)
        p.grad = p.grad * same
    return Tensor(total, backend=backend, dtype=total.dtype)
