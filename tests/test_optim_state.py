"""Optimizer bookkeeping: float32 kept, state_dict round trips (also across backends), load errors,
constructor checks, and clip_grad_norm_."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyae
from tinyae import functional, nn, optim
from tinyae.backend import dtype_name

MAKERS: dict[str, Callable[[Any], optim.Optimizer]] = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd-momentum-decay": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0.1),
    "sgd-nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01),
    "rmsprop-centered-momentum": lambda p: optim.RMSprop(
        p, lr=0.01, momentum=0.9, centered=True, weight_decay=0.01
    ),
    "adam": lambda p: optim.Adam(p, lr=0.01, weight_decay=0.01),
}
each_optimizer = pytest.mark.parametrize("make", list(MAKERS.values()), ids=list(MAKERS))


def model_and_data(dtype: str, seed: int = 0) -> tuple[nn.Module, tinyae.Tensor, tinyae.Tensor]:
    tinyae.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=dtype),
        nn.BatchNorm1d(4, dtype=dtype),
        nn.Sigmoid(),
        nn.Linear(4, 2, dtype=dtype),
    )
    rng = np.random.default_rng(3)
    x = tinyae.tensor(rng.standard_normal((6, 3)), dtype=dtype)
    y = tinyae.tensor(rng.standard_normal((6, 2)), dtype=dtype)
    return model, x, y


def train(model: nn.Module, opt: optim.Optimizer, x: tinyae.Tensor, y: tinyae.Tensor, steps: int) -> None:
    for _ in range(steps):
        opt.zero_grad()
        functional.mse_loss(model(x), y).backward()
        opt.step()


@each_optimizer
def test_float32_parameters_and_state_stay_float32(
    make: Callable[[Any], optim.Optimizer], backend: tinyae.Backend
) -> None:
    model, x, y = model_and_data("float32")
    opt = make(model.parameters())
    train(model, opt, x, y, steps=3)
    for p, state in zip(opt.params, opt.state, strict=True):
        assert dtype_name(p.dtype) == "float32" and p.backend is backend
        for name, value in state.items():
            if not isinstance(value, (int, tuple)):  # the step count and Adam's record of its betas
                assert dtype_name(value.dtype) == "float32", name
                assert backend.owns(value)


@each_optimizer
def test_state_dict_round_trip_continues_the_trajectory(
    make: Callable[[Any], optim.Optimizer], backend: tinyae.Backend
) -> None:
    model, x, y = model_and_data("float64")
    opt = make(model.parameters())
    train(model, opt, x, y, steps=4)
    model_state, opt_state = model.state_dict(), opt.state_dict()
    assert all(isinstance(v, (int, np.ndarray)) for v in opt_state["state"].values())  # host-friendly
    train(model, opt, x, y, steps=4)

    resumed, _, _ = model_and_data("float64", seed=1)
    resumed.load_state_dict(model_state)
    resumed_opt = make(resumed.parameters())
    resumed_opt.load_state_dict(opt_state)
    train(resumed, resumed_opt, x, y, steps=4)
    for a, b in zip(model.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@each_optimizer
def test_state_saved_on_numpy_loads_on_strict(make: Callable[[Any], optim.Optimizer]) -> None:
    model, x, y = model_and_data("float64")
    opt = make(model.parameters())
    train(model, opt, x, y, steps=3)
    model_state, opt_state = model.state_dict(), opt.state_dict()
    train(model, opt, x, y, steps=3)

    moved = model_and_data("float64", seed=1)[0].to("strict")
    moved.load_state_dict(model_state)
    moved_opt = make(moved.parameters())
    moved_opt.load_state_dict(opt_state)
    strict = tinyae.get_backend("strict")
    arrays = [v for s in moved_opt.state for v in s.values() if not isinstance(v, (int, tuple))]
    assert len(arrays) >= len(moved_opt.state_names()) - 1 and all(strict.owns(v) for v in arrays)
    train(moved, moved_opt, x.to("strict"), y.to("strict"), steps=3)
    for a, b in zip(model.parameters(), moved.parameters(), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-15)


def test_load_state_dict_restores_hyperparameters() -> None:
    p = tinyae.tensor([1.0], requires_grad=True)
    saved = optim.Adam([p], lr=0.5, betas=(0.5, 0.6)).state_dict()
    assert saved["hyperparameters"] == {
        "lr": 0.5,
        "betas": (0.5, 0.6),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "eps_hat": False,
    }
    opt = optim.Adam([p])
    opt.load_state_dict(saved)
    assert opt.lr == 0.5 and opt.betas == (0.5, 0.6)


def trained_adam() -> tuple[optim.Adam, dict[str, Any]]:
    a = tinyae.tensor([1.0, 2.0], requires_grad=True)
    b = tinyae.tensor([[3.0]], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    (b * b).sum().backward()
    opt.step()
    return opt, opt.state_dict()


def corrupt(state: dict[str, Any], **changes: Any) -> dict[str, Any]:
    copy = {**state, "state": dict(state["state"]), "hyperparameters": dict(state["hyperparameters"])}
    for key, value in changes.items():
        section, _, name = key.partition("__")
        target = copy[section] if name else copy
        name = (name or section).replace("_dot_", ".")
        if value is None:
            del target[name]
        else:
            target[name] = value
    return copy


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"type": "SGD"}, "cannot load the state of a SGD optimizer into Adam"),
        ({"num_parameters": 3}, "the state_dict is for 3 parameters, this optimizer has 2"),
        ({"hyperparameters__lr": None}, r"missing hyperparameter\(s\) \['lr'\]"),
        ({"hyperparameters__momentum": 0.9}, r"unexpected \['momentum'\]"),
        (
            {"state__1_dot_exp_avg": np.zeros((1, 2))},
            r"'1.exp_avg' has shape \(1, 2\), its parameter .* \(1, 1\)",
        ),
        ({"state__0_dot_exp_avg_sq": None}, r"state of parameter 0 lacks \['exp_avg_sq'\]"),
        ({"state__0_dot_momentum_buffer": np.zeros(2)}, "unexpected state entry '0.momentum_buffer'"),
        ({"state__2_dot_step": 1}, "state key '2.step' names no parameter"),
    ],
    ids=[
        "type",
        "count",
        "missing-hyper",
        "extra-hyper",
        "shape",
        "missing-entry",
        "extra-entry",
        "position",
    ],
)
def test_load_state_dict_names_the_problem_and_changes_nothing(changes: dict[str, Any], message: str) -> None:
    opt, state = trained_adam()
    before = opt.state_dict()
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(corrupt(state, **changes))
    after = opt.state_dict()
    assert after["hyperparameters"] == before["hyperparameters"]
    for key, value in before["state"].items():
        np.testing.assert_array_equal(after["state"][key], value)


def test_state_dict_arrays_are_copies() -> None:
    opt, state = trained_adam()
    saved = state["state"]["0.exp_avg"].copy()
    opt.params[0].grad = opt.params[0].data + 1
    opt.step()
    np.testing.assert_array_equal(state["state"]["0.exp_avg"], saved)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda p: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda p: optim.SGD(p, lr=0.1), TypeError, "not a single Tensor"),
        (lambda p: optim.SGD([p, p], lr=0.1), ValueError, "parameters 0 and 1 are the same tensor"),
        (lambda p: optim.SGD([p.detach()], lr=0.1), ValueError, "does not require grad"),
        (lambda p: optim.SGD([p], lr=-1.0), ValueError, "lr must be >= 0"),
        (lambda p: optim.SGD([p], lr=0.1, nesterov=True), ValueError, "nesterov needs momentum > 0"),
        (lambda p: optim.RMSprop([p], alpha=1.0), ValueError, r"alpha must be in \[0.0, 1.0\)"),
        (lambda p: optim.Adam([p], betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in"),
    ],
    ids=["empty", "single", "duplicate", "no-grad", "lr", "nesterov", "alpha", "betas"],
)
def test_constructor_checks(
    build: Callable[[tinyae.Tensor], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        build(tinyae.tensor([1.0], requires_grad=True))


def test_moving_parameters_after_the_state_exists_is_refused() -> None:
    model, x, y = model_and_data("float32")
    opt = optim.Adam(model.parameters())
    train(model, opt, x, y, steps=1)
    model.to("strict")
    functional.mse_loss(model(x.to("strict")), y.to("strict")).backward()
    with pytest.raises(tinyae.BackendError, match="moved from backend 'numpy' to 'strict'"):
        opt.step()
    # the refusal leaves the state as it was: moved back, training goes on
    model.to("numpy")
    train(model, opt, x, y, steps=1)
    assert all(entries["step"] == 2 for entries in opt.state)


def test_a_gradient_of_another_dtype_or_shape_is_refused(backend: tinyae.Backend) -> None:
    p = tinyae.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p])
    p.grad = backend.asarray([1.0, 1.0], dtype="float64")
    with pytest.raises(ValueError, match=r"parameter 0 is \(2,\) float32 but its .grad is \(2,\) float64"):
        opt.step()
    p.grad = backend.asarray([1.0], dtype="float32")
    with pytest.raises(ValueError, match=r"its .grad is \(1,\) float32"):
        opt.step()


def test_zero_grad_and_repr() -> None:
    p = tinyae.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    (p * p).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None
    assert (
        repr(opt)
        == "SGD(lr=0.5, momentum=0.9, nesterov=False, weight_decay=0.0, dampening=0.0; 1 parameters)"
    )


# --- clip_grad_norm_ ----------------------------------------------------------------------------------------

grads = st.lists(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), elements=st.floats(-10, 10)),
    min_size=1,
    max_size=3,
)


@given(arrays=grads, max_norm=st.floats(0.01, 20.0))
def test_clip_grad_norm_scales_to_max_norm(
    arrays: list[np.ndarray], max_norm: float, backend: tinyae.Backend
) -> None:
    params = [tinyae.tensor(np.zeros_like(a), dtype="float64", requires_grad=True) for a in arrays]
    for p, a in zip(params, arrays, strict=True):
        p.grad = backend.asarray(a)
    total = float(np.sqrt(sum(np.sum(a * a) for a in arrays)))
    returned = optim.clip_grad_norm_(params, max_norm)
    assert isinstance(returned, tinyae.Tensor) and returned.shape == () and returned.backend is backend
    assert returned.item() == pytest.approx(total, rel=1e-12, abs=1e-300)
    scale = min(1.0, max_norm / (total + 1e-6))
    for p, a in zip(params, arrays, strict=True):
        np.testing.assert_allclose(backend.to_numpy(p.grad), a * scale, rtol=1e-12, atol=1e-300)
    after = float(np.sqrt(sum(np.sum(backend.to_numpy(p.grad) ** 2) for p in params)))
    assert after <= max_norm * (1 + 1e-9)
    if total > max_norm:
        assert after == pytest.approx(max_norm * total / (total + 1e-6), rel=1e-9)


def test_clip_grad_norm_keeps_float32_skips_missing_grads_and_handles_shared_arrays(
    backend: tinyae.Backend,
) -> None:
    a = tinyae.tensor([0.0, 0.0], requires_grad=True)
    b = tinyae.tensor([0.0, 0.0], requires_grad=True)
    unused = tinyae.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()  # the engine may hand both leaves the very same gradient array
    total = optim.clip_grad_norm_([a, b, unused, a], max_norm=1.0)  # a listed twice counts once
    assert total.item() == pytest.approx(2.0, rel=1e-6)
    for p in (a, b):
        assert dtype_name(p.grad.dtype) == "float32"
        np.testing.assert_allclose(backend.to_numpy(p.grad), [0.5, 0.5], rtol=1e-5)  # scaled once, not twice
    assert unused.grad is None
    assert optim.clip_grad_norm_([unused], max_norm=1.0).item() == 0.0
