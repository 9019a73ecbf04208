"""How an op runs and records itself: :class:`Function` (the base of every op), :class:`Context` (one node of
the graph) and :class:`TensorBase` (what ops and the backward driver need of a tensor).

An op is a :class:`Function` subclass with two static methods that see plain arrays, never tensors::

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

``Exp.apply(t)`` runs ``forward`` on ``t.data`` and, when a gradient is wanted, records a :class:`Context`
that links the result to ``t``; :func:`tinyae.autograd.backward` later walks those nodes backwards.
``backward`` may return gradients shaped like the broadcast result: the driver sums them back.

The user's :class:`tinyae.tensor.Tensor` subclasses :class:`TensorBase` and adds the operators
(``+ - * / @``), which are ops themselves; keeping the base here lets those ops be defined (in
:mod:`tinyae.arithmetic`) before the class that uses them, without an import cycle.

The dtype policy: tinyae computes in float32 or float64.  An op refuses inputs of two floating dtypes
(a float32 batch times a float64 array) with a ``TypeError`` naming the op and both dtypes, with or
without a graph, so that float32 work never becomes float64 silently.  Python numbers are "weak": they
take the dtype of the tensor they meet.
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
    is_host_array,
    is_host_scalar,
)

__all__ = ["Context", "Function", "OpError", "TensorBase", "as_array", "check_matmul_shapes"]

FLOAT_DTYPES = ("float32", "float64")


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
        self.op, self.xp, self.released = op, xp, False
        # per input: the Context that made it, the leaf tensor itself, or None (a constant)
        self.inputs: tuple[Any, ...] = ()
        self.needs_input_grad: tuple[bool, ...] = ()  # per input: does it want a gradient?
        self.saved: tuple[Any, ...] = ()
        self.out_shape, self.out_dtype = (), None  # of the output: to check the gradients sent back

    def save(self, *arrays: Any) -> None:
        """Keep arrays for the backward rule (only what it needs: memory lives until backward)."""
        self.saved = arrays

    if TYPE_CHECKING:  # ops set their own attributes (ctx.axis = ...); at run time a typo still raises

        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    def release(self) -> None:
        """Drop the inputs and saved arrays once backward has passed: the graph is freed."""
        self.inputs, self.saved, self.released = (), (), True
        self.__dict__.clear()


class Function:
    """Base class of every op: subclass it, write ``forward`` and ``backward``, call ``Op.apply(...)``.

    ``forward(ctx, *arrays, **params)`` returns the output array, or a tuple whose first item is the
    output and whose other items are by-products that carry no gradient (batch statistics).
    ``backward(ctx, grad)`` returns one gradient per positional input (``None`` where there is none).

    An op whose backward returns only arrays it has just made (products, sums; views of them count), never
    an input, a saved array or ``grad`` itself, may say so with ``fresh_gradients = True``: the driver may
    then add other gradients into those arrays instead of allocating a new array for each sum.
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
        """Run the op on tensors (numbers and arrays are constants) and record it in the graph if needed."""
        first = _first_tensor(cls, inputs)  # it gives the backend, and the class of the result (Tensor)
        backend = first.backend
        arrays, sources, needs = [], [], []  # per input: its array, the node or leaf that made it, a flag
        for x in inputs:
            tensor = isinstance(x, TensorBase)
            arrays.append(x.data if tensor else _constant(x, backend))
            sources.append((x.node or x) if tensor else None)
            needs.append(tensor and x.requires_grad)  # does this input want a gradient?
        if len(arrays) > 1:
            _check_one_float_dtype(cls, arrays, backend.xp)
        ctx = Context(cls, backend.xp)
        try:
            out = cls.forward(ctx, *arrays, **params)
        except OpError:
            raise
        except (ValueError, TypeError) as error:  # the backend's complaint: say which op and inputs
            raise OpError(f"{cls.__name__} cannot combine {_describe(inputs)}: {error}") from error
        out, *extras = out if isinstance(out, tuple) else (out,)  # extras: batch statistics, say
        result = type(first)._wrap(backend.xp.asarray(out), backend)
        if True in needs and autograd.is_grad_enabled():
            ctx.inputs, ctx.needs_input_grad = tuple(sources), tuple(needs)
            ctx.out_shape, ctx.out_dtype = result.data.shape, result.data.dtype
            result.node, result.requires_grad = ctx, True
        if extras:
            return (result, *(type(first)._wrap(backend.xp.asarray(e), backend) for e in extras))
        return result


