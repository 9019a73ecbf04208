"""The arithmetic primitives behind a tensor's operators: ``+ - * / @ **``, unary ``-``, ``.T``,
``.sum``, ``.mean`` and ``.reshape``.

Each is a :class:`~tinyae.function.Function` whose backward rule is one line of calculus.  Binary ops
broadcast like NumPy; their backward rules return gradients shaped like the broadcast result, and the
driver (:mod:`tinyae.autograd`) sums them back to each input's shape.
"""

from __future__ import annotations

import math
from typing import Any

from tinyae.function import Context, Function, OpError, check_matmul_shapes

__all__ = ["Add", "Div", "MatMul", "Mean", "Mul", "Neg", "Pow", "Reshape", "Sub", "Sum", "Transpose"]

Axis = int | tuple[int, ...] | None


class Add(Function):
    """``a + b`` (either may be a Python number).  d/da = 1, d/db = 1."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        return a + b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        return grad, grad


class Sub(Function):
    """``a - b``.  d/da = 1, d/db = -1."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        return a - b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """``a * b``.  d/da = b, d/db = a."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.save(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """``a / b``.  d/da = 1/b, d/db = -a/b**2."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.save(a, b)
        return a / b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b = ctx.saved
        grad_a = grad / b
        return grad_a, (-grad_a * a / b if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """``-x``.  d/dx = -1."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return -x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return -grad


class Pow(Function):
    """``x ** p`` for a Python number ``p``.  d/dx = p * x**(p-1), and exactly 0 for p = 0.

    (For p = 0 the formula would give 0 * 0**-1 = nan at x = 0, where x**0 = 1 is flat.)
    """

    @staticmethod
    def forward(ctx: Context, x: Any, exponent: float) -> Any:
        ctx.save(x)
        ctx.exponent = exponent
        return x**exponent

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved
        p = ctx.exponent
        if p == 0:
            return ctx.xp.zeros_like(grad)
        return grad * (p * x ** (p - 1))


class MatMul(Function):
    """``a @ b`` for (batched) matrices (..., n, k) @ (..., k, m) -> (..., n, m).

    d/da = grad @ b^T, d/db = a^T @ grad (summed over broadcast batch axes by the driver).
    """

    fresh_gradients = True  # both are new products

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        check_matmul_shapes("matmul", a.shape, b.shape)
        ctx.save(a, b)
        return ctx.xp.matmul(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b = ctx.saved
        xp = ctx.xp
        need_a, need_b = ctx.needs_input_grad
        grad_a = xp.matmul(grad, xp.matrix_transpose(b)) if need_a else None
        grad_b = xp.matmul(xp.matrix_transpose(a), grad) if need_b else None
        return grad_a, grad_b


class Transpose(Function):
    """Swap the last two axes.  The gradient is swapped back."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        if x.ndim < 2:
            raise OpError(f"transpose needs a matrix (2 or more axes), got shape {tuple(x.shape)}")
        return ctx.xp.matrix_transpose(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.xp.matrix_transpose(grad)


class Sum(Function):
    """Sum over ``axis`` (all axes when None).  Each summed element gets the output's gradient."""

    @staticmethod
    def forward(ctx: Context, x: Any, axis: Axis, keepdims: bool) -> Any:
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return ctx.xp.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return _spread(ctx, grad)


class Mean(Function):
    """Mean over ``axis``: the sum of x/n over the n averaged elements.  Each gets 1/n of the gradient.

    Dividing before summing keeps the mean finite wherever it is: four float32 values of 3e38 have a mean
    of 3e38, though their sum overflows.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, axis: Axis, keepdims: bool) -> Any:
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
        ctx.count = math.prod(x.shape[a] for a in axes)
        return ctx.xp.sum(x / max(ctx.count, 1), axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return _spread(ctx, grad / max(ctx.count, 1))


def _spread(ctx: Context, grad: Any) -> Any:
    """Broadcast the gradient of a reduction back over the reduced axes (a read-only view, no copy)."""
    if not ctx.keepdims and ctx.axis is not None:
        axes = (ctx.axis,) if isinstance(ctx.axis, int) else ctx.axis
        axes = tuple(a % len(ctx.shape) for a in axes)
        kept = tuple(1 if i in axes else n for i, n in enumerate(ctx.shape))
        grad = ctx.xp.reshape(grad, kept)
    return ctx.xp.broadcast_to(grad, ctx.shape)


class Reshape(Function):
    """View the same elements in a new shape; the gradient is reshaped back."""

    @staticmethod
    def forward(ctx: Context, x: Any, shape: tuple[int, ...]) -> Any:
        ctx.shape = x.shape
        return ctx.xp.reshape(x, shape)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.xp.reshape(grad, ctx.shape)
