"""Reverse-mode differentiation: the backward driver and the switch that turns graph building off.

Every tensor made by an op remembers the op's *node* (its :class:`~tinyae.tensor.Context`): the op class,
the input tensors and what the op saved for its backward rule.  ``loss.backward()`` calls :func:`backward`,
which

1. orders the nodes so that each comes after every node that uses its output (an iterative depth-first
   search: a chain of 10,000 ops needs no recursion),
2. walks them from the loss back to the leaves, asking each op for its input gradients,
3. sums each gradient back over the axes that broadcasting added, checks its shape and dtype, and adds it
   to what that input has received so far,
4. stores the totals in the leaves' ``.grad`` and frees the graph.

This module knows nothing about the ``Tensor`` class: it walks any objects with the attributes
``node``, ``requires_grad``, ``grad``, ``shape`` and ``dtype``.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["backward", "enable_grad", "is_grad_enabled", "no_grad", "unbroadcast"]

_grad_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("tinyae_grad", default=True)

F = TypeVar("F", bound=Callable[..., Any])


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
    order = _topological_order(root.node)
    pending: dict[Any, Any] = {root.node: grad}
    given_to_leaves: set[int] = set()  # ids of arrays already stored as some leaf's .grad
    for node in order:
        out_grad = pending.pop(node)
        in_grads = node.op.backward(node, out_grad)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        if len(in_grads) != len(node.inputs):
            raise RuntimeError(
                f"{node.op.__name__}.backward returned {len(in_grads)} gradients "
                f"for {len(node.inputs)} inputs"
            )
        for index, (tensor, g) in enumerate(zip(node.inputs, in_grads, strict=True)):
            if tensor is None or not tensor.requires_grad or g is None:
                continue
            g = _checked(node, index, tensor, unbroadcast(g, tensor.shape, node.xp))
            if tensor.node is not None:
                previous = pending.get(tensor.node)
                pending[tensor.node] = g if previous is None else previous + g
            else:
                if tensor.grad is not None:
                    tensor.grad = tensor.grad + g
                else:
                    # an op may hand one array to several inputs (a + b): each leaf gets its own
                    g = node.xp.asarray(g, copy=True if id(g) in given_to_leaves else None)
                    given_to_leaves.add(id(g))
                    tensor.grad = g
        if not retain_graph:
            node.release()


def _topological_order(start: Any) -> list[Any]:
    """Nodes reachable from ``start``, each listed before the nodes that produced its inputs.

    Depth-first search with an explicit stack: a node is appended once all of its producers are, and the
    reversed list starts at the loss.
    """
    order: list[Any] = []
    expanded: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(start, False)]
    while stack:
        node, producers_done = stack.pop()
        if producers_done:
            order.append(node)
            continue
        if node in expanded:
            continue
        if node.released:
            raise RuntimeError(
                f"backward through {node.op.__name__} a second time: its graph was freed by the first "
                "backward; pass retain_graph=True to the first call to keep it"
            )
        expanded.add(node)
        stack.append((node, True))
        for tensor in node.inputs:
            if tensor is not None and tensor.node is not None and tensor.node not in expanded:
                stack.append((tensor.node, False))
    order.reverse()
    return order


def _checked(node: Any, index: int, tensor: Any, grad: Any) -> Any:
    """``grad`` if it fits input ``index`` of ``node`` in shape and dtype; else an error naming the op."""
    if grad.shape != tensor.shape:
        raise RuntimeError(
            f"{node.op.__name__}.backward returned a gradient of shape {tuple(grad.shape)} for input "
            f"{index}, which has shape {tuple(tensor.shape)}"
        )
    if grad.dtype != tensor.dtype:
        raise RuntimeError(
            f"{node.op.__name__}.backward returned a {grad.dtype} gradient for input {index}, "
            f"which is {tensor.dtype} (if the op mixed two float dtypes, cast its inputs to one first)"
        )
    return grad
