"""The gradient checker itself: it passes correct rules and catches wrong ones, saying where."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinyae
import tinyae.functional as F


class WrongSquare(tinyae.Function):
    """x^2 with a deliberately wrong derivative (3x instead of 2x)."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save(x)
        return x * x

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (x,) = ctx.saved
        return 3 * grad * x


class ReversedGrad(tinyae.Function):
    """2x with the gradient flipped end to end: right for a sum of outputs, wrong in general."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return 2 * x

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return 2 * ctx.xp.flip(grad, axis=0)


def test_passes_a_correct_rule(backend: tinyae.Backend) -> None:
    x = tinyae.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype="float64", requires_grad=True)
    assert tinyae.gradcheck(lambda t: F.tanh(t) * F.exp(t), [x]) is True


def test_fails_a_wrong_backward_and_names_input_index_and_values(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([0.5, -2.0, 1.0], dtype="float64", requires_grad=True)
    y = tinyae.tensor([1.0, 1.0, 1.0], dtype="float64", requires_grad=True)
    with pytest.raises(tinyae.GradcheckError) as failure:
        tinyae.gradcheck(lambda a, b: WrongSquare.apply(a) + b, [y, x])
    error = failure.value
    assert error.input_index == 0
    assert error.index in {(0,), (1,), (2,)}
    assert error.analytic == pytest.approx(1.5 * error.numeric, rel=1e-6)
    assert "input 0" in str(error) and f"index {error.index}" in str(error) and "analytic" in str(error)


def test_random_direction_catches_what_a_sum_of_outputs_misses(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([0.1, 0.2, 0.3, 0.4], dtype="float64", requires_grad=True)
    ReversedGrad.apply(x).sum().backward()
    np.testing.assert_allclose(
        backend.to_numpy(x.grad), [2.0] * 4
    )  # looks right against an all-ones direction
    with pytest.raises(tinyae.GradcheckError):
        tinyae.gradcheck(ReversedGrad.apply, [x])


def test_refuses_float32_and_inputs_without_grad() -> None:
    with pytest.raises(ValueError, match="input 0 is float32; finite differences need float64"):
        tinyae.gradcheck(F.sigmoid, [tinyae.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="no input requires grad"):
        tinyae.gradcheck(F.sigmoid, [tinyae.tensor([1.0], dtype="float64")])


def test_leaves_existing_grads_alone() -> None:
    x = tinyae.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    x.grad = np.array([7.0, 7.0])
    tinyae.gradcheck(F.square, [x])
    np.testing.assert_array_equal(x.grad, [7.0, 7.0])


def test_a_function_that_ignores_an_input_has_zero_gradient() -> None:
    x = tinyae.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    unused = tinyae.tensor([3.0], dtype="float64", requires_grad=True)
    assert tinyae.gradcheck(lambda a, b: F.square(a), [x, unused])
