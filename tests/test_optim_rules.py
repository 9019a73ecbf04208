"""Optimizer update rules: one and two steps worked by hand, convergence on a quadratic, and 100-step
trajectories against NumPy implementations of PyTorch's formulas (written here, independently)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinyae
from tinyae import functional, optim

P0 = [1.0, -2.0]
G1 = [0.5, -0.25]
G2 = [-1.0, 0.5]


def two_steps(opt_class: type[optim.Optimizer], **hyper: Any) -> tuple[np.ndarray, np.ndarray]:
    """The parameter after a step with gradient G1 and after a second step with gradient G2."""
    p = tinyae.tensor(P0, dtype="float64", requires_grad=True)
    opt = opt_class([p], **hyper)
    after = []
    for g in (G1, G2):
        p.grad = p.backend.asarray(g, dtype="float64")
        opt.step()
        after.append(p.numpy().copy())
    return after[0], after[1]


def assert_close(actual: np.ndarray, expected: list[float]) -> None:
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15)


# --- one and two steps by hand ------------------------------------------------------------------------------


def test_sgd_plain_step(backend: tinyae.Backend) -> None:
    first, second = two_steps(optim.SGD, lr=0.1)
    assert_close(first, [0.95, -1.975])  # p - 0.1 g
    assert_close(second, [1.05, -2.025])


def test_sgd_momentum_and_weight_decay_steps(backend: tinyae.Backend) -> None:
    first, second = two_steps(optim.SGD, lr=0.1, momentum=0.9, weight_decay=0.01)
    # g = G1 + 0.01 p = (0.51, -0.27); the buffer starts as g; p = (1, -2) - 0.1 g
    assert_close(first, [0.949, -1.973])
    # g = G2 + 0.01 (0.949, -1.973) = (-0.99051, 0.48027); buf = 0.9 (0.51, -0.27) + g = (-0.53151, 0.23727)
    assert_close(second, [0.949 + 0.053151, -1.973 - 0.023727])


def test_sgd_nesterov_steps(backend: tinyae.Backend) -> None:
    first, second = two_steps(optim.SGD, lr=0.1, momentum=0.9, nesterov=True)
    # buf = G1; update g + 0.9 buf = 1.9 G1 = (0.95, -0.475)
    assert_close(first, [0.905, -1.9525])
    # buf = 0.9 G1 + G2 = (-0.55, 0.275); update G2 + 0.9 buf = (-1.495, 0.7475)
    assert_close(second, [0.905 + 0.1495, -1.9525 - 0.07475])


def test_rmsprop_steps(backend: tinyae.Backend) -> None:
    lr, alpha, eps = 0.01, 0.99, 1e-8
    first, second = two_steps(optim.RMSprop, lr=lr)
    v1 = [(1 - alpha) * g * g for g in G1]
    p1 = [p - lr * g / (math.sqrt(v) + eps) for p, g, v in zip(P0, G1, v1, strict=True)]
    assert_close(first, p1)
    assert_close(first, [0.9 + 1e-8 * 0.01 / 0.05**2 * 0.5, -1.9 - 1e-8 * 0.01 / 0.025**2 * 0.25])
    v2 = [alpha * v + (1 - alpha) * g * g for v, g in zip(v1, G2, strict=True)]
    assert_close(second, [p - lr * g / (math.sqrt(v) + eps) for p, g, v in zip(p1, G2, v2, strict=True)])


def test_rmsprop_centered_steps(backend: tinyae.Backend) -> None:
    lr, alpha, eps = 0.01, 0.99, 1e-8
    first, second = two_steps(optim.RMSprop, lr=lr, centered=True)
    # v = 0.01 g^2, gavg = 0.01 g, so the denominator is |g| sqrt(0.01 - 0.0001) = |g| sqrt(0.0099)
    assert_close(
        first, [p - lr * g / (abs(g) * math.sqrt(0.0099) + eps) for p, g in zip(P0, G1, strict=True)]
    )
    p1 = first.tolist()
    v = [alpha * 0.01 * a * a + 0.01 * b * b for a, b in zip(G1, G2, strict=True)]
    m = [alpha * 0.01 * a + 0.01 * b for a, b in zip(G1, G2, strict=True)]
    expected = [
        p - lr * g / (math.sqrt(vi - mi * mi) + eps) for p, g, vi, mi in zip(p1, G2, v, m, strict=True)
    ]
    assert_close(second, expected)


def test_rmsprop_momentum_steps(backend: tinyae.Backend) -> None:
    lr, alpha, eps, momentum = 0.01, 0.99, 1e-8, 0.9
    first, second = two_steps(optim.RMSprop, lr=lr, momentum=momentum)
    buf1 = [g / (math.sqrt(0.01 * g * g) + eps) for g in G1]  # the buffer starts at zero
    assert_close(first, [p - lr * b for p, b in zip(P0, buf1, strict=True)])
    v2 = [alpha * 0.01 * a * a + 0.01 * b * b for a, b in zip(G1, G2, strict=True)]
    buf2 = [momentum * b + g / (math.sqrt(v) + eps) for b, g, v in zip(buf1, G2, v2, strict=True)]
    assert_close(second, [p - lr * b for p, b in zip(first.tolist(), buf2, strict=True)])


def test_adam_steps(backend: tinyae.Backend) -> None:
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    first, second = two_steps(optim.Adam, lr=lr)
    # bias correction makes the first step lr * g / (|g| + eps): lr times the gradient's sign
    assert_close(first, [1 - 0.1 * 0.5 / (0.5 + eps), -2 + 0.1 * 0.25 / (0.25 + eps)])
    m = [b1 * (1 - b1) * a + (1 - b1) * b for a, b in zip(G1, G2, strict=True)]
    v = [b2 * (1 - b2) * a * a + (1 - b2) * b * b for a, b in zip(G1, G2, strict=True)]
    expected = [
        p - lr / (1 - b1**2) * mi / (math.sqrt(vi) / math.sqrt(1 - b2**2) + eps)
        for p, mi, vi in zip(first.tolist(), m, v, strict=True)
    ]
    assert_close(second, expected)


def test_adam_weight_decay_enters_the_gradient(backend: tinyae.Backend) -> None:
    first, _ = two_steps(optim.Adam, lr=0.1, weight_decay=1.0)
    # g = G1 + p = (1.5, -2.25): the first step is still lr * sign(g)
    assert_close(first, [1 - 0.1 * 1.5 / (1.5 + 1e-8), -2 + 0.1 * 2.25 / (2.25 + 1e-8)])


# --- NumPy references of PyTorch's formulas -----------------------------------------------------------------

Rule = Callable[[int, np.ndarray, np.ndarray, dict[int, dict[str, Any]]], np.ndarray]


def sgd_rule(
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    dampening: float = 0.0,
) -> Rule:
    def step(i: int, p: np.ndarray, g: np.ndarray, state: dict[int, dict[str, Any]]) -> np.ndarray:
        g = g + weight_decay * p
        if momentum:
            s = state.setdefault(i, {})
            s["buf"] = g.copy() if "buf" not in s else momentum * s["buf"] + (1 - dampening) * g
            g = g + momentum * s["buf"] if nesterov else s["buf"]
        return p - lr * g

    return step


def rmsprop_rule(
    lr: float = 0.01,
    alpha: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    centered: bool = False,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps_inside_sqrt: bool = False,
) -> Rule:
    def step(i: int, p: np.ndarray, g: np.ndarray, state: dict[int, dict[str, Any]]) -> np.ndarray:
        g = g + weight_decay * p
        v0 = np.full_like(p, initial_accumulator_value)
        s = state.setdefault(i, {"v": v0, "m": np.zeros_like(p), "buf": np.zeros_like(p)})
        s["v"] = alpha * s["v"] + (1 - alpha) * g**2
        s["m"] = alpha * s["m"] + (1 - alpha) * g
        square = s["v"] - s["m"] ** 2 if centered else s["v"]
        denom = np.sqrt(square + eps) if eps_inside_sqrt else np.sqrt(square) + eps
        if momentum > 0:
            s["buf"] = momentum * s["buf"] + g / denom
            return p - lr * s["buf"]
        return p - lr * g / denom

    return step


def adam_rule(
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    eps_hat: bool = False,
) -> Rule:
    b1, b2 = betas

    def step(i: int, p: np.ndarray, g: np.ndarray, state: dict[int, dict[str, Any]]) -> np.ndarray:
        g = g + weight_decay * p
        s = state.setdefault(i, {"t": 0, "m": np.zeros_like(p), "v": np.zeros_like(p)})
        s["t"] += 1
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g**2
        if eps_hat:  # TF1: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), eps added to the uncorrected sqrt(v)
            lr_t = lr * np.sqrt(1 - b2 ** s["t"]) / (1 - b1 ** s["t"])
            return p - lr_t * s["m"] / (np.sqrt(s["v"]) + eps)
        m_hat = s["m"] / (1 - b1 ** s["t"])
        v_hat = s["v"] / (1 - b2 ** s["t"])
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)

    return step


CONFIGS: list[tuple[type[optim.Optimizer], Callable[..., Rule], dict[str, Any]]] = [
    (optim.SGD, sgd_rule, {"lr": 0.1}),
    (optim.SGD, sgd_rule, {"lr": 0.05, "momentum": 0.9}),
    (optim.SGD, sgd_rule, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (optim.SGD, sgd_rule, {"lr": 0.1, "weight_decay": 0.05}),
    (optim.SGD, sgd_rule, {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01, "dampening": 0.2}),
    (optim.RMSprop, rmsprop_rule, {"lr": 0.01}),
    (optim.RMSprop, rmsprop_rule, {"lr": 0.01, "centered": True}),
    (optim.RMSprop, rmsprop_rule, {"lr": 0.005, "eps": 0.01, "momentum": 0.9}),
    (
        optim.RMSprop,
        rmsprop_rule,
        {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
    ),
    (
        optim.RMSprop,
        rmsprop_rule,
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-10, "initial_accumulator_value": 1.0, "eps_inside_sqrt": True},
    ),
    (
        optim.RMSprop,
        rmsprop_rule,
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-4, "momentum": 0.5, "centered": True, "eps_inside_sqrt": True},
    ),
    (optim.Adam, adam_rule, {"lr": 0.01}),
    (optim.Adam, adam_rule, {"lr": 0.02, "eps": 1e-3, "eps_hat": True}),
    (optim.Adam, adam_rule, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
]
CONFIG_IDS = [f"{c.__name__}-" + "-".join(f"{k}={v}" for k, v in h.items()) for c, _, h in CONFIGS]


def regression_problem() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Inputs X (8, 3), targets Y (8, 2), and starting values of W (3, 2) and b (2,)."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    return x, y, [rng.standard_normal((3, 2)), rng.standard_normal(2)]


def regression_gradients(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """d/dW and d/db of mean((x @ W + b - y)^2)."""
    d_pred = 2 * (x @ w + b - y) / y.size
    return [x.T @ d_pred, d_pred.sum(axis=0)]


@pytest.mark.parametrize(("opt_class", "make_rule", "hyper"), CONFIGS, ids=CONFIG_IDS)
def test_trajectory_matches_numpy_formulas(
    opt_class: type[optim.Optimizer],
    make_rule: Callable[..., Rule],
    hyper: dict[str, Any],
    backend: tinyae.Backend,
) -> None:
    x, y, start = regression_problem()
    w, b = (tinyae.tensor(v, dtype="float64", requires_grad=True) for v in start)
    unused = tinyae.tensor([3.0, 4.0], dtype="float64", requires_grad=True)  # never gets a gradient
    opt = opt_class([w, unused, b], **hyper)
    X, Y = tinyae.tensor(x, dtype="float64"), tinyae.tensor(y, dtype="float64")
    rule, state, ref = make_rule(**hyper), {}, [v.copy() for v in start]
    for step in range(1, 101):
        opt.zero_grad()
        functional.mse_loss(functional.linear(X, w, b), Y).backward()
        opt.step()
        grads = regression_gradients(x, y, *ref)
        ref = [rule(i, p, g, state) for i, (p, g) in enumerate(zip(ref, grads, strict=True))]
        if step % 10 == 0:
            for mine, theirs in zip((w, b), ref, strict=True):
                np.testing.assert_allclose(
                    mine.numpy(), theirs, rtol=1e-6, atol=1e-10, err_msg=f"step {step}"
                )
    np.testing.assert_array_equal(unused.numpy(), [3.0, 4.0])
    assert opt.state[1] == {}
    assert not np.allclose(ref[0], start[0])  # the reference did move


QUADRATIC_RUNS: list[tuple[Callable[[list[tinyae.Tensor]], optim.Optimizer], int]] = [
    (lambda p: optim.SGD(p, lr=0.04), 400),
    (lambda p: optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True), 300),
    (lambda p: optim.RMSprop(p, lr=0.01), 500),
    (lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True), 500),
    (
        lambda p: optim.RMSprop(
            p, lr=0.02, alpha=0.9, eps=1e-10, initial_accumulator_value=1.0, eps_inside_sqrt=True
        ),
        800,
    ),
    (lambda p: optim.Adam(p, lr=0.05), 500),
    (lambda p: optim.Adam(p, lr=0.05, eps_hat=True), 500),
]


@pytest.mark.parametrize(
    ("make", "steps"),
    QUADRATIC_RUNS,
    ids=["sgd", "nesterov", "rmsprop", "centered", "rmsprop-tf1", "adam", "adam-tf1"],
)
def test_converges_on_a_quadratic(
    make: Callable[[list[tinyae.Tensor]], optim.Optimizer], steps: int, backend: tinyae.Backend
) -> None:
    # f(p) = sum(c * (p - t)^2): curvatures from 0.3 to 10, minimum at t
    c, t = tinyae.tensor([1.0, 10.0, 0.3]), tinyae.tensor([1.0, -2.0, 3.0])
    p = tinyae.tensor([0.0, 0.0, 0.0], requires_grad=True)
    opt = make([p])
    for _ in range(steps):
        opt.zero_grad()
        (c * (p - t) * (p - t)).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0, -2.0, 3.0], atol=1e-2)


def test_steps_are_counted_per_parameter_position() -> None:
    a = tinyae.tensor([1.0], dtype="float64", requires_grad=True)
    b = tinyae.tensor([1.0], dtype="float64", requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    for grads in ([0.5, None], [0.5, -2.0]):  # b has no gradient at the first step: it is skipped
        a.grad = a.backend.asarray([grads[0]], dtype="float64")
        b.grad = None if grads[1] is None else b.backend.asarray([grads[1]], dtype="float64")
        opt.step()
    assert opt.state[0]["step"] == 2 and opt.state[1]["step"] == 1
    # b's first step is a first step: bias correction gives lr * sign(g)
    np.testing.assert_allclose(b.numpy(), [1 + 0.1 * 2.0 / (2.0 + 1e-8)], rtol=1e-12)


def test_adam_state_dict_holds_pytorch_moments_and_new_betas_keep_them(backend: tinyae.Backend) -> None:
    # Adam's state is the formulas' m and v (PyTorch's exp_avg, exp_avg_sq), while it trains and as it is
    # saved, also when the betas change between steps
    x, y, start = regression_problem()
    w, b = (tinyae.tensor(v, dtype="float64", requires_grad=True, backend=backend) for v in start)
    X, Y = (tinyae.tensor(v, dtype="float64", backend=backend) for v in (x, y))
    opt = optim.Adam([w, b], lr=0.02)
    state: dict[int, dict[str, Any]] = {}
    ref = [v.copy() for v in start]
    for step in range(1, 31):
        betas = (0.9, 0.999) if step <= 10 else (0.5, 0.95)
        opt.betas = betas
        rule = adam_rule(lr=0.02, betas=betas)
        opt.zero_grad()
        functional.mse_loss(functional.linear(X, w, b), Y).backward()
        opt.step()
        grads = regression_gradients(x, y, *ref)
        ref = [rule(i, p, g, state) for i, (p, g) in enumerate(zip(ref, grads, strict=True))]
        if step in (10, 30):
            saved = opt.state_dict()["state"]
            for i in range(2):
                assert saved[f"{i}.step"] == step
                np.testing.assert_allclose(saved[f"{i}.exp_avg"], state[i]["m"], rtol=1e-10, atol=1e-14)
                np.testing.assert_allclose(saved[f"{i}.exp_avg_sq"], state[i]["v"], rtol=1e-10, atol=1e-14)
                live = opt.state[i]
                np.testing.assert_array_equal(backend.to_numpy(live["exp_avg"]), saved[f"{i}.exp_avg"])
                np.testing.assert_array_equal(backend.to_numpy(live["exp_avg_sq"]), saved[f"{i}.exp_avg_sq"])
    for mine, theirs in zip((w, b), ref, strict=True):
        np.testing.assert_allclose(mine.numpy(), theirs, rtol=1e-8, atol=1e-12)