def _first_tensor(op: type[Function], inputs: tuple[Any, ...]) -> TensorBase:
    """The first tensor among the inputs, once all tensors are known to share its backend."""
    first = None
    for x in inputs:  # plain loops here and below: this runs for every op
        if isinstance(x, TensorBase):
            if first is None:
                first = x
            elif x.backend is not first.backend:
                raise _two_backends(op, [t for t in inputs if isinstance(t, TensorBase)])
    if first is None:
        raise TypeError(f"{op.__name__} needs at least one tensor input, got {_describe(inputs)}")
    return first


def _two_backends(op: type[Function], tensors: list[TensorBase]) -> BackendError:
    first = tensors[0].backend.name
    second = next(t.backend.name for t in tensors if t.backend.name != first)
    return BackendError(
        f"{op.__name__} got tensors on two backends, {first!r} and {second!r}; move one with .to({first!r})"
    )


def _constant(x: Any, backend: Backend) -> Any:
    """A non-tensor input: Python numbers and None as they are, arrays and lists on ``backend``."""
    if x is None or type(x) in _PLAIN_NUMBERS:
        return x
    if is_host_scalar(x) or (is_host_array(x) and x.ndim == 0):
        # a NumPy float64 scalar is not "weak" like a Python float: as a Python number it takes the
        # dtype of the tensor it meets, as the user means by ``2 * x``
        return x.item()
    if isinstance(x, numbers.Number):
        return x
    return as_array(x, backend, None)


_PLAIN_NUMBERS = (float, int, bool)  # constants that need no conversion (checked first: it is quick)


def _check_one_float_dtype(op: type[Function], arrays: list[Any], xp: Any) -> None:
    """Raise ``TypeError`` when the inputs hold two floating dtypes (no silent float64 results)."""
    first = None
    for a in arrays:  # a plain loop: this runs for every op with two or more inputs
        dtype = getattr(a, "dtype", first)  # Python numbers have none: they take the tensors' dtype
        if dtype is not first and first is not None:
            return _check_floats(op, arrays, xp)
        first = dtype
    return None


def _check_floats(op: type[Function], arrays: list[Any], xp: Any) -> None:
    """The inputs hold two dtypes (labels beside floats, or a real mix): refuse two floating ones."""
    floats = {a.dtype for a in arrays if hasattr(a, "dtype") and xp.isdtype(a.dtype, "real floating")}
    if len(floats) > 1:
        raise _mixed_dtypes(op, floats)


def _mixed_dtypes(op: type[Function], floats: set[Any]) -> TypeError:
    first, second = sorted((dtype_name(d) for d in floats), reverse=True)
    return TypeError(
        f"{op.__name__} got {first} and {second} inputs; tinyae never mixes float dtypes silently: "
        f"cast one first (tinyae.tensor(data, dtype={first!r}))"
    )


def _describe(inputs: tuple[Any, ...]) -> str:
    described = (
        f"shape {x.shape} ({dtype_name(x.dtype)})" if isinstance(x, TensorBase) else repr(x) for x in inputs
    )
    return ", ".join(described)


def check_matmul_shapes(op: str, a: tuple[int, ...], b: tuple[int, ...]) -> None:
    """Raise :class:`OpError` naming both shapes unless ``a @ b`` is defined for matrices."""
    if len(a) < 2 or len(b) < 2:
        raise OpError(f"{op} needs matrices (2 or more axes), got shapes {tuple(a)} and {tuple(b)}")
    if a[-1] != b[-2]:
        raise OpError(
            f"{op}: shapes {tuple(a)} and {tuple(b)} do not align: the first has {a[-1]} columns, "
            f"the second {b[-2]} rows"
        )


