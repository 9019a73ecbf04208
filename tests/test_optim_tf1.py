"""TensorFlow 1's optimizer rules as options: RMSprop's accumulator starting at 1 with epsilon inside the
square root, Adam's epsilon "hat".  Each is checked one and two steps against the rule as TF1 documents it,
worked here by hand, on every backend, and survives a state_dict round trip."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinyae
from tests.test_optim_rules import G1, G2, P0, assert_close, two_steps
from tinyae import optim

TF1_RMSPROP = {"alpha": 0.9, "eps": 1e-10, "initial_accumulator_value": 1.0, "eps_inside_sqrt": True}


def test_tf1_rmsprop_steps(backend: tinyae.Backend) -> None:
    first, second = two_steps(optim.RMSprop, lr=0.01, **TF1_RMSPROP)
    # ms = 0.9 * 1 + 0.1 g^2 = (0.925, 0.90625); p -= 0.01 g / sqrt(ms + 1e-10)
    assert_close(first, [0.9948012475511806, -1.9973738713429505])
    # ms = 0.9 (0.925, 0.90625) + 0.1 (1, 0.25) = (0.9325, 0.840625)
    assert_close(second, [1.0051568550121952, -2.0028272901741184])
    ms2 = [0.9 * (0.9 + 0.1 * a * a) + 0.1 * b * b for a, b in zip(G1, G2, strict=True)]
    steps = [0.01 * g / math.sqrt(m + 1e-10) for g, m in zip(G2, ms2, strict=True)]
    assert_close(second, [p - s for p, s in zip(first.tolist(), steps, strict=True)])


def test_tf1_rmsprop_momentum_steps(backend: tinyae.Backend) -> None:
    lr, momentum, eps = 0.01, 0.9, 1e-10
    first, second = two_steps(optim.RMSprop, lr=lr, momentum=momentum, **TF1_RMSPROP)
    # TF1: mom = momentum * mom + lr * g / sqrt(ms + eps); p -= mom (mom starts at 0)
    ms1 = [0.9 + 0.1 * g * g for g in G1]
    mom1 = [lr * g / math.sqrt(m + eps) for g, m in zip(G1, ms1, strict=True)]
    assert_close(first, [p - m for p, m in zip(P0, mom1, strict=True)])
    ms2 = [0.9 * m + 0.1 * g * g for m, g in zip(ms1, G2, strict=True)]
    mom2 = [momentum * a + lr * g / math.sqrt(m + eps) for a, g, m in zip(mom1, G2, ms2, strict=True)]
    assert_close(second, [p - m for p, m in zip(first.tolist(), mom2, strict=True)])


def test_tf1_rmsprop_centered_steps(backend: tinyae.Backend) -> None:
    lr, eps = 0.01, 1e-10
    first, second = two_steps(optim.RMSprop, lr=lr, centered=True, **TF1_RMSPROP)
    # TF1 centered: mg = 0.9 mg + 0.1 g (from 0); p -= lr g / sqrt(ms - mg^2 + eps)
    ms1, mg1 = [0.9 + 0.1 * g * g for g in G1], [0.1 * g for g in G1]
    assert_close(
        first,
        [p - lr * g / math.sqrt(m - a * a + eps) for p, g, m, a in zip(P0, G1, ms1, mg1, strict=True)],
    )
    ms2 = [0.9 * m + 0.1 * g * g for m, g in zip(ms1, G2, strict=True)]
    mg2 = [0.9 * a + 0.1 * g for a, g in zip(mg1, G2, strict=True)]
    expected = [
        p - lr * g / math.sqrt(m - a * a + eps)
        for p, g, m, a in zip(first.tolist(), G2, ms2, mg2, strict=True)
    ]
    assert_close(second, expected)


def test_each_rmsprop_option_alone(backend: tinyae.Backend) -> None:
    lr, alpha, eps = 0.01, 0.99, 1e-3  # a large eps, so that where it goes shows
    first, _ = two_steps(optim.RMSprop, lr=lr, eps=eps, initial_accumulator_value=0.5)
    v = [alpha * 0.5 + (1 - alpha) * g * g for g in G1]
    assert_close(first, [p - lr * g / (math.sqrt(w) + eps) for p, g, w in zip(P0, G1, v, strict=True)])
    first, _ = two_steps(optim.RMSprop, lr=lr, eps=eps, eps_inside_sqrt=True)
    v = [(1 - alpha) * g * g for g in G1]
    assert_close(first, [p - lr * g / math.sqrt(w + eps) for p, g, w in zip(P0, G1, v, strict=True)])


def test_tf1_adam_steps(backend: tinyae.Backend) -> None:
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 0.1  # a large eps: the two rules differ visibly
    first, second = two_steps(optim.Adam, lr=lr, eps=eps, eps_hat=True)
    # t = 1: m = 0.1 g, v = 0.001 g^2, lr_t = 0.1 sqrt(0.001) / 0.1; p -= lr_t m / (sqrt(v) + 0.1)
    assert_close(first, [0.9863472940504185, -1.9926735153203312])
    pytorch_first, _ = two_steps(optim.Adam, lr=lr, eps=eps)
    assert_close(pytorch_first, [1 - 0.1 * 0.5 / (0.5 + 0.1), -2 + 0.1 * 0.25 / (0.25 + 0.1)])
    m = [b1 * (1 - b1) * a + (1 - b1) * b for a, b in zip(G1, G2, strict=True)]
    v = [b2 * (1 - b2) * a * a + (1 - b2) * b * b for a, b in zip(G1, G2, strict=True)]
    lr_t = lr * math.sqrt(1 - b2**2) / (1 - b1**2)
    expected = [p - lr_t * mi / (math.sqrt(vi) + eps) for p, mi, vi in zip(first.tolist(), m, v, strict=True)]
    assert_close(second, expected)


@pytest.mark.parametrize(
    ("opt_class", "options"),
    [
        (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, **TF1_RMSPROP}),
        (optim.RMSprop, {"lr": 0.01, "centered": True, **TF1_RMSPROP}),
        (optim.Adam, {"lr": 0.05, "eps": 1e-3, "eps_hat": True}),
    ],
    ids=["rmsprop-momentum", "rmsprop-centered", "adam"],
)
def test_state_dict_round_trip_keeps_the_options(
    opt_class: type[optim.Optimizer], options: dict[str, Any], backend: tinyae.Backend
) -> None:
    def run(opt: optim.Optimizer, p: tinyae.Tensor, grads: list[list[float]]) -> None:
        for g in grads:
            p.grad = p.backend.asarray(g, dtype="float64")
            opt.step()

    p = tinyae.tensor(P0, dtype="float64", requires_grad=True)
    opt = opt_class([p], **options)
    run(opt, p, [G1, G2])
    saved, start = opt.state_dict(), p.numpy().copy()
    run(opt, p, [G2, G1, G2])

    q = tinyae.tensor(start, dtype="float64", requires_grad=True)
    resumed = opt_class([q], lr=0.5)  # PyTorch's defaults until the state is loaded
    resumed.load_state_dict(saved)
    for name, value in options.items():
        assert getattr(resumed, name) == value, name
    run(resumed, q, [G2, G1, G2])
    np.testing.assert_array_equal(q.numpy(), p.numpy())
