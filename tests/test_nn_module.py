"""``nn.Module``: registration order, no silent attribute fallback, parameters once (tied weights), state_dict
round trips and their errors, train/eval, moving between backends, repr."""

from __future__ import annotations

import numpy as np
import pytest

import tinyae
from tinyae import nn, optim


class Tied(nn.Module):
    """One Parameter registered under two names: ``forward`` computes ``x * w * w``."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter([2.0])
        self.w_again = self.w

    def forward(self, x: tinyae.Tensor) -> tinyae.Tensor:
        return x * self.w * self.w_again


class Ordered(nn.Module):
    """Parameters, a buffer and a child assigned in a deliberately non-alphabetical order."""

    def __init__(self) -> None:
        super().__init__()
        self.zeta = nn.Parameter([1.0])
        self.child = nn.Linear(2, 3)
        self.alpha = nn.Parameter([2.0, 3.0])
        self.register_buffer("count", tinyae.tensor([0.0]))
        self.mid = nn.Parameter([[4.0]])

    def forward(self, x: tinyae.Tensor) -> tinyae.Tensor:
        return self.child(x)


def small_model(seed: int, backend: str | None = None) -> nn.Sequential:
    tinyae.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(3, 4, backend=backend),
        nn.BatchNorm1d(4, backend=backend),
        nn.Tanh(),
        nn.Linear(4, 2, bias=False, backend=backend),
    )


def batch(backend: str | tinyae.Backend | None = None) -> tinyae.Tensor:
    x = np.random.default_rng(1).standard_normal((5, 3))
    return tinyae.tensor(x, dtype="float32", backend=backend)


# --- registration -------------------------------------------------------------------------------------------


def test_named_parameters_keep_assignment_order(backend: tinyae.Backend) -> None:
    model = Ordered()
    assert [name for name, _ in model.named_parameters()] == [
        "zeta",
        "alpha",
        "mid",
        "child.weight",
        "child.bias",
    ]
    assert [name for name, _ in model.named_buffers()] == ["count"]
    assert list(model.state_dict()) == ["zeta", "alpha", "mid", "count", "child.weight", "child.bias"]
    assert all(p.backend is backend for p in model.parameters())


def test_reassigning_a_parameter_keeps_its_place() -> None:
    model = Ordered()
    model.zeta = nn.Parameter([5.0])
    assert [name for name, _ in model.named_parameters()][:3] == ["zeta", "alpha", "mid"]
    assert model.zeta.item() == 5.0


def test_a_typo_is_an_attribute_error() -> None:
    layer = nn.Linear(2, 3)
    with pytest.raises(AttributeError, match="wieght"):
        _ = layer.wieght  # type: ignore[attr-defined]


def test_a_registered_slot_refuses_other_types() -> None:
    layer = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="parameter 'weight' of Linear"):
        layer.weight = tinyae.tensor([[1.0]])  # type: ignore[assignment]
    layer.bias = None  # emptying a slot is allowed and drops it from parameters()
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_assigning_before_init_says_what_to_do() -> None:
    class Forgetful(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_tied_parameter_is_listed_once_and_stepped_once(backend: tinyae.Backend) -> None:
    model = Tied()
    assert len(list(model.parameters())) == 1
    assert [name for name, _ in model.named_parameters()] == ["w"]
    assert list(model.state_dict()) == ["w", "w_again"]  # every name, as in PyTorch
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(tinyae.tensor([3.0])).sum().backward()  # d(3 w^2)/dw = 6 w = 12
    opt.step()
    assert model.w.item() == pytest.approx(2.0 - 0.1 * 12.0)  # a second update would give -0.4


def test_shared_submodule_is_visited_once() -> None:
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(model) == 3
    assert len(list(model.modules())) == 3  # the Sequential, the Linear once, the ReLU
    assert len(list(model.parameters())) == 2
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]


def test_zero_grad_forgets_gradients() -> None:
    model = small_model(0)
    model(batch()).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(float(np.abs(p.grad).max()) == 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# --- state_dict ---------------------------------------------------------------------------------------------


def test_state_dict_round_trip(backend: tinyae.Backend) -> None:
    source, target = small_model(0), small_model(1)
    x = batch()
    source(x)  # one training step moves the running statistics away from their start
    state = source.state_dict()
    assert list(state) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "3.weight",
    ]
    result = target.load_state_dict(state)
    assert result == nn.IncompatibleKeys([], [])
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    source.eval(), target.eval()
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())


def test_state_dict_holds_copies() -> None:
    model = nn.Linear(2, 2)
    state = model.state_dict()
    before = state["weight"].numpy().copy()
    model.weight.data -= 1.0  # an in-place update, as an optimizer makes
    np.testing.assert_array_equal(state["weight"].numpy(), before)


def test_load_state_dict_accepts_host_arrays_and_casts_dtype(backend: tinyae.Backend) -> None:
    model = nn.Linear(2, 3, dtype="float32")
    weights = np.arange(6, dtype=np.float64).reshape(2, 3)
    model.load_state_dict({"weight": weights, "bias": [1.0, 2.0, 3.0]})
    assert model.weight.backend is backend
    assert str(model.weight.dtype).endswith("float32")
    np.testing.assert_array_equal(model.weight.numpy(), weights)
    weights[0, 0] = 100.0  # the model holds its own copy
    assert model.weight.numpy()[0, 0] == 0.0


def test_load_state_dict_names_missing_and_unexpected_keys() -> None:
    model = small_model(0)
    state = model.state_dict()
    del state["0.bias"], state["1.running_var"]
    state["2.weight"] = tinyae.tensor([1.0])
    with pytest.raises(RuntimeError) as caught:
        model.load_state_dict(state)
    message = str(caught.value)
    assert 'Missing key(s) in state_dict: "0.bias", "1.running_var".' in message
    assert 'Unexpected key(s) in state_dict: "2.weight".' in message
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias", "1.running_var"]
    assert result.unexpected_keys == ["2.weight"]


def test_load_state_dict_names_size_mismatch_and_changes_nothing() -> None:
    model = nn.Linear(3, 4)
    before = model.state_dict()
    state = nn.Linear(3, 4).state_dict()
    state["weight"] = tinyae.tensor(np.zeros((4, 3)))
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: .*\(4, 3\).*\(3, 4\)"):
        model.load_state_dict(state, strict=False)  # even strict=False refuses a wrong shape
    for name, value in model.state_dict().items():  # the bias, which fit, was not loaded either
        np.testing.assert_array_equal(value.numpy(), before[name].numpy())


# --- modes, backends, printing ------------------------------------------------------------------------------


def test_train_and_eval_reach_every_submodule() -> None:
    model = nn.Sequential(small_model(0), nn.Sequential(nn.BatchNorm1d(2)))
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    model[1].train()
    assert model[1][0].training and not model[0].training  # type: ignore[index]
    model.train()
    assert all(m.training for m in model.modules())


def test_to_strict_moves_parameters_and_buffers_and_keeps_outputs() -> None:
    model = small_model(0, backend="numpy")
    x = batch("numpy")
    model(x).sum().backward()
    model.eval()
    expected = model(x).numpy()
    params = list(model.parameters())
    assert model.to("strict") is model
    assert list(model.parameters()) == params  # the same Parameter objects, moved in place
    strict = tinyae.get_backend("strict")
    assert all(t.backend is strict and strict.owns(t.data) for t in [*params, *model.buffers()])
    assert all(strict.owns(p.grad) for p in params)
    np.testing.assert_allclose(model(x.to("strict")).numpy(), expected, rtol=1e-6, atol=1e-7)
    model.to("numpy")
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6, atol=1e-7)


def test_to_copies_so_that_in_place_updates_stay_private() -> None:
    model = nn.Linear(2, 2, backend="strict").to("numpy")
    other = nn.Linear(2, 2, backend="numpy")
    other.load_state_dict(model.state_dict())
    model.weight.data -= 1.0
    assert not np.array_equal(model.weight.numpy(), other.weight.numpy())


def test_repr_is_readable() -> None:
    model = nn.Sequential(
        nn.Linear(4, 3),
        nn.BatchNorm1d(3),
        nn.LeakyReLU(0.2),
        nn.Sequential(nn.Linear(3, 2, bias=False, dtype="float64"), nn.Sigmoid()),
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=3, bias=True)\n"
        "  (1): BatchNorm1d(3, eps=1e-05, momentum=0.1)\n"
        "  (2): LeakyReLU(negative_slope=0.2)\n"
        "  (3): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=2, bias=False, dtype=float64)\n"
        "    (1): Sigmoid()\n"
        "  )\n"
        ")"
    )
    assert repr(nn.Identity()) == "Identity()"
    assert repr(nn.Linear(2, 2, backend="strict")).endswith("backend='strict')")


def test_sequential_indexing() -> None:
    model = small_model(0)
    assert isinstance(model[0], nn.Linear) and isinstance(model[-1], nn.Linear)
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert [type(m).__name__ for m in model] == ["Linear", "BatchNorm1d", "Tanh", "Linear"]
    with pytest.raises(IndexError, match="out of range for a Sequential of 4"):
        model[4]
