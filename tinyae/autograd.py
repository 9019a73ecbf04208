"""Reverse-mode differentiation: the backward driver and the switch that turns graph building off.

Every tensor made by an op remembers the op's *node* (its :class:`~tinyae.tensor.Context`): the op class,
where each input came from (the node that made it, or the leaf tensor itself) and what the op saved for
its backward rule.  A node holds the nodes of its inputs, not the input tensors: an intermediate result
that the backward rules do not need (a pre-activation, say) is freed as soon as the user's code drops
it, as in PyTorch.  ``loss.backward()`` calls :func:`backward`, which

1. **order**: lists the nodes so that each comes after every node that uses its output (an iterative
   depth-first search: a chain of 10,000 ops needs no recursion),
2. **walk**: visits them from the loss back to the leaves, asking each op for its input gradients,
3. **check**: sums each gradient back over the axes that broadcasting added and checks its shape and
   dtype, naming the op when one is wrong,
4. **add**: adds it to what that input has received so far (a leaf's total is its ``.grad``), and frees
   each node once it is done.

Sums are made by one helper, :class:`GradientSums`, which knows when a sum may be written in place.

This module knows nothing about the ``Tensor`` class: it walks :class:`Node` objects, and gives leaves
(any object with ``data`` and ``grad``) their gradients.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["GradientSums", "Node", "backward", "enable_grad", "is_grad_enabled", "no_grad", "unbroadcast"]

_grad_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("tinyae_grad", default=True)

F = TypeVar("F", bound=Callable[..., Any])


class Node:
    """The base class of graph nodes (:class:`tinyae.tensor.Context` is the one kind).

    What the driver reads of a node: ``op`` (the Function class, whose static ``backward(node, grad)`` gives
    one gradient per input), ``inputs`` (per input: the ``Node`` that produced it, the leaf tensor, or
    None for a Python number), ``out_shape`` and ``out_dtype`` (of the op's output, to check the
    gradients sent back to it), ``released`` and ``release()``.
    """

    __slots__ = ()
    op: Any
    inputs: tuple[Any, ...]
    out_shape: tuple[int, ...]
    out_dtype: Any
    released: bool


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``: ops then build no graph."""
    return _grad_enabled.get()


class _GradMode:
    """Context manager and decorator that sets whether ops record a graph."""

    _enabled = True

    def __init__(self) -> None:
        self._tokens: list[contextvars.Token[bool]] = []

    def __enter__(self) -> None:
        self._tokens.append(_grad_enabled.set(self._enabled))

    def __exit__(self, *exc: object) -> None:
        _grad_enabled.reset(self._tokens.pop())

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):  # noqa: N801 - named like torch.no_grad
    """Build no graph inside the block (evaluation, optimizer updates): ``with tinyae.no_grad(): ...``.

    Also a decorator: ``@tinyae.no_grad()``.
    """

    _enabled = False


class enable_grad(_GradMode):  # noqa: N801 - named like torch.enable_grad
    """Record graphs again inside a ``no_grad`` block."""

    _enabled = True


def unbroadcast(grad: Any, shape: tuple[int, ...], xp: Any) -> Any:
    """Sum ``grad`` over the axes broadcasting added or stretched, so that it has ``shape`` again.

    Broadcasting a (3,) bias over a (100, 3) batch copies it 100 times; each copy received part of the
    gradient, so the bias's gradient is the sum over the batch axis.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = xp.sum(grad, axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = xp.sum(grad, axis=stretched, keepdims=True)
    return grad


def backward(root: Any, grad: Any, retain_graph: bool = False) -> None:
    """Propagate ``grad`` (d loss / d root, an array shaped like ``root``) back through ``root``'s graph."""
    order = _topological_order(root.node)  # 1. order: every node before the nodes that made its inputs
    received = {root.node: grad}  # per node: d loss / d its output, summed over its users so far
    sums = GradientSums(root.backend.xp)
    for node in order:  # 2. walk from the loss back to the leaves
        out_grad = received.pop(node)
        sums.forget(out_grad)  # the op below may keep or pass on what it reads
        in_grads = _input_gradients(node, out_grad)
        for index, (source, g) in enumerate(zip(node.inputs, in_grads, strict=True)):
            if source is None or g is None:
                continue  # a constant, or an input that needs no gradient
            if isinstance(source, Node):  # 3. check the shape and dtype, 4. add to what the input has
                g = _checked(node, index, source.out_shape, source.out_dtype, g)
                received[source] = sums.add(received.get(source), g, node.op.fresh_gradients)
            elif source.requires_grad:  # a leaf that wants a gradient (not data)
                g = _checked(node, index, source.data.shape, source.data.dtype, g)
                source.grad = sums.add(source.grad, g, node.op.fresh_gradients, leaf=True)
        if not retain_graph:
            node.release()


