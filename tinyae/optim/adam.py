"""``Adam``: momentum on the gradient, scaled by a running root mean square, with bias correction."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from tinyae.optim.checks import check_flag, check_range
from tinyae.optim.optimizer import Optimizer, weight_decayed
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

    TensorFlow 1's ``AdamOptimizer`` (``eps_hat=True``) adds epsilon to the *uncorrected* ``sqrt(v)``
    (the paper's "epsilon hat")::

        lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        p    = p - lr_t * m / (sqrt(v) + eps)

    The two rules differ only in the size of eps: TF1's equals PyTorch's with ``eps / sqrt(1 - beta2**t)``,
    about 30 times larger in the first step with beta2 = 0.999.

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
    eps_hat : bool
        Add ``eps`` to the uncorrected ``sqrt(v)`` as TF1 does, keyword only.

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

    hyperparameter_names = ("lr", "betas", "eps", "weight_decay", "eps_hat")
    nonnegative_state = ("exp_avg_sq",)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        eps_hat: bool = False,
    ) -> None:
        super().__init__(params)
        self.lr = check_range("Adam", "lr", lr, 0.0)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        beta1, beta2 = betas
        self.betas = (
            check_range("Adam", "betas[0]", beta1, 0.0, 1.0),
            check_range("Adam", "betas[1]", beta2, 0.0, 1.0),
        )
        self.eps = check_range("Adam", "eps", eps, 0.0)
        self.weight_decay = check_range("Adam", "weight_decay", weight_decay, 0.0)
        self.eps_hat = check_flag("Adam", "eps_hat", eps_hat)

    def state_names(self) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq")

    def _update(self, p: Tensor, grad: Any, state: dict[str, Any]) -> None:
        xp = p.backend.xp
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)  # m
            state["exp_avg_sq"] = xp.zeros_like(p.data)  # v
        state["step"] += 1
        t = state["step"]
        beta1, beta2 = self.betas
        g = weight_decayed(grad, p, self.weight_decay)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # every pass writes into an existing array: no fresh parameter-sized temporaries at each step
        scratch = self.scratch(p, state)
        into = p.backend.into
        m *= beta1
        m += into(scratch, "multiply", g, 1 - beta1)
        v *= beta2
        into(scratch, "multiply", g, g)
        scratch *= 1 - beta2
        v += scratch
        # lr / (1 - beta1^t) * m / (sqrt(v) / c + eps), with c = sqrt(1 - beta2^t), is the same number as
        # lr c / (1 - beta1^t) * m / (sqrt(v) + eps c): one pass fewer.  TF1's eps_hat adds eps itself.
        # The factors are Python floats, so they never promote float32 arrays.
        c = math.sqrt(1 - beta2**t)
        into(scratch, "sqrt", v)
        scratch += self.eps if self.eps_hat else self.eps * c
        into(scratch, "divide", m, scratch)
        scratch *= self.lr * c / (1 - beta1**t)
        p.data -= scratch
