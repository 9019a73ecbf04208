"""``RMSprop``: divide each gradient by a running root mean square of its recent values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tinyae.optim.optimizer import Optimizer, check_range, weight_decayed
from tinyae.tensor import Tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """Hinton's RMSprop, with PyTorch's update rule (``eps`` added *outside* the square root).

    With ``g = grad + weight_decay * p`` and the state starting at zeros::

        v    = alpha * v + (1 - alpha) * g**2
        gavg = alpha * gavg + (1 - alpha) * g                   (centered only)
        avg  = sqrt(v - gavg**2) + eps   if centered   else   sqrt(v) + eps
        buf  = momentum * buf + g / avg ;  p = p - lr * buf      (momentum > 0)
        p    = p - lr * g / avg                                  (momentum == 0)

    Parameters
    ----------
    params : iterable of Tensor
        Usually ``model.parameters()``.
    lr : float
        Learning rate.
    alpha : float
        Decay of the running mean of squared gradients.
    eps : float
        Added to the root mean square, so that a zero gradient history does not divide by zero.
    momentum : float
        Momentum factor applied to the scaled gradient (0: none).
    centered : bool
        Subtract the squared running mean of the gradient: divide by an estimate of its standard deviation.
    weight_decay : float
        L2 penalty coefficient, added to the gradient, keyword only.

    Examples
    --------
    >>> import tinyae
    >>> from tinyae import optim
    >>> w = tinyae.tensor([1.0], requires_grad=True)
    >>> opt = optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 4)  # 1 - 0.01 * 2 / (sqrt(0.01 * 4) + 1e-8) = 1 - 0.01 / sqrt(0.01)
    0.9
    """

    hyperparameter_names = ("lr", "alpha", "eps", "momentum", "centered", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        self.lr = check_range("RMSprop", "lr", lr, 0.0)
        self.alpha = check_range("RMSprop", "alpha", alpha, 0.0, 1.0)
        self.eps = check_range("RMSprop", "eps", eps, 0.0)
        self.momentum = check_range("RMSprop", "momentum", momentum, 0.0)
        self.centered = bool(centered)
        self.weight_decay = check_range("RMSprop", "weight_decay", weight_decay, 0.0)

    def state_names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = ("step", "square_avg")
        if self.momentum > 0:
            names = (*names, "momentum_buffer")
        return (*names, "grad_avg") if self.centered else names

    def _update(self, p: Tensor, grad: Any, state: dict[str, Any]) -> None:
        xp = p.backend.xp
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
            if self.momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if self.centered:
                state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        alpha = self.alpha
        g = weight_decayed(grad, p, self.weight_decay)
        square_avg = state["square_avg"]
        scratch = self.scratch(p, state)
        into = p.backend.into
        square_avg *= alpha
        into(scratch, "multiply", g, g)
        scratch *= 1 - alpha
        square_avg += scratch
        if self.centered:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (g - grad_avg)  # alpha * grad_avg + (1 - alpha) * g, as a lerp
            # v - gavg^2 is a variance, >= 0 in exact arithmetic; rounding can leave it a hair below 0
            # when the gradient is constant, and sqrt would then give NaN: clamp at 0
            avg = xp.sqrt(xp.maximum(square_avg - grad_avg * grad_avg, 0.0))
        else:
            avg = into(scratch, "sqrt", square_avg)
        avg += self.eps  # outside the square root, as in PyTorch (TensorFlow puts it inside)
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += g / avg
            p.data -= self.lr * buf
        else:
            update = into(avg, "divide", g, avg)
            update *= self.lr
            p.data -= update
