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

import itertools
import math
import numbers
from collections.abc import Sequence
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
_SEQUENCE = itertools.count()  # numbers the nodes in the order they are made


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
        "sequence",
        "xp",
    )
    inputs: Sequence[Any]  # per input: the Context that made it, the leaf tensor itself, or None
    needs_input_grad: Sequence[bool]  # per input: does it want a gradient?
    saved: tuple[Any, ...]

    def __init__(self, op: type[Function], xp: Any) -> None:
        # sequence: nodes made later get larger numbers, so the driver can sort them into an order
        self.op, self.xp, self.saved, self.released, self.sequence = op, xp, (), False, next(_SEQUENCE)

    def record(self, inputs: tuple[Any, ...], result: TensorBase) -> None:
        """Make this node ``result``'s parent, linked to its inputs, if any input wants a gradient and
        gradients are being recorded (not inside ``no_grad``)."""
        needs = [isinstance(x, TensorBase) and x.requires_grad for x in inputs]
        if True in needs and autograd.is_grad_enabled():
            # per input: the Context that made it, the leaf tensor itself, or None (a constant)
            self.inputs = [(x.node or x) if isinstance(x, TensorBase) else None for x in inputs]
            self.needs_input_grad, self.out_shape = needs, result.data.shape
            self.out_dtype, result.node, result.requires_grad = result.data.dtype, self, True

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
        first, arrays = _as_arrays(cls, inputs)  # first: the tensor that gives the backend and the class
        ctx = Context(cls, first.backend.xp)
        try:
            out = cls.forward(ctx, *arrays, **params)
        except OpError:
            raise
        except (ValueError, TypeError) as error:  # the backend's complaint: say which op and inputs
            raise OpError(f"{cls.__name__} cannot combine {_describe(inputs)}: {error}") from error
        outs = out if isinstance(out, tuple) else (out,)  # after the output: batch statistics, say
        results = [type(first)._wrap(first.backend.xp.asarray(a), first.backend) for a in outs]
        ctx.record(inputs, results[0])  # in the graph, when a gradient is wanted
        return tuple(results) if len(results) > 1 else results[0]


def _as_arrays(op: type[Function], inputs: tuple[Any, ...]) -> tuple[TensorBase, list[Any]]:
    """The first tensor, and every input as an array on its backend, once all share that backend and
    hold at most one float dtype."""
    tensors = [x for x in inputs if isinstance(x, TensorBase)]
    if not tensors:
        raise TypeError(f"{op.__name__} needs at least one tensor input, got {_describe(inputs)}")
    arrays = [x.data if isinstance(x, TensorBase) else _constant(op, x, tensors) for x in inputs]
    if len(tensors) > 1 and len({(t.backend, t.data.dtype) for t in tensors}) > 1:
        _check_mixture(op, tensors, arrays)  # two backends, or labels beside floats, or two float dtypes
    return tensors[0], arrays


def _check_mixture(op: type[Function], tensors: list[TensorBase], arrays: list[Any]) -> None:
    """Refuse tensors on two backends, and inputs of two float dtypes (integer labels may join floats)."""
    if len({t.backend for t in tensors}) > 1:
        raise _two_backends(op, tensors)
    _check_floats(op, arrays, tensors[0].backend.xp)


def _two_backends(op: type[Function], tensors: list[TensorBase]) -> BackendError:
    first = tensors[0].backend.name
    second = next(t.backend.name for t in tensors if t.backend.name != first)
    return BackendError(
        f"{op.__name__} got tensors on two backends, {first!r} and {second!r}; move one with .to({first!r})"
    )


def _constant(op: type[Function], x: Any, tensors: list[TensorBase]) -> Any:
    """A non-tensor input: Python numbers and None as they are, arrays and lists on the tensors' backend
    (an array of another float dtype than the tensors' is refused)."""
    if x is None or type(x) in _PLAIN_NUMBERS:
        return x
    if is_host_scalar(x) or (is_host_array(x) and x.ndim == 0):
        # a NumPy float64 scalar is not "weak" like a Python float: as a Python number it takes the
        # dtype of the tensor it meets, as the user means by ``2 * x``
        return x.item()
    if isinstance(x, numbers.Number):
        return x
    array = as_array(x, tensors[0].backend, None)
    _check_floats(op, [array, *(t.data for t in tensors)], tensors[0].backend.xp)
    return array


_PLAIN_NUMBERS = (float, int, bool)  # constants that need no conversion (checked first: it is quick)


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
        usable = self.requires_grad and type(grad) is type(self.data)  # an array of our kind: is it ours?
        if not (usable and (grad.shape, grad.dtype) == (self.data.shape, self.data.dtype)):
            grad = self._output_gradient(grad)  # refuse, convert, or make the implicit ones
        autograd.backward(self, grad, retain_graph)  # a leaf just receives grad: d self / d self = 1

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