def as_array(data: Any, backend: Backend, dtype: Any) -> Any:
    """``data`` as an array on ``backend``; Python data defaults to float32, arrays keep their dtype.

    Only float32 and float64 are floating dtypes here: float16 (or wider floats) is refused by name.
    """
    if isinstance(data, TensorBase):
        data = data.data
    if isinstance(data, (numbers.Number, list, tuple)):
        array = backend.asarray(data, dtype="float32" if dtype is None else dtype)
    elif backend.owns(data) and not is_host_scalar(data):
        array = data if dtype is None else backend.xp.astype(data, backend.dtype(dtype))
    else:
        array = backend.asarray(backend_of(data).to_numpy(data), dtype=dtype)
    if backend.xp.isdtype(array.dtype, "real floating") and dtype_name(array.dtype) not in FLOAT_DTYPES:
        raise TypeError(f"tinyae computes in float32 or float64, not {dtype_name(array.dtype)}")
    return array


class TensorBase:
    """An array on a backend, plus what autograd needs: ``grad``, ``requires_grad`` and ``node``.

    ``node`` is the :class:`Context` of the op that produced it (``None`` for a leaf: data or a
    parameter).  After ``loss.backward()``, every leaf that requires a gradient holds d loss / d leaf in
    ``.grad``, a backend array of its own shape and dtype.  Users make :class:`tinyae.tensor.Tensor`.
    """

    __slots__ = ("__weakref__", "backend", "data", "grad", "node", "requires_grad")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to the Tensor's reflected operator

    backend: Backend
    data: Any
    grad: Any
    node: Context | None
    requires_grad: bool

    @classmethod
    def _wrap(cls, array: Any, backend: Backend) -> Any:
        """A constant tensor around an array already on ``backend`` (no checks, no copy: the op path)."""
        t = object.__new__(cls)
        t.data, t.backend, t.grad, t.node, t.requires_grad = array, backend, None, None, False
        return t

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

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        """Mark this leaf as one whose gradient backward should compute (floating dtypes only)."""
        if requires_grad and not self.backend.xp.isdtype(self.dtype, "real floating"):
            raise TypeError(f"only floating tensors can require gradients, not {dtype_name(self.dtype)}")
        self.requires_grad = requires_grad
        return self

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Fill ``.grad`` of every leaf this tensor depends on with d self / d leaf (times ``grad``).

        ``grad`` is d loss / d self; it may be left out only when this tensor holds one element (a loss).
        """
        data = self.data
        usable = self.requires_grad and type(grad) is type(data)  # an array of our kind: check it is ours
        if not (usable and (grad.shape, grad.dtype) == (data.shape, data.dtype)):
            grad = self._output_gradient(grad)  # refuse, convert, or make the implicit ones
        if self.node is not None:
            autograd.backward(self, grad, retain_graph)
        else:  # a leaf: d self / d self = 1
            self.grad = self.backend.xp.asarray(grad, copy=True) if self.grad is None else self.grad + grad

    def _output_gradient(self, grad: Any) -> Any:
        """``grad`` as an array of this tensor's backend, dtype and shape (ones for a one-element tensor)."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no leaf requires one)")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() on a tensor of shape {self.shape} needs grad= (not a loss)")
            return self.backend.xp.ones(self.shape, dtype=self.dtype)
        grad = as_array(grad, self.backend, self.dtype)
        if grad.shape != self.data.shape:
            raise ValueError(f"backward() got grad of shape {grad.shape} for a tensor of shape {self.shape}")
        return grad

    def detach(self) -> Any:
        """The same data as a new leaf that is cut from the graph."""
        return type(self)._wrap(self.data, self.backend)
