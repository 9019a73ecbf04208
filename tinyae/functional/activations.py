"""Activations: sigmoid, tanh, relu, leaky_relu, softplus, log_sigmoid, softmax and log_softmax.

The exponential ones are written so that ``exp`` only ever sees a non-positive number: with
``e = exp(-|x|)`` (always in (0, 1]) nothing overflows, for any finite x, in float32 or float64.
"""

from __future__ import annotations

from typing import Any

from tinyae.tensor import Context, Function, Tensor

__all__ = ["leaky_relu", "log_sigmoid", "log_softmax", "relu", "sigmoid", "softmax", "softplus", "tanh"]


def positive_mask(xp: Any, x: Any) -> Any:
    """1.0 where x > 0, else 0.0, in x's dtype.

    Selecting by multiplying with this mask, rather than with ``where``, keeps the CPU from branching per
    element on random signs; a comparison and a cast is also cheaper than ``sign`` in float32 (the
    measurements are the "traps" of ``benchmarks/ops.py``, in benchmarks/README.md).
    """
    return xp.astype(x > 0, x.dtype)


def at_least(xp: Any, x: Any, low: float) -> Any:
    """``max(x, low)`` elementwise (NaN stays NaN), in x's dtype.

    Compared with a row of ``low`` rather than with the scalar: NumPy's ``maximum`` runs its fast vector
    loop only when both operands are arrays (measured in ``benchmarks/ops.py``'s traps).
    """
    return xp.maximum(x, xp.full(x.shape[-1:], low, dtype=x.dtype))


def at_most(xp: Any, x: Any, high: float) -> Any:
    """``min(x, high)`` elementwise (NaN stays NaN), in x's dtype, against a row as :func:`at_least`."""
    return xp.minimum(x, xp.full(x.shape[-1:], high, dtype=x.dtype))


def stable_sigmoid(xp: Any, x: Any, e: Any) -> Any:
    """sigma(x) from ``e = exp(-|x|)``: 1/(1+e) for x > 0 and e/(1+e) otherwise; neither overflows.

    The numerator (1 or e) is ``max(e, [x > 0])``, because e <= 1: no branch per element.
    """
    y = xp.maximum(e, positive_mask(xp, x))
    y /= 1 + e  # in place: y is our own fresh array
    return y


def exp_neg_abs(xp: Any, x: Any) -> Any:
    """``e^-|x|``, in (0, 1] for every finite x: the one exponential the stable forms need."""
    e = xp.abs(x)
    e *= -1.0
    return xp.exp(e)


class Sigmoid(Function):
    """``y = 1 / (1 + e^-x)``; dy/dx = y (1 - y) = e / (1 + e)^2 with ``e = e^-|x|``.

    Written in ``e``, which lies in (0, 1] for every finite x, so nothing overflows; and the derivative in
    ``e`` keeps its accuracy where ``y (1 - y)`` is 0 in float32 (y rounds to 1 from x = 17 on).  Only ``e``
    is saved: ``1 + e`` is made again in backward, one array fewer held per layer until then.
    """

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        e = exp_neg_abs(ctx.xp, x)
        ctx.save(e)
        y = ctx.xp.maximum(e, ctx.xp.astype(x > 0, x.dtype))  # numerator: 1 where x > 0, else e (e <= 1)
        y /= 1 + e  # in place: y is our own fresh array
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (e,) = ctx.saved
        one_plus_e = 1 + e
        dx = grad * e
        dx /= one_plus_e
        dx /= one_plus_e
        return dx


class Tanh(Function):
    """``y = tanh x``; dy/dx = 1 - y^2."""

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        y = ctx.xp.tanh(x)
        ctx.save(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (y,) = ctx.saved
        return grad * (1 - y * y)


class ReLU(Function):
    """``y = max(x, 0)``; dy/dx = 1 where x > 0, else 0 (relu'(0) = 0, as in PyTorch)."""

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        ctx.save(positive_mask(xp, x))  # the slope
        return at_least(xp, x, 0.0)  # not x * mask: -inf * 0 would be nan

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (slope,) = ctx.saved
        return grad * slope


class LeakyReLU(Function):
    """``y = x`` where x > 0, else ``slope * x``; dy/dx = 1 or ``slope`` (``slope`` at 0)."""

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any, slope: float) -> Any:
        mask = positive_mask(ctx.xp, x)
        scale = slope + (1 - slope) * mask  # 1 where x > 0, slope elsewhere
        ctx.save(scale)
        return x * scale

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (scale,) = ctx.saved
        return grad * scale


