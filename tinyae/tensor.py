"""The Tensor, the Function every op subclasses, and the arithmetic primitives behind ``+ - * / @ **``.

A :class:`Tensor` wraps one backend array (``.data``).  An op is a :class:`Function` subclass with two
static methods that see plain arrays, never tensors::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):             # y = e^x
            y = ctx.xp.exp(x)
            ctx.save(y)                  # dy/dx = e^x = y: cheaper to keep y than recompute it
            return y

        @staticmethod
        def backward(ctx, grad):         # dL/dx = dL/dy * y
            (y,) = ctx.saved
            return grad * y

``Exp.apply(t)`` runs ``forward`` on ``t.data`` and, when a gradient is wanted, records a
:class:`Context` node that links the result to ``t``; :mod:`tinyae.autograd` later walks those nodes
backwards.  ``backward`` may return gradients shaped like the broadcast result: the driver sums them back.

>>> import tinyae
>>> x = tinyae.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
array([2., 4., 6.], dtype=float32)
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, ClassVar

from tinyae import autograd
from tinyae.backend import (
    Backend,
    BackendError,
    backend_of,
    dtype_name,
    format_host,
    get_backend,
    is_host_array,
    is_host_scalar,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Context", "Function", "OpError", "Tensor", "tensor"]

Axis = int | tuple[int, ...] | None


class OpError(ValueError):
    """An op was given inputs it cannot combine (shapes, dtypes); the message names the op and the inputs."""


class Context(autograd.Node):
    """One node of the graph: which op ran, on which inputs, and what it saved for its backward rule.

    Ops read ``ctx.xp`` (the array namespace), store arrays with ``ctx.save(...)`` and read them back as
    ``ctx.saved``; other values they need (an axis, a flag) they set as attributes: ``ctx.axis = axis``.
    ``ctx.needs_input_grad[i]`` tells backward whether input i wants a gradient at all, so that an
    expensive one (a matrix product for the data batch) can be skipped.
    """

    __slots__ = (
        "__dict__",
        "inputs",
        "needs_input_grad",
        "op",
        "out_dtype",
        "out_shape",
        "released",
        "saved",
        "xp",
    )

    def __init__(self, op: type[Function], xp: Any) -> None:
        self.op = op
        self.xp = xp
        # per input: the Context that made it, the leaf Tensor itself, or None (a Python number)
        self.inputs: tuple[Context | Tensor | None, ...] = ()
        self.out_shape: tuple[int, ...] = ()
        self.out_dtype: Any = None
        self.needs_input_grad: tuple[bool, ...] = ()  # per input: skip work for data and constants
        self.saved: tuple[Any, ...] = ()
        self.released = False

    def save(self, *arrays: Any) -> None:
        """Keep arrays for the backward rule (only what it needs: memory lives until backward)."""
        self.saved = arrays

    if TYPE_CHECKING:  # ops set their own attributes (ctx.axis = ...); at run time a typo still raises

        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    def release(self) -> None:
        """Drop the inputs and saved arrays once backward has passed: the graph is freed."""
        self.inputs = ()
        self.saved = ()
        self.__dict__.clear()
        self.released = True


class Function:
    """Base class of every op: subclass it, write ``forward`` and ``backward``, call ``Op.apply(...)``.

    ``forward(ctx, *arrays, **params)`` returns the output array, or a tuple whose first item is the
    output and whose other items are by-products that carry no gradient (batch statistics).
    ``backward(ctx, grad)`` returns one gradient per positional input (``None`` where there is none).

    An op whose backward returns only arrays it has just made (products, sums; views of them count), never
    an input, a saved array or ``grad`` itself, may say so with ``fresh_gradients = True``: when an input
    receives gradients from several ops, the driver then adds the earlier ones into that array instead of
    making a new one for the sum (a tied weight's two halves, for one).
    """

    fresh_gradients: ClassVar[bool] = False

    @staticmethod
    def forward(ctx: Context, *arrays: Any, **params: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the op on tensors (Python scalars pass through as constants) and record it in the graph."""
        backend: Backend | None = None
        for x in inputs:  # the common backend of the tensors; this runs for every op, so it is kept plain
            if isinstance(x, Tensor):
                if backend is None:
                    backend = x.backend
                elif x.backend is not backend:
                    raise _two_backends(cls, backend, x.backend)
        if backend is None:
            backend = get_backend()
        # per input: where its gradient goes (the node that made it, or the leaf itself), and its data
        sources: list[Context | Tensor | None] = []
        arrays: list[Any] = []
        needs: list[bool] = []  # per input: does it want a gradient?
        for x in inputs:
            if not isinstance(x, Tensor) and type(x) not in _PLAIN_NUMBERS:
                x = _operand(x, backend)
            if isinstance(x, Tensor):
                arrays.append(x.data)
                sources.append(x if x.node is None else x.node)  # only leaves are kept as tensors
                needs.append(x.requires_grad)
            else:
                sources.append(None)
                arrays.append(x)
                needs.append(False)
        ctx = Context(cls, backend.xp)
        try:
            out = cls.forward(ctx, *arrays, **params)
        except OpError:
            raise
        except (ValueError, TypeError) as error:
            described = ", ".join(_describe(x) for x in inputs)
            raise OpError(f"{cls.__name__} cannot combine {described}: {error}") from error
        extras: tuple[Any, ...] = ()
        if isinstance(out, tuple):
            out, *rest = out
            extras = tuple(Tensor._wrap(backend.xp.asarray(e), backend) for e in rest)
        result = Tensor._wrap(backend.xp.asarray(out), backend)
        if True in needs and autograd.is_grad_enabled():
            ctx.inputs = tuple(sources)
            ctx.needs_input_grad = tuple(needs)
            ctx.out_shape, ctx.out_dtype = tuple(result.data.shape), result.data.dtype
            result.node = ctx
            result.requires_grad = True
        return (result, *extras) if extras else result


_PLAIN_NUMBERS = (float, int, bool)  # constants that need no conversion (checked first: it is quick)


def _two_backends(op: type[Function], first: Backend, second: Backend) -> BackendError:
    return BackendError(
        f"{op.__name__} got tensors on two backends, {first.name!r} and {second.name!r}; "
        f"move one with .to({first.name!r})"
    )


def _operand(x: Any, backend: Backend) -> Any:
    """Tensors and Python numbers as they are; arrays and lists as constant tensors on ``backend``."""
    if x is None or isinstance(x, Tensor):
        return x
    if is_host_scalar(x):
        # a NumPy scalar is not "weak" like a Python float: np.float64(2) * float32 data gives float64
        return x.item()
    if isinstance(x, numbers.Number):
        return x
    return Tensor(x, backend=backend)


def _describe(x: Any) -> str:
    if isinstance(x, Tensor):
        return f"shape {x.shape} ({dtype_name(x.dtype)})"
    return repr(x)


class Tensor:
    """An array on some backend, plus what autograd needs: ``grad``, ``requires_grad`` and ``node``.

    Make one with :func:`tinyae.tensor`.  ``node`` is the :class:`Context` of the op that produced it
    (``None`` for a leaf: data or a parameter).  After ``loss.backward()``, every leaf that requires a
    gradient holds d loss / d leaf in ``.grad``, a backend array of its own shape and dtype.
    """

    __slots__ = ("__weakref__", "backend", "data", "grad", "node", "requires_grad")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to the Tensor's reflected operator

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        *,
        dtype: Any = None,
        backend: str | Backend | None = None,
    ) -> None:
        self.backend = _target_backend(data, backend)
        self.data = _to_array(data, self.backend, dtype)
        self.grad: Any = None
        self.node: Context | None = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    @classmethod
    def _wrap(cls, array: Any, backend: Backend) -> Tensor:
        """A constant tensor around an array already on ``backend`` (no checks, no copy: the op path)."""
        t = object.__new__(cls)
        t.data, t.backend, t.grad, t.node, t.requires_grad = array, backend, None, None, False
        return t

    # --- what it is ---------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return int(self.data.ndim)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = format_host(self.numpy(), prefix="tensor(")
        extra = f", backend={self.backend.name!r}" if self.backend.name != "numpy" else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}, dtype={dtype_name(self.dtype)}{extra}{grad})"

    # --- autograd -----------------------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark this leaf as one whose gradient backward should compute (floating dtypes only)."""
        if requires_grad and not self.backend.xp.isdtype(self.dtype, "real floating"):
            raise TypeError(f"only floating tensors can require gradients, not {dtype_name(self.dtype)}")
        self.requires_grad = requires_grad
        return self

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Fill ``.grad`` of every leaf this tensor depends on with d self / d leaf (times ``grad``).

        ``grad`` is d loss / d self; it may be left out only when this tensor holds one element.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no leaf requires one)")
        xp = self.backend.xp
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {self.shape} needs grad=: only a one-element "
                    "output (a loss) has the implicit gradient 1"
                )
            grad = xp.ones(self.shape, dtype=self.dtype)
        else:
            grad = _to_array(grad, self.backend, self.dtype)
            if grad.shape != self.data.shape:
                raise ValueError(
                    f"backward() got grad of shape {tuple(grad.shape)} for a tensor of shape {self.shape}"
                )
        if self.node is None:
            self.grad = self.backend.xp.asarray(grad, copy=True) if self.grad is None else self.grad + grad
        else:
            autograd.backward(self, grad, retain_graph)

    def detach(self) -> Tensor:
        """The same data as a new leaf that is cut from the graph."""
        return Tensor._wrap(self.data, self.backend)

    # --- leaving the tensor -------------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (the same memory on the numpy backend, a host copy elsewhere)."""
        return self.backend.to_numpy(self.data)

    def item(self) -> float | int | bool:
        """The single value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        value: float | int | bool = self.numpy().reshape(()).item()
        return value

    def to(self, backend: str | Backend) -> Tensor:
        """This tensor's data on another backend, as a leaf (gradients do not flow across the copy)."""
        target = get_backend(backend)
        if target is self.backend:
            return self
        moved = Tensor._wrap(target.asarray(self.numpy(), copy=True), target)
        moved.requires_grad = self.requires_grad
        return moved

    # --- arithmetic ---------------------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return Div.apply(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMul.apply(other, self)

    def __pow__(self, exponent: float) -> Tensor:
        if not isinstance(exponent, numbers.Real):
            raise TypeError(f"tensor ** needs a real Python exponent, not {type(exponent).__name__}")
        return Pow.apply(self, exponent=exponent)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    @property
    def T(self) -> Tensor:  # noqa: N802 - the conventional name
        """The transpose of a matrix (the last two axes swapped)."""
        return Transpose.apply(self)

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        target = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        return Reshape.apply(self, shape=tuple(target))


