"""The :class:`Tensor` users hold, and :func:`tensor`, which makes one.

A tensor wraps one backend array (``.data``); its operators are ops (:mod:`tinyae.arithmetic`), so every
``+`` or ``@`` on a tensor that requires a gradient is recorded in the graph.  What ops and the backward
driver need of a tensor (``data``, ``grad``, ``node``, ``backward``) is its base,
:class:`~tinyae.function.TensorBase`.

>>> import tinyae
>>> x = tinyae.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
array([2., 4., 6.], dtype=float32)
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

from tinyae.arithmetic import Add, Div, MatMul, Mean, Mul, Neg, Pow, Reshape, Sub, Sum, Transpose
from tinyae.backend import Backend, backend_of, dtype_name, format_host, get_backend, is_host_array
from tinyae.function import (
    Context,
    Function,
    OpError,
    TensorBase,
    as_array,
    check_matmul_shapes,
)

if TYPE_CHECKING:
    import numpy as np

# Context, Function, OpError, check_matmul_shapes and Transpose are re-exported: ops import them from here
__all__ = [
    "Context",
    "Function",
    "OpError",
    "Tensor",
    "Transpose",
    "check_matmul_shapes",
    "tensor",
]

Axis = int | tuple[int, ...] | None


class Tensor(TensorBase):
    """An array on some backend that can take part in the graph; make one with :func:`tinyae.tensor`.

    ``grad``, ``requires_grad``, ``node``, ``backward()`` and ``detach()`` come from
    :class:`~tinyae.function.TensorBase`; this class adds construction, conversions and the operators.
    """

    __slots__ = ()

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        *,
        dtype: Any = None,
        backend: str | Backend | None = None,
    ) -> None:
        self.backend = _target_backend(data, backend)
        self.data = as_array(data, self.backend, dtype)
        self.grad = None
        self.node = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = format_host(self.numpy(), prefix="tensor(")
        extra = f", backend={self.backend.name!r}" if self.backend.name != "numpy" else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}, dtype={dtype_name(self.dtype)}{extra}{grad})"

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
    The floating dtypes are float32 and float64: float16 data is refused unless ``dtype`` asks for a
    cast (``dtype="float32"``).  Integer arrays stay integer (class labels).
    ``backend`` defaults to the current default (see ``use_backend``) for host data (Python data, NumPy
    arrays) and to the array's own backend for a CuPy or strict array.

    >>> tensor([[1, 2], [3, 4]]).dtype
    dtype('float32')
    """
    source = data.data if isinstance(data, TensorBase) else data
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
