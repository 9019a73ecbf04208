"""The dense layer and the elementary functions: ``linear``, ``exp``, ``log``, ``sqrt``, ``square``."""

from __future__ import annotations

from typing import Any

from tinyae.tensor import Context, Function, OpError, Tensor, Transpose, check_matmul_shapes

__all__ = ["exp", "linear", "log", "matmul", "sqrt", "square"]


class Linear(Function):
    """Fused ``x @ W + b``: one op instead of two saves a pass over the (batch, out) result."""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any) -> Any:
        xp = ctx.xp
        check_matmul_shapes("linear", (1, *x.shape[-1:]), weight.shape)
        if weight.ndim != 2:
            raise OpError(f"linear needs a 2-D weight (in_features, out_features), got {tuple(weight.shape)}")
        if weight.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
            bias_dtype = None if bias is None else bias.dtype
            raise OpError(
                f"linear: x, weight and bias must share one dtype, "
                f"got {x.dtype}, {weight.dtype} and {bias_dtype}"
            )
        if bias is not None and tuple(bias.shape) != (weight.shape[1],):
            raise OpError(
                f"linear: bias of shape {tuple(bias.shape)} does not fit weight {tuple(weight.shape)}"
            )
        # any leading axes are batch axes: fold them into one so that the product is a single GEMM
        rows = xp.reshape(x, (-1, weight.shape[0]))
        ctx.save(rows, weight)
        ctx.x_shape = x.shape
        y = xp.matmul(rows, weight)
        if bias is not None:
            y += bias  # in place: y is our own fresh array
        return xp.reshape(y, (*x.shape[:-1], weight.shape[1]))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        xp = ctx.xp
        rows, weight = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        g = xp.reshape(grad, (-1, weight.shape[1]))
        # the input batch is usually data: skipping its gradient saves one of the three GEMMs
        grad_x = xp.reshape(xp.matmul(g, xp.matrix_transpose(weight)), ctx.x_shape) if need_x else None
        grad_w = None
        if need_w:
            weight_input = ctx.inputs[1]
            weight_node = None if weight_input is None else weight_input.node
            if weight_node is not None and weight_node.op is Transpose:
                # a tied decoder's W.T: make the gradient in W's own memory layout, (g^T x)^T, so that the
                # encoder's and the decoder's halves of dW add without a strided pass (3x faster here)
                grad_w = xp.matrix_transpose(xp.matmul(xp.matrix_transpose(g), rows))
            else:
                grad_w = xp.matmul(xp.matrix_transpose(rows), g)
        grad_b = xp.sum(g, axis=0) if need_b else None
        return grad_x, grad_w, grad_b


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """The dense layer ``y = x @ W + b``, written as the source tutorials write it.

    Shapes: x (..., in), W (in, out), b (out,) -> y (..., out).
    Gradients: dx = g @ W^T, dW = x^T @ g, db = g summed over the batch.

    >>> import tinyae, tinyae.functional as F
    >>> F.linear(tinyae.tensor([[1.0, 2.0]]), tinyae.tensor([[1.0], [1.0]]), tinyae.tensor([0.5])).shape
    (1, 1)
    """
    return Linear.apply(x, weight, bias)


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