def tensor(
    data: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None
) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    Python numbers and lists become float32 unless ``dtype`` says otherwise; arrays keep their dtype.
    ``backend`` defaults to the current default (see ``use_backend``) for host data (Python data, NumPy
    arrays) and to the array's own backend for a CuPy or strict array.

    >>> tensor([[1, 2], [3, 4]]).dtype
    dtype('float32')
    """
    source = data.data if isinstance(data, Tensor) else data
    t = Tensor(source, requires_grad=False, dtype=dtype, backend=backend)
    if not isinstance(source, (numbers.Number, list, tuple)):
        # never share memory with the caller's array: optimizers update parameters in place
        t.data = t.backend.xp.asarray(t.data, copy=True)
    return t.requires_grad_(requires_grad)


def _target_backend(data: Any, backend: str | Backend | None) -> Backend:
    if backend is not None:
        return get_backend(backend)
    if isinstance(data, Tensor):
        return data.backend
    if isinstance(data, (numbers.Number, list, tuple)) or is_host_array(data):
        return get_backend()  # host data goes to the current default backend
    return backend_of(data)


def _to_array(data: Any, backend: Backend, dtype: Any) -> Any:
    """``data`` as an array on ``backend``; Python data defaults to float32, arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (numbers.Number, list, tuple)):
        return backend.asarray(data, dtype="float32" if dtype is None else dtype)
    if backend.owns(data) and not is_host_scalar(data):
        return data if dtype is None else backend.xp.astype(data, backend.dtype(dtype))
    host = backend_of(data).to_numpy(data)
    return backend.asarray(host, dtype=dtype)