class Softplus(Function):
    """``y = log(1 + e^x)`` as ``max(x, 0) + log1p(e^-|x|)`` (no overflow); dy/dx = sigmoid(x)."""

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        e = exp_neg_abs(xp, x)
        ctx.save(x, e)
        return at_least(xp, x, 0.0) + xp.log1p(e)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, e = ctx.saved
        return grad * stable_sigmoid(ctx.xp, x, e)


class LogSigmoid(Function):
    """``y = log sigmoid(x)`` as ``min(x, 0) - log1p(e^-|x|)``; dy/dx = 1 - sigmoid(x) = sigmoid(-x)."""

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        e = exp_neg_abs(xp, x)
        ctx.save(x, e)
        return xp.minimum(x, 0) - xp.log1p(e)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, e = ctx.saved
        return grad * stable_sigmoid(ctx.xp, -x, e)


def stable_log_softmax(xp: Any, x: Any, axis: int) -> Any:
    """log softmax with the maximum subtracted first, so that exp never overflows.

    A +inf logit is first lowered to the dtype's largest number (else inf - inf = nan): it then takes all
    the probability, as in the limit, and the other entries get a huge negative finite log-probability.
    """
    x = at_most(xp, x, float(xp.finfo(x.dtype).max))
    top = xp.max(x, axis=axis, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)  # a row of all -inf would otherwise give inf - inf = nan
    shifted = x - top
    total = xp.sum(xp.exp(shifted), axis=axis, keepdims=True)  # >= 1 unless the whole row is -inf
    return shifted - xp.log(xp.where(total > 0, total, 1))


class LogSoftmax(Function):
    """``y_i = x_i - log sum_j e^x_j`` along ``axis``; dx = g - softmax * sum(g)."""

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any, axis: int) -> Any:
        y = stable_log_softmax(ctx.xp, x, axis)
        ctx.save(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        (y,) = ctx.saved
        return grad - xp.exp(y) * xp.sum(grad, axis=ctx.axis, keepdims=True)


class Softmax(Function):
    """``y_i = e^x_i / sum_j e^x_j`` along ``axis``; dx = y * (g - sum(g * y))."""

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any, axis: int) -> Any:
        y = ctx.xp.exp(stable_log_softmax(ctx.xp, x, axis))
        ctx.save(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (y,) = ctx.saved
        return y * (grad - ctx.xp.sum(grad * y, axis=ctx.axis, keepdims=True))


def sigmoid(x: Tensor) -> Tensor:
    """Elementwise logistic function ``1 / (1 + e^-x)``, in (0, 1); stable for any finite x.

    >>> import tinyae, tinyae.functional as F
    >>> F.sigmoid(tinyae.tensor([0.0, 100.0])).numpy()
    array([0.5, 1. ], dtype=float32)
    """
    return Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent, in (-1, 1)."""
    return Tanh.apply(x)


def relu(x: Tensor) -> Tensor:
    """Elementwise ``max(x, 0)``; its derivative at 0 is taken as 0."""
    return ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """Elementwise ``x`` for x > 0 and ``negative_slope * x`` otherwise."""
    return LeakyReLU.apply(x, slope=float(negative_slope))


def softplus(x: Tensor) -> Tensor:
    """Elementwise ``log(1 + e^x)``, a smooth ReLU; its derivative is ``sigmoid(x)``.

    >>> import tinyae, tinyae.functional as F
    >>> F.softplus(tinyae.tensor([-1000.0, 0.0, 1000.0])).numpy()  # no overflow at either end
    array([0.000000e+00, 6.931472e-01, 1.000000e+03], dtype=float32)
    """
    return Softplus.apply(x)


def log_sigmoid(x: Tensor) -> Tensor:
    """Elementwise ``log sigmoid(x) = -softplus(-x)``, finite for any finite x."""
    return LogSigmoid.apply(x)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Log-probabilities of a softmax along ``axis`` (same shape as x)."""
    return LogSoftmax.apply(x, axis=axis)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Probabilities ``e^x / sum e^x`` along ``axis`` (same shape as x, each slice sums to 1)."""
    return Softmax.apply(x, axis=axis)
