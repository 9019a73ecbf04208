"""``Adam``: momentum on the gradient, scaled by a running root mean square, with bias correction."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from tinyae.optim.optimizer import Optimizer, check_range, weight_decayed
from tinyae.tensor import Tensor

__all__ = ["Adam"]


class Adam(Optimizer):
    """Kingma & Ba's Adam, with PyTorch's update rule so that trajectories match it step for step.

    With ``g = grad + weight_decay * p`` (L2 in the gradient, not AdamW's decoupled decay), step count
    ``t`` (from 1) and moments starting at zeros::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        p = p - (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    The divisions by ``1 - beta**t`` undo the pull of the zero start towards 0 in the first steps.

    Parameters
    ----------
    params : iterable of Tensor
        Usually ``model.parameters()``.
    lr : float
        Learning rate (the largest step size, roughly).
    betas : (float, float)
        Decays of the running means of the gradient and of its square.
    eps : float
        Added to the root mean square, outside the square root.
    weight_decay : float
        L2 penalty coefficient, added to the gradient.

    Examples
    --------
    >>> import tinyae
    >>> from tinyae import optim
    >>> w = tinyae.tensor([1.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 4)  # the first step is lr * sign(grad)
    0.9
    """

    hyperparameter_names = ("lr", "betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        self.lr = check_range("Adam", "lr", lr, 0.0)
        beta1, beta2 = betas
        self.betas = (
            check_range("Adam", "betas[0]", beta1, 0.0, 1.0),
            check_range("Adam", "betas[1]", beta2, 0.0, 1.0),
        )
        self.eps = check_range("Adam", "eps", eps, 0.0)
        self.weight_decay = check_range("Adam", "weight_decay", weight_decay, 0.0)

    def state_names(self) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq")

    def _update(self, p: Tensor, grad: Any, state: dict[str, Any]) -> None:
        xp = p.backend.xp
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        step = state["step"]
        beta1, beta2 = self.betas
        g = weight_decayed(grad, p, self.weight_decay)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        # Every pass writes into an existing array (W1 has 1.1M parameters: a pass costs 40-130 us, sqrt
        # 300 us, and fresh temporaries that size cost page faults besides).  The scratch is not saved.
        scratch = state.get("_scratch")
        if scratch is None:
            scratch = state["_scratch"] = xp.empty_like(p.data)
        into = p.backend.into
        exp_avg -= g
        exp_avg *= beta1
        exp_avg += g  # beta1 (m - g) + g = beta1 m + (1 - beta1) g
        exp_avg_sq *= beta2
        into(scratch, "multiply", g, g)
        scratch *= 1 - beta2
        exp_avg_sq += scratch  # v = beta2 v + (1 - beta2) g^2
        # lr/(1 - beta1^t) * m / (sqrt(v)/c + eps) with c = sqrt(1 - beta2^t) is the same number as
        # (lr c/(1 - beta1^t)) * m / (sqrt(v) + eps c): one pass fewer.  Python floats never promote float32.
        root = math.sqrt(1 - beta2**step)
        into(scratch, "sqrt", exp_avg_sq)
        scratch += self.eps * root
        into(scratch, "divide", exp_avg, scratch)
        scratch *= self.lr * root / (1 - beta1**step)
        p.data -= scratch