# --- the arithmetic primitives ----------------------------------------------------------------------------


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
    """``x ** p`` for a Python number ``p``.  d/dx = p * x**(p-1)."""

    @staticmethod
    def forward(ctx: Context, x: Any, exponent: float) -> Any:
        ctx.save(x)
        ctx.exponent = exponent
        return x**exponent

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved
        p = ctx.exponent
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


def check_matmul_shapes(op: str, a: tuple[int, ...], b: tuple[int, ...]) -> None:
    """Raise :class:`OpError` naming both shapes unless ``a @ b`` is defined for matrices."""
    if len(a) < 2 or len(b) < 2:
        raise OpError(f"{op} needs matrices (2 or more axes), got shapes {tuple(a)} and {tuple(b)}")
    if a[-1] != b[-2]:
        raise OpError(
            f"{op}: shapes {tuple(a)} and {tuple(b)} do not align: the first has {a[-1]} columns, "
            f"the second {b[-2]} rows"
        )


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
    """Mean over ``axis``.  Each of the n averaged elements gets 1/n of the output's gradient."""

    @staticmethod
    def forward(ctx: Context, x: Any, axis: Axis, keepdims: bool) -> Any:
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return ctx.xp.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        count = math.prod(ctx.shape) // max(math.prod(grad.shape), 1)
        return _spread(ctx, grad / count)


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
