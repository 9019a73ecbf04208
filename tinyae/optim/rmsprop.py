"""``RMSprop``: divide each gradient by a running root mean square of its recent values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tinyae.optim.checks import check_flag, check_range
from tinyae.optim.optimizer import Optimizer, weight_decayed
from tinyae.tensor import Tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """Hinton's RMSprop: PyTorch's update rule by default, TensorFlow 1's as options.

    PyTorch's rule (the defaults), with ``g = grad + weight_decay * p`` and the state starting at zeros::

        v    = alpha * v + (1 - alpha) * g**2
        gavg = alpha * gavg + (1 - alpha) * g                   (centered only)
        avg  = sqrt(v - gavg**2) + eps   if centered   else   sqrt(v) + eps
        buf  = momentum * buf + g / avg ;  p = p - lr * buf      (momentum > 0)
        p    = p - lr * g / avg                                  (momentum == 0)

    TensorFlow 1's ``RMSPropOptimizer(lr, decay, momentum, epsilon)`` starts the mean square ``v`` (its
    ``ms``) at 1 and puts epsilon *inside* the square root::

        v    = decay * v + (1 - decay) * g**2                   (v starts at 1.0)
        mom  = momentum * mom + lr * g / sqrt(v + epsilon) ;  p = p - mom

    which is ``RMSprop(p, lr, alpha=decay, eps=epsilon, momentum=momentum, initial_accumulator_value=1.0,
    eps_inside_sqrt=True)`` (TF1's defaults: decay 0.9, epsilon 1e-10).  The start at 1 makes the first
    steps small (about ``lr * g``) where PyTorch's start at 0 makes them about ``lr / sqrt(1 - alpha)``.
    TF1 keeps ``lr`` inside its momentum accumulator, PyTorch outside; the two agree while ``lr`` is
    constant (here ``buf`` never holds ``lr``, so a scheduler's change takes effect at once).

    Parameters
    ----------
    params : iterable of Tensor
        Usually ``model.parameters()``.
    lr : float
        Learning rate.
    alpha : float
        Decay of the running mean of squared gradients (TF1's ``decay``).
    eps : float
        Added to the root mean square (or, with ``eps_inside_sqrt``, to the mean square), so that a zero
        gradient history does not divide by zero.
    momentum : float
        Momentum factor applied to the scaled gradient (0: none).
    centered : bool
        Subtract the squared running mean of the gradient: divide by an estimate of its standard deviation.
    weight_decay : float
        L2 penalty coefficient, added to the gradient, keyword only.
    initial_accumulator_value : float
        Where the mean square ``v`` starts (PyTorch: 0; TF1: 1.0), keyword only.
    eps_inside_sqrt : bool
        ``sqrt(v + eps)`` as TF1 computes it, instead of PyTorch's ``sqrt(v) + eps``, keyword only.

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
    >>> w = tinyae.tensor([1.0], requires_grad=True)
    >>> tf1 = optim.RMSprop([w], lr=0.01, alpha=0.9, eps=1e-10, initial_accumulator_value=1.0,
    ...                     eps_inside_sqrt=True)
    >>> (w * w).sum().backward()
    >>> tf1.step()
    >>> round(w.item(), 4)  # 1 - 0.01 * 2 / sqrt(0.9 * 1 + 0.1 * 4 + 1e-10) = 1 - 0.02 / sqrt(1.3)
    0.9825
    """

    hyperparameter_names = (
        "lr",
        "alpha",
        "eps",
        "momentum",
        "centered",
        "weight_decay",
        "initial_accumulator_value",
        "eps_inside_sqrt",
    )
    nonnegative_state = ("square_avg",)

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
        initial_accumulator_value: float = 0.0,
        eps_inside_sqrt: bool = False,
    ) -> None:
        super().__init__(params)
        self.lr = check_range("RMSprop", "lr", lr, 0.0)
        self.alpha = check_range("RMSprop", "alpha", alpha, 0.0, 1.0)
        self.eps = check_range("RMSprop", "eps", eps, 0.0)
        self.momentum = check_range("RMSprop", "momentum", momentum, 0.0)
        self.centered = check_flag("RMSprop", "centered", centered)
        self.weight_decay = check_range("RMSprop", "weight_decay", weight_decay, 0.0)
        self.initial_accumulator_value = check_range(
            "RMSprop", "initial_accumulator_value", initial_accumulator_value, 0.0
        )
        self.eps_inside_sqrt = check_flag("RMSprop", "eps_inside_sqrt", eps_inside_sqrt)

    def state_names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = ("step", "square_avg")
        if self.momentum > 0:
            names = (*names, "momentum_buffer")
        return (*names, "grad_avg") if self.centered else names

    def _update(self, p: Tensor, grad: Any, state: dict[str, Any]) -> None:
        xp = p.backend.xp
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.full_like(p.data, self.initial_accumulator_value)
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
            variance = xp.maximum(square_avg - grad_avg * grad_avg, 0.0)
            if self.eps_inside_sqrt:
                variance += self.eps
            avg = into(scratch, "sqrt", variance)
        elif self.eps_inside_sqrt:
            avg = into(scratch, "sqrt", into(scratch, "add", square_avg, self.eps))
        else:
            avg = into(scratch, "sqrt", square_avg)
        if not self.eps_inside_sqrt:
            avg += self.eps  # PyTorch's place for eps: outside the square root
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += into(avg, "divide", g, avg)
            p.data -= into(avg, "multiply", buf, self.lr)
        else:
            update = into(avg, "divide", g, avg)
            update *= self.lr
            p.data -= update
