"""The dense layer and the elementary functions: ``linear``, ``exp``, ``log``, ``sqrt``, ``square``."""

from __future__ import annotations

from typing import Any

from tinyae.tensor import Context, Function, OpError, Tensor, Transpose, check_matmul_shapes

__all__ = ["exp", "linear", "log", "matmul", "sqrt", "square"]


class Linear(Function):
    """Fused ``x @ W + b``: one op instead of two saves a pass over the (batch, out) result."""

    fresh_gradients = True  # products and a sum (or views of them), never an input or ``grad``

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any) -> Any:
        xp = ctx.xp
        if x.ndim >= 1 and weight.ndim == 2 and x.shape[-1] != weight.shape[0]:
            hint = "; flatten images first: x.reshape(len(x), -1)" if x.ndim > 2 else ""
            raise OpError(
                f"linear: input of shape {tuple(x.shape)} has {x.shape[-1]} features on its last axis, "
                f"but the weight {tuple(weight.shape)} expects {weight.shape[0]}{hint}"
            )
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
        rows = x if x.ndim == 2 else xp.reshape(x, (-1, weight.shape[0]))
        ctx.save(rows, weight)
        ctx.x_shape = x.shape
        y = rows @ weight
        if bias is not None:
            y += bias  # in place: y is our own fresh array
        return y if x.ndim == 2 else xp.reshape(y, (*x.shape[:-1], weight.shape[1]))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        xp = ctx.xp
        rows, weight = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        g = grad if grad.ndim == 2 else xp.reshape(grad, (-1, weight.shape[1]))
        grad_x = None
        if need_x:  # the input batch is usually data: skipping its gradient saves one of the three GEMMs
            grad_x = g @ weight.T
            if len(ctx.x_shape) != 2:
                grad_x = xp.reshape(grad_x, ctx.x_shape)
        grad_w = _weight_gradient(ctx, rows, g) if need_w else None
        grad_b = xp.sum(g, axis=0) if need_b else None
        return grad_x, grad_w, grad_b


def _weight_gradient(ctx: Context, rows: Any, g: Any) -> Any:
    """dW = x^T g for rows x (batch, in) and g (batch, out), computed the fast way for its case."""
    # rows and g are 2-D, so ``.T`` is the matrix transpose (a view)
    if rows.shape[0] == 1:
        # one sample: dW is an outer product; NumPy's matmul skips BLAS when a dimension is 1 (390 us for
        # 784x500 here), a broadcast multiply takes 75 us
        return rows.T * g if not _is_tied(ctx) else (g.T * rows).T
    if _is_tied(ctx):
        # a tied decoder's W.T: make the gradient in W's own memory layout, (g^T x)^T, so that the encoder's
        # and the decoder's halves of dW add without a strided pass (3x faster here)
        return (g.T @ rows).T
    return rows.T @ g


def _is_tied(ctx: Context) -> bool:
    """True when the weight is ``W.T`` of another tensor (a tied decoder)."""
    weight_source = ctx.inputs[1]  # the node that made the weight, if an op did
    return isinstance(weight_source, Context) and weight_source.op is Transpose


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
