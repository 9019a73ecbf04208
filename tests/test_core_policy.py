"""The engine core's promises: one float dtype per op, finite results where the math is finite, an explicit
transposed weight for tied decoders, and the reading budget of the forward/backward path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinyae
import tinyae.functional as F

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("grad_mode", [True, False])
def test_float32_never_meets_float64_silently(backend: tinyae.Backend, grad_mode: bool) -> None:
    x32 = tinyae.tensor([1.0, 2.0], requires_grad=True)
    x64 = tinyae.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    host64 = np.ones(2)
    with tinyae.enable_grad() if grad_mode else tinyae.no_grad():
        for combine in (lambda: x32 * x64, lambda: x32 + host64, lambda: host64 - x32, lambda: x64 / x32):
            with pytest.raises(TypeError, match=r"float(32|64) and float(64|32) inputs"):
                combine()
        with pytest.raises(TypeError, match=r"Linear got float64 and float32"):
            F.linear(x32.reshape(1, 2), tinyae.tensor(np.ones((2, 3))))


def test_the_error_names_the_op_and_both_dtypes() -> None:
    with pytest.raises(TypeError, match=r"^Mul got float64 and float32 inputs.*dtype='float64'"):
        tinyae.tensor([1.0]) * tinyae.tensor([2.0], dtype="float64")


def test_numbers_and_numpy_scalars_take_the_tensors_dtype(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    for y in (x * 2.5, x * np.float64(2.5), x + np.array(1.0), np.float64(3.0) - x):
        assert tinyae.backend.dtype_name(y.dtype) == "float32"
    (x * np.float64(2.5)).sum().backward()
    assert tinyae.backend.dtype_name(x.grad.dtype) == "float32"


def test_float16_is_refused_by_name_unless_cast() -> None:
    half = np.ones(3, dtype=np.float16)
    with pytest.raises(TypeError, match="float32 or float64, not float16"):
        tinyae.tensor(half)
    with pytest.raises(TypeError, match="not float16"):
        tinyae.tensor([1.0]) * half
    assert tinyae.backend.dtype_name(tinyae.tensor(half, dtype="float32").dtype) == "float32"


def test_power_zero_has_gradient_zero_at_zero(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(backend.to_numpy(x.grad), [0.0, 0.0])


@pytest.mark.parametrize("axis", [None, 0])
def test_mean_of_huge_float32_values_is_finite(backend: tinyae.Backend, axis: int | None) -> None:
    x = tinyae.tensor(np.full((4, 1), 3e38, dtype=np.float32), requires_grad=True)
    m = x.mean(axis=axis)
    np.testing.assert_allclose(backend.to_numpy(m.data).ravel(), [3e38], rtol=1e-6)
    m.sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad), np.full((4, 1), 0.25))


def test_transpose_weight_means_x_times_w_transposed_and_is_gradient_checked() -> None:
    rng = np.random.default_rng(0)
    x = tinyae.tensor(rng.standard_normal((5, 3)), dtype="float64", requires_grad=True)
    w = tinyae.tensor(rng.standard_normal((4, 3)), dtype="float64", requires_grad=True)
    b = tinyae.tensor(rng.standard_normal(4), dtype="float64", requires_grad=True)
    y = F.linear(x, w, b, transpose_weight=True)
    np.testing.assert_allclose(y.numpy(), x.numpy() @ w.numpy().T + b.numpy())
    assert tinyae.gradcheck(lambda x, w, b: F.linear(x, w, b, transpose_weight=True), [x, w, b])
    one = tinyae.tensor(rng.standard_normal((1, 3)), dtype="float64")  # batch 1: the outer-product path
    assert tinyae.gradcheck(lambda w, b: F.linear(one, w, b, transpose_weight=True), [w, b])


def test_a_tied_weight_gets_both_halves_with_transpose_weight() -> None:
    rng = np.random.default_rng(1)
    x = tinyae.tensor(rng.random((6, 5)), dtype="float64")
    w = tinyae.tensor(rng.standard_normal((5, 3)), dtype="float64", requires_grad=True)

    def loss(w: tinyae.Tensor) -> tinyae.Tensor:
        return F.l2_loss(F.linear(F.sigmoid(F.linear(x, w)), w, transpose_weight=True) - x)

    assert tinyae.gradcheck(loss, [w])
    loss(w).backward()
    assert w.grad.flags["C_CONTIGUOUS"], "the gradient is made in W's own layout"


def test_linear_transposed_shape_errors_name_the_shapes() -> None:
    with pytest.raises(tinyae.OpError, match=r"input of shape \(2, 3\) .* weight \(5, 4\) expects 4"):
        F.linear(tinyae.tensor(np.ones((2, 3))), tinyae.tensor(np.ones((5, 4))), transpose_weight=True)


# DESIGN.md's target: one forward and backward of F.sigmoid(F.linear(x, W, b)) in at most 150 lines of
# code (283 before the core was split, 150 now)
MAX_LINES = 150


def test_reading_budget_is_met() -> None:
    script = ROOT / "benchmarks" / "reading_budget.py"
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script), "--check", "--max-lines", str(MAX_LINES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "F.sigmoid(F.linear(x, W, b)) forward + backward" in result.stdout, result.stderr
    assert result.returncode == 0, result.stdout


def test_an_op_needs_a_tensor_among_its_inputs() -> None:
    with pytest.raises(TypeError, match=r"Exp needs at least one tensor input"):
        F.exp(np.ones(2))  # type: ignore[arg-type]


def test_every_module_of_the_package_is_under_400_lines() -> None:
    # DESIGN.md: small modules with one job each; a file that grows past 400 lines wants splitting
    sizes = {p.relative_to(ROOT): len(p.read_text().splitlines()) for p in (ROOT / "tinyae").rglob("*.py")}
    assert {path: n for path, n in sizes.items() if n >= 400} == {}
