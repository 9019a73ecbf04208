"""Reverse-mode differentiation: the backward driver and the switch that turns graph building off.

Every tensor made by an op remembers the op's *node* (its :class:`~tinyae.tensor.Context`): the op class,
where each input came from (the node that made it, or the leaf tensor itself) and what the op saved for
its backward rule.  A node holds the nodes of its inputs, not the input tensors: an intermediate result
that the backward rules do not need (a pre-activation, say) is freed as soon as the user's code drops
it, as in PyTorch.  ``loss.backward()`` calls :func:`backward`, which

1. **order**: lists the nodes reachable from the loss, latest made first, so that each comes before the
   nodes that made its inputs (found with an explicit stack: a chain of 10,000 ops needs no recursion),
2. **walk**: visits them from the loss back to the leaves, asking each op for its input gradients,
3. **check**: sums each gradient back over the axes that broadcasting added and checks its shape and
   dtype, naming the op when one is wrong,
4. **add**: adds it to what that input has received so far, and frees each node once it is done; what
   the leaves received, they add to their ``.grad``.

Sums are made by one helper, :class:`GradientSums`, which knows when a sum may be written in place.

This module knows nothing about the ``Tensor`` class: it walks :class:`Node` objects, and gives leaves
(any object with ``data`` and ``grad``) their gradients.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["GradientSums", "Node", "backward", "enable_grad", "is_grad_enabled", "no_grad", "unbroadcast"]

_grad_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("tinyae_grad", default=True)

F = TypeVar("F", bound=Callable[..., Any])


class Node:
    """The base class of graph nodes (:class:`tinyae.tensor.Context` is the one kind).

    What the driver reads of a node: ``op`` (the Function class, whose static ``backward(node, grad)`` gives
    one gradient per input), ``inputs`` (per input: the ``Node`` that produced it, the leaf tensor, or
    None for a Python number), ``out_shape`` and ``out_dtype`` (of the op's output, to check the
    gradients sent back to it), ``sequence`` (a number that grows with each node made, so that sorting
    by it gives an order of computation), ``released`` and ``release()``.
    """

    __slots__ = ()
    op: Any
    sequence: int
    inputs: Sequence[Any]
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
    received = {root.node or root: grad}  # per node or leaf: d loss / d it, summed over its users so far
    sums = GradientSums(root.backend.xp)
    # 1. order: each node before the nodes that made its inputs (none when the root is a leaf)
    for node in _topological_order(root.node) if root.node is not None else ():
        out_grad = received.pop(node)
        sums.forget(out_grad)  # the op below may keep or pass on what it reads
        in_grads = node.op.backward(node, out_grad)  # 2. walk: the op's rule gives one gradient per input
        in_grads = in_grads if isinstance(in_grads, tuple) else (in_grads,)
        if len(in_grads) != len(node.inputs):
            raise _miscount(node, in_grads)
        for index, g in enumerate(in_grads):
            if g is not None and node.needs_input_grad[index]:  # not a constant, not data
                source = node.inputs[index]  # 3. check the shape and dtype, 4. add to what it has so far
                received[source] = sums.add(received.get(source), _checked(node, index, g), node.op)
        if not retain_graph:
            node.release()
    for leaf, total in received.items():  # what is left: the leaves' totals
        leaf.grad = sums.own(total) if leaf.grad is None else leaf.grad + total


def _miscount(node: Any, in_grads: tuple[Any, ...]) -> RuntimeError:
    name, given, wanted = node.op.__name__, len(in_grads), len(node.inputs)
    return RuntimeError(f"{name}.backward returned {given} gradients for {wanted} inputs")


class GradientSums:
    """Adds gradients, in place when no one else can hold the array being added into.

    When an input feeds several ops (a tied weight, a skip connection) its gradient is a sum.  Writing
    that sum into one of the two arrays saves allocating and filling a third.  That is safe only for an
    array this pass owns: one it made itself (a sum or a copy), or one just returned by an op whose
    ``fresh_gradients`` is True, and that no op has read since.  Arrays are kept by id, each one held so
    that its id cannot be reused during the pass.
    """

    __slots__ = ("owned", "xp")
    owned: dict[int, Any]  # id -> an array this pass may overwrite

    def __init__(self, xp: Any) -> None:
        self.xp, self.owned = xp, {}

    def forget(self, array: Any) -> None:
        """``array`` is handed to an op's backward: from now on others may hold it."""
        self.owned.pop(id(array), None)

    def add(self, earlier: Any, g: Any, op: Any) -> Any:
        """``earlier + g`` (``g`` alone when ``earlier`` is None), where ``op``'s backward made ``g``."""
        fresh = op.fresh_gradients  # g is a new array that no one else holds
        if earlier is None:
            total = g
        elif fresh or self.owned.get(id(earlier)) is earlier:  # write into the array that is ours
            total = g if fresh else earlier
            total += earlier if fresh else g
        else:  # neither is ours to overwrite
            total = earlier + g
        if total is not g or fresh:  # a new array, or a fresh one: this pass owns it
            self.owned[id(total)] = total
        return total

    def own(self, total: Any) -> Any:
        """``total`` itself when this pass owns it, else a copy: a leaf's ``.grad`` is an array of its own."""
        return total if self.owned.get(id(total)) is total else self.xp.asarray(total, copy=True)


def _topological_order(start: Any) -> list[Any]:
    """The nodes reachable from ``start``, the latest made first.

    An op runs after the ops that made its inputs, so the reverse of the order in which nodes were made
    puts every node before the nodes that produced its inputs.  The search keeps an explicit stack: a
    chain of 10,000 ops needs no recursion.
    """
    reached, stack = {start}, [start]
    while stack:
        node = stack.pop()
        if node.released:
            raise _freed(node)
        new = [x for x in node.inputs if isinstance(x, Node) and x not in reached]
        reached.update(new)
        stack.extend(new)
    return sorted(reached, key=lambda node: node.sequence, reverse=True)


def _checked(node: Any, index: int, grad: Any) -> Any:
    """``grad`` for input ``index`` of ``node``, summed back over the axes that broadcasting added; an
    error naming the op when it still does not fit the input's shape and dtype."""
    x = node.inputs[index]  # the input: the node that made it, or the leaf tensor
    shape, dtype = (x.out_shape, x.out_dtype) if isinstance(x, Node) else (x.data.shape, x.data.dtype)
    if grad.shape != shape:
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
