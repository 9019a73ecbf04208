"""The backward driver: accumulation, ordering, broadcasting, graph freeing, deep chains, no_grad."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest

import tinyae
import tinyae.functional as F
from tinyae import Function


def test_tensor_used_twice_accumulates(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x + 3.0 * x).sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad), [5.0, -1.0, 9.0])


def test_backward_twice_adds_into_grad(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    (2.0 * x).sum().backward()
    (2.0 * x).sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad), [4.0, 4.0])


def test_diamond_graph_orders_nodes_before_their_producers(backend: tinyae.Backend) -> None:
    # c uses b, and the loss uses both b and c: b's gradient must collect both paths before flowing on
    x = tinyae.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    b = F.exp(x)
    c = b * b
    loss = (b + c).sum()
    loss.backward()
    e = np.exp([0.5, 1.5])
    np.testing.assert_allclose(backend.to_numpy(x.grad), e + 2 * e * e)


def test_driver_sums_broadcast_gradients_back(backend: tinyae.Backend) -> None:
    x = tinyae.tensor(np.ones((4, 3)), dtype="float32", requires_grad=True)
    bias = tinyae.tensor([1.0, 2.0, 3.0], requires_grad=True)
    column = tinyae.tensor(np.ones((4, 1)), dtype="float32", requires_grad=True)
    ((x + bias) * column).sum().backward()
    np.testing.assert_allclose(backend.to_numpy(bias.grad), [4.0, 4.0, 4.0])
    np.testing.assert_allclose(backend.to_numpy(column.grad), np.full((4, 1), 9.0))
    assert bias.grad.shape == (3,) and column.grad.shape == (4, 1)


def test_chain_of_10000_ops_needs_no_recursion(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([1.0], dtype="float64", requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad), [1.0001**10_000], rtol=1e-9)


def test_graph_is_freed_after_backward() -> None:
    x = tinyae.tensor(np.ones((5, 5)), requires_grad=True)
    hidden = F.sigmoid(x)
    saved = weakref.ref(hidden.node.saved[0])
    loss = hidden.sum()
    del hidden
    loss.backward()
    gc.collect()
    assert saved() is None, "the op's saved output outlived backward"
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph"):
        loss.backward()


def test_retain_graph_allows_a_second_backward() -> None:
    x = tinyae.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, [8.0])


def test_no_grad_context_and_decorator_build_no_graph() -> None:
    x = tinyae.tensor([1.0], requires_grad=True)
    with tinyae.no_grad():
        assert not tinyae.is_grad_enabled()
        y = x * 2.0
        with tinyae.enable_grad():
            z = x * 2.0
    assert tinyae.is_grad_enabled()
    assert y.node is None and not y.requires_grad
    assert z.requires_grad

    @tinyae.no_grad()
    def evaluate(t: tinyae.Tensor) -> tinyae.Tensor:
        return F.sigmoid(t)

    assert evaluate(x).node is None
    assert tinyae.is_grad_enabled()


def test_detach_cuts_the_graph() -> None:
    x = tinyae.tensor([3.0], requires_grad=True)
    y = (x * x).detach() * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [9.0])  # d/dx (c * x) with c = 9 held constant


def test_intermediate_results_get_no_grad_only_leaves_do() -> None:
    x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    h.sum().backward()
    assert h.grad is None and x.grad is not None


def test_backward_with_explicit_gradient_on_a_vector(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * 2.0).backward(np.array([1.0, 0.0, -1.0], dtype=np.float32))
    np.testing.assert_allclose(backend.to_numpy(x.grad), [2.0, 0.0, -2.0])


def test_gradient_does_not_flow_into_constants_or_labels(backend: tinyae.Backend) -> None:
    logits = tinyae.tensor(np.zeros((2, 3)), requires_grad=True)
    labels = tinyae.tensor(np.array([0, 2]), dtype="int64")
    F.cross_entropy(logits, labels).backward()
    assert labels.grad is None
    np.testing.assert_allclose(backend.to_numpy(logits.grad).sum(axis=1), [0.0, 0.0], atol=1e-7)


def test_a_backward_rule_that_changes_the_dtype_is_caught_with_advice() -> None:
    class Widening(Function):
        @staticmethod
        def forward(ctx: Any, a: Any, b: Any) -> Any:
            return a * b

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            return grad, ctx.xp.astype(grad, ctx.xp.float64)

    x, w = tinyae.tensor([1.0, 2.0], requires_grad=True), tinyae.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"Widening.backward returned a float64 gradient for input 1.*cast"
    ):
        Widening.apply(x, w).sum().backward()


def test_leaves_never_share_a_gradient_array(backend: tinyae.Backend) -> None:
    a = tinyae.tensor([1.0, 2.0], requires_grad=True)
    b = tinyae.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not b.grad
    given = np.ones(2, dtype=np.float32)
    a.grad = None
    a.backward(given)
    given[0] = 5.0
    assert backend.to_numpy(a.grad)[0] == 1.0


def test_tensors_and_backends_pickle_and_deepcopy(backend: tinyae.Backend) -> None:
    import copy
    import pickle

    x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    for clone in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert clone.backend is x.backend
        np.testing.assert_array_equal(clone.numpy(), x.numpy())


def test_an_intermediate_tensor_is_freed_when_dropped_and_backward_still_works() -> None:
    # a node keeps the nodes of its inputs, not the input tensors: the pre-activation below is not needed
    # by sigmoid's backward rule, so dropping it frees it (and its array) before backward
    x = tinyae.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    W = tinyae.tensor(np.eye(3, dtype=np.float32), requires_grad=True)
    pre_activation = F.linear(x, W)
    dropped = weakref.ref(pre_activation)
    y = F.sigmoid(pre_activation)
    del pre_activation
    gc.collect()
    assert dropped() is None
    F.l2_loss(y).backward()
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(W.grad, x.numpy().T @ (s * s * (1 - s)), rtol=1e-5)


def test_gradients_meeting_at_one_input_are_added_without_touching_arrays_others_hold() -> None:
    # The driver adds into a gradient array only when this backward pass made it (a sum, or an op with
    # fresh_gradients such as linear) and no op has read it since.  Here linear's fresh gradient for t
    # is read by Add, which hands that same array on to h's node and to the leaf L; L then receives more
    # (from a plain op and from a fresh one) while h's node may still be waiting for its gradient.
    rng = np.random.default_rng(3)
    x = tinyae.tensor(rng.standard_normal((2, 3)), dtype="float64")
    W = tinyae.tensor(rng.standard_normal((3, 4)), dtype="float64", requires_grad=True)
    L = tinyae.tensor(rng.standard_normal((2, 4)), dtype="float64", requires_grad=True)
    V = tinyae.tensor(rng.standard_normal((4, 4)), dtype="float64", requires_grad=True)

    def terms(W: tinyae.Tensor, L: tinyae.Tensor, V: tinyae.Tensor) -> list[tinyae.Tensor]:
        h = F.linear(x, W)
        u = F.linear(h + L, V)
        return [F.l2_loss(u), F.l2_loss(L * F.sigmoid(h)), F.l2_loss(F.linear(L, V)), F.l2_loss(h * 0.5)]

    def forwards(W: tinyae.Tensor, L: tinyae.Tensor, V: tinyae.Tensor) -> tinyae.Tensor:
        a, b, c, d = terms(W, L, V)
        return a + b + c + d

    def backwards(W: tinyae.Tensor, L: tinyae.Tensor, V: tinyae.Tensor) -> tinyae.Tensor:
        a, b, c, d = terms(W, L, V)
        return d + (c + (b + a))  # another order of the walk

    assert tinyae.gradcheck(forwards, [W, L, V])
    assert tinyae.gradcheck(backwards, [W, L, V])
    # a .grad the user holds from before is never written into: the new total is a new array
    held = np.ones((3, 4))
    W.grad = held
    forwards(W, L, V).backward()
    np.testing.assert_array_equal(held, np.ones((3, 4)))
    fresh_W = tinyae.tensor(W.numpy(), requires_grad=True)
    forwards(fresh_W, L.detach(), V.detach()).backward()
    np.testing.assert_allclose(W.grad, 1.0 + fresh_W.grad, rtol=1e-12)


def test_a_tied_weight_gets_both_halves_of_its_gradient() -> None:
    rng = np.random.default_rng(4)
    x = tinyae.tensor(rng.random((5, 6)), dtype="float64")
    W = tinyae.tensor(rng.standard_normal((6, 3)), dtype="float64", requires_grad=True)
    b = tinyae.tensor(np.zeros(3), dtype="float64", requires_grad=True)
    c = tinyae.tensor(np.zeros(6), dtype="float64", requires_grad=True)
    assert tinyae.gradcheck(
        lambda W, b, c: F.binary_cross_entropy_with_logits(
            F.linear(F.sigmoid(F.linear(x, W, b)), W.T, c), x, reduction="sum"
        ),
        [W, b, c],
    )


def test_a_backward_rule_with_the_wrong_number_of_gradients_is_named() -> None:
    class Short(Function):
        @staticmethod
        def forward(ctx: Any, a: Any, b: Any) -> Any:
            return a + b

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            return grad

    a, b = tinyae.tensor([1.0], requires_grad=True), tinyae.tensor([2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Short.backward returned 1 gradients for 2 inputs"):
        Short.apply(a, b).backward()


def test_a_leaf_grad_is_a_writable_array_of_its_own() -> None:
    # Sum's backward hands back a read-only broadcast view, and Add one array for both inputs: the driver
    # gives each leaf its own copy, so that in-place updates of .grad (zeroing, clipping) are safe
    a = tinyae.tensor([1.0, 2.0], requires_grad=True)
    b = tinyae.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad.flags.writeable and b.grad.flags.writeable
    a.grad[0] = 7.0
    assert b.grad[0] == 1.0
