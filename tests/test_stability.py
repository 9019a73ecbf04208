"""Extreme inputs: finite values and finite gradients where the naive formulas overflow or give NaN.

pytest runs with warnings as errors, so an overflow or a divide-by-zero warning also fails these tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinyae
import tinyae.functional as F

MAGNITUDES = [0.0, 17.0, 20.0, 40.0, 88.0, 89.0, 100.0, 709.0, 710.0, 1000.0]
LOGITS = sorted({sign * m for m in MAGNITUDES for sign in (1.0, -1.0)})


def exact_softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def exact_sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def exact_sigmoid_slope(x: float) -> float:
    e = math.exp(-abs(x))  # sigma(x) (1 - sigma(x)) without the cancellation in 1 - sigma(x)
    return e / (1 + e) ** 2


def _value_and_grad(fn, dtype: str) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    x = tinyae.tensor(np.array(LOGITS), dtype=dtype, requires_grad=True)
    out = fn(x)
    out.backward(np.ones(out.shape))
    return out.numpy().astype(np.float64), x.backend.to_numpy(x.grad).astype(np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_softplus_log_sigmoid_stay_finite_and_exact(backend: tinyae.Backend, dtype: str) -> None:
    rtol = 1e-6 if dtype == "float32" else 1e-13
    tiny = np.finfo(dtype).tiny
    cases = {
        "sigmoid": (F.sigmoid, exact_sigmoid, exact_sigmoid_slope),
        "softplus": (F.softplus, exact_softplus, exact_sigmoid),
        "log_sigmoid": (F.log_sigmoid, lambda x: -exact_softplus(-x), lambda x: exact_sigmoid(-x)),
    }
    for name, (fn, value, slope) in cases.items():
        out, grad = _value_and_grad(fn, dtype)
        assert np.isfinite(out).all() and np.isfinite(grad).all(), name
        expected = np.array([value(x) for x in LOGITS])
        expected_grad = np.array([slope(x) for x in LOGITS])
        np.testing.assert_allclose(out, expected, rtol=rtol, atol=tiny * 4, err_msg=name)
        # below the smallest normal number float32 flushes to 0; compare slopes where they are representable
        representable = expected_grad > np.finfo(dtype).tiny * 1e3
        np.testing.assert_allclose(
            grad[representable], expected_grad[representable], rtol=rtol * 10, err_msg=name
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("target", [0.0, 1.0])
def test_bce_with_logits_finite_with_exact_targets(
    backend: tinyae.Backend, dtype: str, target: float
) -> None:
    x = tinyae.tensor(np.array(LOGITS), dtype=dtype, requires_grad=True)
    y = tinyae.tensor(np.full(len(LOGITS), target), dtype=dtype)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    loss.backward(np.ones(len(LOGITS)))
    values, grad = loss.numpy().astype(np.float64), backend.to_numpy(x.grad).astype(np.float64)
    assert np.isfinite(values).all() and np.isfinite(grad).all()
    # loss = softplus(x) - x*y exactly; gradient = sigmoid(x) - y
    expected = np.array([exact_softplus(v) - v * target for v in LOGITS])
    np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad, [exact_sigmoid(v) - target for v in LOGITS], atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_on_probabilities_clamps_the_log_at_minus_100(backend: tinyae.Backend, dtype: str) -> None:
    p = tinyae.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype, requires_grad=True)
    y = tinyae.tensor([1.0, 0.0, 0.0, 1.0, 1.0], dtype=dtype)
    loss = F.binary_cross_entropy(p, y, reduction="none")
    loss.backward(np.ones(5))
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0, 0.0, math.log(2.0)], rtol=1e-6)
    assert np.isfinite(backend.to_numpy(p.grad)).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_softmax_and_cross_entropy_with_huge_logits(backend: tinyae.Backend, dtype: str) -> None:
    logits = tinyae.tensor([[1000.0, -1000.0, 0.0], [-709.0, 710.0, 88.0]], dtype=dtype, requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 2]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(backend.to_numpy(logits.grad)).all()
    np.testing.assert_allclose(loss.item(), (0.0 + 622.0) / 2, rtol=1e-6)
    # a row of -inf has no distribution: every entry gets probability 0, with no NaN and no warning
    log_probs = F.log_softmax(tinyae.tensor([[-np.inf, -np.inf], [0.0, 0.0]], dtype=dtype))
    np.testing.assert_allclose(
        log_probs.numpy(), [[-np.inf, -np.inf], [-math.log(2), -math.log(2)]], rtol=1e-6
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kl_terms_finite_at_the_edges(backend: tinyae.Backend, dtype: str) -> None:
    q = tinyae.tensor([0.0, 1.0, 1e-30, 0.5], dtype=dtype, requires_grad=True)
    penalty = F.kl_sparsity(q, 0.05)
    penalty.backward()
    assert np.isfinite(penalty.item()) and np.isfinite(backend.to_numpy(q.grad)).all()
    mu = tinyae.tensor([[0.0, 1e-4]], dtype=dtype)
    log_var = tinyae.tensor([[1e-4, -1e-4]], dtype=dtype)
    # expm1 keeps e^v - 1 - v accurate near 0, where the naive form cancels to nothing in float32
    expected = 0.5 * ((1e-4) ** 2 + (math.expm1(1e-4) - 1e-4) + (math.expm1(-1e-4) + 1e-4))
    np.testing.assert_allclose(F.gaussian_kl(mu, log_var).item(), expected, rtol=1e-3)


def test_relu_and_leaky_relu_kink_conventions(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([0.0, -0.0, 1.0, -1.0], dtype="float64", requires_grad=True)
    F.relu(x).backward(np.ones(4))
    np.testing.assert_array_equal(backend.to_numpy(x.grad), [0.0, 0.0, 1.0, 0.0])  # relu'(0) = 0
    x.grad = None
    F.leaky_relu(x, 0.1).backward(np.ones(4))
    np.testing.assert_allclose(backend.to_numpy(x.grad), [0.1, 0.1, 1.0, 0.1])  # slope at 0, as PyTorch


def test_infinite_inputs_give_the_limits(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([-np.inf, np.inf], dtype="float64")
    np.testing.assert_array_equal(F.sigmoid(x).numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(F.relu(x).numpy(), [0.0, np.inf])
    np.testing.assert_array_equal(F.softplus(x).numpy(), [0.0, np.inf])
    np.testing.assert_array_equal(F.log_sigmoid(x).numpy(), [-np.inf, 0.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_of_huge_values_normalises_instead_of_returning_zeros(
    backend: tinyae.Backend, dtype: str
) -> None:
    # deviations near 1e20: their squares overflow float32, which used to give inv_std 0 and zeros
    host = np.array([[1e20, -3e20], [2e20, 1e20], [4e20, 2e20]])
    x = tinyae.tensor(host, dtype=dtype, requires_grad=True)
    gamma = tinyae.tensor(np.ones(2), dtype=dtype, requires_grad=True)
    mean, var = tinyae.tensor(np.zeros(2), dtype=dtype), tinyae.tensor(np.ones(2), dtype=dtype)
    result = F.batch_norm(x, gamma, None, mean, var, training=True)
    expected = (host - host.mean(0)) / host.std(0)
    np.testing.assert_allclose(result.output.numpy(), expected, rtol=1e-5)
    result.output.backward(np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]]))
    assert np.isfinite(backend.to_numpy(x.grad)).all() and np.isfinite(backend.to_numpy(gamma.grad)).all()
    running = result.running_var.numpy()
    assert np.isfinite(running).all()  # the unbiased variance (1e40) saturates at the dtype's largest
    if dtype == "float64":
        np.testing.assert_allclose(running, 0.9 + 0.1 * host.var(0, ddof=1), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gaussian_kl_finite_wherever_the_kl_is(backend: tinyae.Backend, dtype: str) -> None:
    # 0.5 * e^88.9 = 2e38 fits float32 though e^88.9 does not
    # mu^2 / 2 = 3.1e38 fits float32 too, but not beside the log_var term: there mu is 0 in float32
    m = [2.5e19 if dtype == "float64" else 0.0, 1e19, 1.0, -3.0]
    v = [88.9, -20.0, 0.0, 60.0]
    log_var = tinyae.tensor([v], dtype=dtype, requires_grad=True)
    mu = tinyae.tensor([m], dtype=dtype, requires_grad=True)
    kl = F.gaussian_kl(mu, log_var, reduction="none")
    kl.backward(np.ones(1))
    m, v = (np.asarray(values, dtype=dtype).tolist() for values in (m, v))  # as the dtype holds them
    per_term = [0.5 * (mi * mi + math.expm1(vi) - vi) for mi, vi in zip(m, v, strict=True)]
    np.testing.assert_allclose(kl.numpy(), [math.fsum(per_term)], rtol=1e-5)
    grad = backend.to_numpy(log_var.grad).astype(np.float64)
    assert np.isfinite(grad).all() and np.isfinite(backend.to_numpy(mu.grad)).all()
    np.testing.assert_allclose(grad, [[0.5 * math.expm1(vi) for vi in v]], rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kl_sparsity_at_dead_and_saturated_units(backend: tinyae.Backend, dtype: str) -> None:
    q = tinyae.tensor([0.0, 1.0, -1e30, 1e30, 0.3], dtype=dtype, requires_grad=True)
    penalty = F.kl_sparsity(q, 0.05, reduction="none")
    penalty.backward(np.ones(5))
    values = penalty.numpy()
    assert np.isfinite(values).all() and np.isfinite(backend.to_numpy(q.grad)).all()
    np.testing.assert_array_equal(values[0], values[2])  # below 0 counts as the bound eps
    np.testing.assert_allclose(
        values[4], 0.05 * math.log(0.05 / 0.3) + 0.95 * math.log(0.95 / 0.7), rtol=1e-5
    )


def test_cross_entropy_device_labels_out_of_range_give_nan_without_a_host_read(
    backend: tinyae.Backend,
) -> None:
    logits = tinyae.tensor(np.zeros((2, 3)))
    labels = tinyae.Tensor(backend.asarray(np.array([0, 3])), backend=backend)  # already on the device
    loss = F.cross_entropy(logits, labels, reduction="none").numpy()
    np.testing.assert_allclose(loss[0], math.log(3.0))
    assert np.isnan(loss[1])


def test_softmax_of_an_infinite_logit_takes_all_the_probability(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([[np.inf, 0.0, 1.0], [0.0, 0.0, 0.0]], dtype="float32", requires_grad=True)
    probs = F.softmax(x)
    np.testing.assert_allclose(probs.numpy(), [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    probs.backward(np.ones((2, 3)))
    assert np.isfinite(backend.to_numpy(x.grad)).all()
    labels = tinyae.tensor(np.array([0, 1]))
    np.testing.assert_allclose(
        F.cross_entropy(x.detach(), labels, reduction="none").numpy(), [0.0, math.log(3.0)], rtol=1e-6
    )
