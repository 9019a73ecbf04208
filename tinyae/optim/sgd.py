"""``SGD``: stochastic gradient descent with optional (Nesterov) momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tinyae.optim.checks import check_flag, check_range
from tinyae.optim.optimizer import Optimizer, weight_decayed
from tinyae.tensor import Tensor

__all__ = ["SGD"]


class SGD(Optimizer):
    """Gradient descent, with PyTorch's update rule so that trajectories match it step for step.

    With ``g = grad + weight_decay * p``::

        buf = g                                          (first step)
        buf = momentum * buf + (1 - dampening) * g       (later steps)
        g   = g + momentum * buf   if nesterov   else   buf     (only when momentum != 0)
        p   = p - lr * g

    Parameters
    ----------
    params : iterable of Tensor
        Usually ``model.parameters()``.
    lr : float
        Learning rate.
    momentum : float
        Momentum factor (0: plain gradient descent).
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    weight_decay : float
        L2 penalty coefficient, added to the gradient.
    dampening : float
        In [0, 1]: the gradient enters the momentum buffer scaled by ``1 - dampening``, keyword only.

    Examples
    --------
    >>> import tinyae
    >>> from tinyae import optim
    >>> w = tinyae.tensor([1.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.8], dtype=float32, requires_grad=True)
    """

    hyperparameter_names = ("lr", "momentum", "nesterov", "weight_decay", "dampening")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        *,
        dampening: float = 0.0,
    ) -> None:
        super().__init__(params)
        self.lr = check_range("SGD", "lr", lr, 0.0)
        self.momentum = check_range("SGD", "momentum", momentum, 0.0)
        self.nesterov = check_flag("SGD", "nesterov", nesterov)
        self.weight_decay = check_range("SGD", "weight_decay", weight_decay, 0.0)
        self.dampening = check_range("SGD", "dampening", dampening, 0.0, 1.0, high_included=True)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                f"SGD: nesterov needs momentum > 0 and dampening 0, got momentum {momentum}, "
                f"dampening {dampening}"
            )

    def state_names(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum != 0 else ()

    def _update(self, p: Tensor, grad: Any, state: dict[str, Any]) -> None:
        g = weight_decayed(grad, p, self.weight_decay)
        if self.momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # a copy: the buffer is updated in place later, and g may be the (shared) .grad array
                buf = state["momentum_buffer"] = p.backend.xp.asarray(g, copy=True)
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        p.data -= p.backend.into(self.scratch(p, state), "multiply", g, self.lr)
