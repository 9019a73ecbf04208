"""The dense layer and the elementary functions: ``linear``, ``exp``, ``log``, ``sqrt``, ``square``."""

from __future__ import annotations

from typing import Any

from tinyae.function import Context, Function, OpError, check_matmul_shapes
from tinyae.tensor import Tensor

__all__ = ["exp", "linear", "log", "matmul", "sqrt", "square"]


class Linear(Function):
    """Fused ``y = x @ W + b``, or ``x @ W^T + b`` with ``transpose_weight`` (a tied decoder's weight).

    One op instead of a product and a sum saves a pass over the (batch, out) result.  Gradients, with
    g = dL/dy: dx = g @ W^T and dW = x^T @ g (dx = g @ W and dW = g^T @ x when W is used transposed, so
    that dW comes out in W's own layout), db = g summed over the batch.
    """

    fresh_gradients = True  # products and a sum (or views of them), never an input or ``grad``

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, transpose_weight: bool = False) -> Any:
        w = weight.T if transpose_weight else weight  # a view: (in, out) either way
        if w.ndim != 2 or x.shape[-1:] != w.shape[:1] or (bias is not None and bias.shape != w.shape[1:]):
            raise _linear_error(x, weight, w, bias)
        rows = x if x.ndim == 2 else ctx.xp.reshape(x, (-1, w.shape[0]))  # batch axes folded: one GEMM
        ctx.save(rows, weight)
        ctx.x_shape, ctx.transpose_weight = x.shape, transpose_weight
        y = rows @ w
        if bias is not None:
            y += bias  # in place: y is our own fresh array
        return y if x.ndim == 2 else ctx.xp.reshape(y, (*x.shape[:-1], w.shape[1]))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        rows, weight = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        g = grad if grad.ndim == 2 else ctx.xp.reshape(grad, (rows.shape[0], -1))
        w = weight if ctx.transpose_weight else weight.T  # (out, in) either way
        # the input batch is usually data: skipping its gradient saves one of the three GEMMs
        grad_x = ctx.xp.reshape(g @ w, ctx.x_shape) if need_x else None
        grad_w = (_outer_sum(g, rows) if ctx.transpose_weight else _outer_sum(rows, g)) if need_w else None
        grad_b = ctx.xp.sum(g, axis=0) if need_b else None
        return grad_x, grad_w, grad_b


def _outer_sum(a: Any, b: Any) -> Any:
    """``a^T @ b`` for (batch, m) and (batch, n): the sum over the batch of outer products, (m, n)."""
    if a.shape[0] == 1:
        return a.T * b  # one sample: a broadcast multiply; NumPy's matmul skips BLAS when a side is 1
    return a.T @ b


def _linear_error(x: Any, weight: Any, w: Any, bias: Any) -> OpError:
    """The error that says which of x (..., in), W and b (out,) do not fit together."""
    if weight.ndim != 2:
        return OpError(f"linear needs a 2-D weight (in_features, out_features), got {tuple(weight.shape)}")
    if x.ndim >= 1 and x.shape[-1] != w.shape[0]:
        hint = "; flatten images first: x.reshape(len(x), -1)" if x.ndim > 2 else ""
        return OpError(
            f"linear: input of shape {tuple(x.shape)} has {x.shape[-1]} features on its last axis, "
            f"but the weight {tuple(weight.shape)} expects {w.shape[0]}{hint}"
        )
    try:
        check_matmul_shapes("linear", (1, *x.shape[-1:]), w.shape)
    except OpError as error:
        return error
    return OpError(f"linear: bias of shape {tuple(bias.shape)} does not fit weight {tuple(weight.shape)}")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, transpose_weight: bool = False) -> Tensor:
    """The dense layer ``y = x @ W + b``, written as the source tutorials write it.

    Shapes: x (..., in), W (in, out), b (out,) -> y (..., out).  With ``transpose_weight=True`` the layer
    computes ``x @ W.T + b`` for W of shape (out, in): a tied decoder reuses its encoder's weight this
    way, and W's gradient is then made directly in W's own shape.
    Gradients: dx = g @ W^T, dW = x^T @ g, db = g summed over the batch.

    >>> import tinyae, tinyae.functional as F
    >>> F.linear(tinyae.tensor([[1.0, 2.0]]), tinyae.tensor([[1.0], [1.0]]), tinyae.tensor([0.5])).shape
    (1, 1)
    >>> F.linear(tinyae.tensor([[1.0, 2.0]]), tinyae.tensor([[1.0, 1.0]]), transpose_weight=True).shape
    (1, 1)
    """
    return Linear.apply(x, weight, bias, transpose_weight=transpose_weight)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for matrices (..., n, k) @ (..., k, m) -> (..., n, m)."""
    return a @ b


class Exp(Function):
    """``y = e^x``; dy/dx = y, so the output is saved rather than the input."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        y = ctx.xp.exp(x)
        ctx.save(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (y,) = ctx.saved
        return grad * y


class Log(Function):
    """``y = ln x`` for x > 0; dy/dx = 1/x."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save(x)
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved
        return grad / x


class Sqrt(Function):
    """``y = sqrt(x)`` for x > 0; dy/dx = 1 / (2 y)."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        y = ctx.xp.sqrt(x)
        ctx.save(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (y,) = ctx.saved
        return grad / (2 * y)


class Square(Function):
    """``y = x^2``; dy/dx = 2x."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save(x)
        return x * x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved
        return 2 * grad * x


def exp(x: Tensor) -> Tensor:
    """Elementwise ``e^x`` (same shape)."""
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    """Elementwise natural logarithm of a positive tensor (same shape)."""
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    """Elementwise square root of a positive tensor (same shape)."""
    return Sqrt.apply(x)


def square(x: Tensor) -> Tensor:
    """Elementwise ``x^2`` (same shape)."""
    return Square.apply(x)