def _input_gradients(node: Any, out_grad: Any) -> tuple[Any, ...]:
    """The op's backward rule: one gradient (or None) per input, as a tuple."""
    in_grads = node.op.backward(node, out_grad)
    in_grads = in_grads if isinstance(in_grads, tuple) else (in_grads,)
    if len(in_grads) != len(node.inputs):
        raise _miscount(node, in_grads)
    return in_grads


def _miscount(node: Any, in_grads: tuple[Any, ...]) -> RuntimeError:
    name, given, wanted = node.op.__name__, len(in_grads), len(node.inputs)
    return RuntimeError(f"{name}.backward returned {given} gradients for {wanted} inputs")


class GradientSums:
    """Adds gradients, in place when no one else can hold the array being added into.

    When an input feeds several ops (a tied weight, a skip connection) its gradient is a sum.  Writing
    that sum into one of the two arrays saves allocating and filling a third.  That is safe only for an
    array this pass owns: one it made itself (a sum or a copy), or one just returned by an op whose
    ``fresh_gradients`` is True, and that no op has read since.  Arrays are kept by id, each one held so
    that its id cannot be reused during the pass.  A leaf's ``.grad`` is always an array of its own.
    """

    __slots__ = ("owned", "xp")

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self.owned: dict[int, Any] = {}  # id -> an array this pass may overwrite

    def forget(self, array: Any) -> None:
        """``array`` is handed to an op's backward: from now on others may hold it."""
        self.owned.pop(id(array), None)

    def add(self, earlier: Any, g: Any, fresh: bool, leaf: bool = False) -> Any:
        """``earlier + g`` (``g`` alone when ``earlier`` is None); ``fresh``: the op made ``g`` just now."""
        if earlier is None:  # a leaf's .grad is its own array, even when an op gave g to two inputs
            total = g if fresh or not leaf else self.xp.asarray(g, copy=True)
        elif fresh or self.owned.get(id(earlier)) is earlier:  # write into the array that is ours
            total = g if fresh else earlier
            total += earlier if fresh else g
        else:  # neither is ours to overwrite (an earlier .grad may be held by the user)
            total = earlier + g
        if total is not g or fresh:  # a new array, or a fresh one: this pass owns it
            self.owned[id(total)] = total
        return total


def _topological_order(start: Any) -> list[Any]:
    """Nodes reachable from ``start``, each listed before the nodes that produced its inputs.

    Depth-first search with an explicit stack (a chain of 10,000 ops needs no recursion): a node is
    appended once all of its producers are, and the reversed list starts at the loss.
    """
    order: list[Any] = []
    expanded: set[Any] = set()
    stack = [(start, False)]
    while stack:
        node, producers_done = stack.pop()
        if producers_done:
            order.append(node)
        elif node not in expanded:
            if node.released:
                raise _freed(node)
            expanded.add(node)
            stack.append((node, True))
            for source in node.inputs:
                if isinstance(source, Node) and source not in expanded:
                    stack.append((source, False))
    return order[::-1]


def _checked(node: Any, index: int, shape: tuple[int, ...], dtype: Any, grad: Any) -> Any:
    """``grad`` for input ``index`` of ``node`` (of ``shape`` and ``dtype``), summed back over the axes
    that broadcasting added; an error naming the op when it still does not fit."""
    if grad.shape == shape and grad.dtype == dtype:  # the usual case
        return grad
    grad = unbroadcast(grad, shape, node.xp)
    if grad.shape != shape or grad.dtype != dtype:
        raise _misfit(node, index, shape, dtype, grad)
    return grad


def _misfit(node: Any, index: int, shape: tuple[int, ...], dtype: Any, grad: Any) -> RuntimeError:
    if grad.shape != shape:
        return RuntimeError(
            f"{node.op.__name__}.backward returned a gradient of shape {tuple(grad.shape)} for input "
            f"{index}, which has shape {shape}"
        )
    return RuntimeError(
        f"{node.op.__name__}.backward returned a {grad.dtype} gradient for input {index}, "
        f"which is {dtype} (if the op mixed two float dtypes, cast its inputs to one first)"
    )


def _freed(node: Any) -> RuntimeError:
    return RuntimeError(
        f"backward through {node.op.__name__} a second time: its graph was freed by the first "
        "backward; pass retain_graph=True to the first call to keep it"
    )
