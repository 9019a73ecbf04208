"""Checkpoints that work: model round trips (also across backends), buffers, optimizer state that continues
the same trajectory, loading into existing objects, the registry, and the docstring examples."""

from __future__ import annotations

import doctest
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinyae
from tests.test_train_standins import TinyAE, random_data
from tinyae import io, models, nn, optim
from tinyae.io import MODEL_REGISTRY, CheckpointError, register_model


def trained(model: TinyAE, steps: int = 3) -> TinyAE:
    """A few Adam steps in training mode, so that weights and batch-norm statistics are not initial."""
    opt = optim.Adam(model.parameters(), lr=0.05)
    x = tinyae.tensor(random_data(16), backend=model.encoder.weight.backend)
    for _ in range(steps):
        opt.zero_grad()
        model.loss(x)[0].backward()
        opt.step()
    return model


def outputs(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    backend = next(model.parameters()).backend
    with tinyae.no_grad():
        return model(tinyae.tensor(x, backend=backend)).numpy()


# --- models -------------------------------------------------------------------------------------------------


def test_model_round_trip_gives_identical_outputs_and_buffers(tmp_path: Path) -> None:
    model = trained(TinyAE(batch_norm=True))
    io.save(model, tmp_path / "ae.npz")
    loaded = io.load(tmp_path / "ae.npz")
    assert type(loaded) is TinyAE and loaded.config == model.config
    for (name, a), (name_b, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert name == name_b
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(model.norm.running_var.numpy(), np.ones(3))  # the buffers were worth saving
    x = random_data(7, seed=9)
    np.testing.assert_array_equal(outputs(loaded, x), outputs(model, x))


def test_a_model_saved_on_numpy_loads_on_strict(tmp_path: Path) -> None:
    model = trained(TinyAE(batch_norm=True))
    io.save(model, tmp_path / "ae.npz")
    loaded = io.load(tmp_path / "ae.npz", backend="strict")
    assert all(p.backend.name == "strict" for p in loaded.parameters())
    assert loaded.norm.running_mean.backend.name == "strict" and loaded.config["backend"] == "strict"
    x = random_data(7, seed=9)
    np.testing.assert_array_equal(outputs(loaded, x), outputs(model, x))


def test_a_model_saved_on_any_backend_loads_on_numpy(backend: tinyae.Backend, tmp_path: Path) -> None:
    model = trained(TinyAE())
    io.save(model, tmp_path / "ae.npz")
    header, _ = io.read_checkpoint(tmp_path / "ae.npz")
    assert header["backend"] == backend.name and header["dtype"] == "float32"
    loaded = io.load(tmp_path / "ae.npz", backend="numpy")
    x = random_data(5)
    np.testing.assert_allclose(outputs(loaded, x), outputs(model, x), rtol=1e-6)


def test_the_header_describes_the_model(tmp_path: Path) -> None:
    model = TinyAE(n_in=5, n_hidden=2, dtype="float64")
    io.save(model, tmp_path / "model.ckpt")  # the name is kept as given: no .npz appended
    assert [p.name for p in tmp_path.iterdir()] == ["model.ckpt"]
    header, arrays = io.read_checkpoint(tmp_path / "model.ckpt")
    assert (
        header["kind"] == "model" and header["class"] == "TinyAE" and header["version"] == io.FORMAT_VERSION
    )
    assert header["module"] == TinyAE.__module__ and header["config"] == json.loads(json.dumps(model.config))
    assert header["arrays"] == [
        {"name": "encoder.weight", "shape": [5, 2], "dtype": "float64"},
        {"name": "encoder.bias", "shape": [2], "dtype": "float64"},
        {"name": "decoder.weight", "shape": [2, 5], "dtype": "float64"},
        {"name": "decoder.bias", "shape": [5], "dtype": "float64"},
    ]
    assert list(arrays) == [entry["name"] for entry in header["arrays"]]


def test_loading_into_an_existing_model_and_moving_it(tmp_path: Path) -> None:
    model = trained(TinyAE())
    io.save(model, tmp_path / "ae.npz")
    target = TinyAE()
    assert io.load(tmp_path / "ae.npz", into=target, backend="strict") is target
    assert target.encoder.weight.backend.name == "strict"
    np.testing.assert_array_equal(target.encoder.weight.numpy(), model.encoder.weight.numpy())


def test_a_model_without_config_loads_only_into_a_module(tmp_path: Path) -> None:
    tinyae.manual_seed(1)
    plain = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    io.save(plain, tmp_path / "plain.npz")
    with pytest.raises(CheckpointError, match=r"saved without a config.*into="):
        io.load(tmp_path / "plain.npz")
    tinyae.manual_seed(2)
    other = io.load(tmp_path / "plain.npz", into=nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)))
    np.testing.assert_array_equal(other[0].weight.numpy(), plain[0].weight.numpy())


@pytest.mark.parametrize(
    ("saved", "target", "message"),
    [
        (lambda: TinyAE(n_hidden=3), lambda: TinyAE(n_hidden=4), "size mismatch for encoder.weight"),
        (lambda: TinyAE(batch_norm=True), lambda: TinyAE(), 'Unexpected key.*"norm.weight"'),
        (lambda: TinyAE(), lambda: TinyAE(batch_norm=True), 'Missing key.*"norm.running_mean"'),
    ],
    ids=["shape", "unknown-key", "missing-key"],
)
def test_a_model_that_does_not_fit_is_refused_naming_file_and_key(
    saved: Callable[[], TinyAE], target: Callable[[], TinyAE], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "ae.npz"
    io.save(saved(), path)
    into = target()
    before = into.encoder.weight.numpy().copy()
    with pytest.raises(CheckpointError, match=message) as caught:
        io.load(path, into=into)
    assert str(path) in str(caught.value) and "does not fit TinyAE" in str(caught.value)
    np.testing.assert_array_equal(into.encoder.weight.numpy(), before)  # nothing changed


def test_an_unregistered_class_is_named_with_the_ways_out(tmp_path: Path) -> None:
    class Unlisted(TinyAE):
        pass

    io.save(Unlisted(), tmp_path / "u.npz")
    with pytest.raises(
        CheckpointError, match=r"no model class named 'Unlisted' is registered.*register_model"
    ):
        io.load(tmp_path / "u.npz")
    assert isinstance(io.load(tmp_path / "u.npz", into=TinyAE()), TinyAE)


def test_the_registry_refuses_a_second_class_of_the_same_name() -> None:
    assert register_model(TinyAE) is TinyAE  # again: harmless

    class TinyAE2(nn.Module):
        pass

    TinyAE2.__name__ = "TinyAE"
    with pytest.raises(ValueError, match="named 'TinyAE' is registered already"):
        register_model(TinyAE2)


def test_the_real_models_round_trip_across_backends(tmp_path: Path) -> None:
    assert MODEL_REGISTRY["Autoencoder"] is models.Autoencoder  # tinyae.models registers its classes here
    tinyae.manual_seed(0)
    for model in (models.Autoencoder([8, 6, 3], batch_norm=True), models.VAE(8, hidden=[6], latent=2)):
        model.loss(tinyae.tensor(random_data(6, features=8)))  # in training mode: batch-norm statistics move
        io.save(model, tmp_path / "m.npz")
        loaded = io.load(tmp_path / "m.npz", backend="strict")
        assert type(loaded) is type(model) and loaded.backend.name == "strict"
        x = random_data(4, features=8)
        np.testing.assert_allclose(outputs(loaded, x), outputs(model, x), rtol=1e-6)


# --- optimizers ---------------------------------------------------------------------------------------------

OPTIMIZERS: dict[str, Callable[[Any], optim.Optimizer]] = {
    "adam": lambda p: optim.Adam(p, lr=0.03, betas=(0.8, 0.99), weight_decay=1e-3),
    "sgd-nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "rmsprop-centered": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
}


def steps(model: TinyAE, opt: optim.Optimizer, count: int, seed: int) -> None:
    backend = model.encoder.weight.backend
    for k in range(count):
        x = tinyae.tensor(random_data(8, seed=seed + k), backend=backend)
        opt.zero_grad()
        model.loss(x)[0].backward()
        opt.step()


@pytest.mark.parametrize("make", list(OPTIMIZERS.values()), ids=list(OPTIMIZERS))
@pytest.mark.parametrize("target", ["numpy", "strict"])
def test_optimizer_state_round_trip_continues_the_same_trajectory(
    make: Callable[[Any], optim.Optimizer], target: str, tmp_path: Path
) -> None:
    tinyae.manual_seed(0)
    model = TinyAE(batch_norm=True)
    opt = make(model.parameters())
    steps(model, opt, 3, seed=0)
    io.save(model, tmp_path / "model.npz")
    io.save(opt, tmp_path / "opt.npz")
    steps(model, opt, 3, seed=100)  # the reference continuation

    resumed = io.load(tmp_path / "model.npz", backend=target)
    fresh = type(opt)(resumed.parameters(), lr=123.0)  # wrong on purpose: the checkpoint restores it
    assert io.load(tmp_path / "opt.npz", into=fresh) is fresh
    assert fresh.hyperparameters == opt.hyperparameters
    steps(resumed, fresh, 3, seed=100)
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(resumed.state_dict()[name].numpy(), value.numpy(), rtol=1e-6, atol=1e-7)


def test_the_optimizer_header_keeps_steps_as_integers(tmp_path: Path) -> None:
    model = TinyAE()
    opt = optim.Adam(model.parameters())
    steps(model, opt, 2, seed=0)
    io.save(opt, tmp_path / "adam.npz")
    header, arrays = io.read_checkpoint(tmp_path / "adam.npz")
    assert header["kind"] == "optimizer" and header["class"] == "Adam" and header["num_parameters"] == 4
    assert header["scalars"] == {f"{i}.step": 2 for i in range(4)}
    assert sorted(arrays) == sorted(f"{i}.{n}" for i in range(4) for n in ("exp_avg", "exp_avg_sq"))


def test_optimizer_checkpoints_need_a_matching_into(tmp_path: Path) -> None:
    model = TinyAE()
    opt = optim.Adam(model.parameters())
    steps(model, opt, 1, seed=0)
    io.save(opt, tmp_path / "adam.npz")
    io.save(model, tmp_path / "model.npz")
    with pytest.raises(
        CheckpointError, match=r"adam\.npz: holds the state of a Adam optimizer.*into=optimizer"
    ):
        io.load(tmp_path / "adam.npz")
    with pytest.raises(CheckpointError, match="cannot load the state of a Adam optimizer into SGD"):
        io.load(tmp_path / "adam.npz", into=optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(CheckpointError, match="the state_dict is for 4 parameters, this optimizer has 2"):
        io.load(tmp_path / "adam.npz", into=optim.Adam(list(model.parameters())[:2]))
    with pytest.raises(CheckpointError, match="holds Adam optimizer state; into= is a TinyAE"):
        io.load(tmp_path / "adam.npz", into=model)
    with pytest.raises(
        CheckpointError, match="holds a TinyAE model and no optimizer state to load into Adam"
    ):
        io.load(tmp_path / "model.npz", into=opt)
    with pytest.raises(CheckpointError, match="holds optimizer state; load it with load"):
        io.load_state_dict(tmp_path / "adam.npz")


# --- bare state dicts ---------------------------------------------------------------------------------------


def test_state_dict_functions_round_trip_any_numeric_array(tmp_path: Path) -> None:
    state = {
        "scalar": np.array(2.5),
        "ints": np.arange(6, dtype=np.int64).reshape(2, 3),
        "mask": np.array([True, False]),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "strict": tinyae.tensor([1.0, 2.0], backend="strict"),
    }
    io.save_state_dict(state, tmp_path / "s.npz")
    loaded = io.load_state_dict(tmp_path / "s.npz")
    assert list(loaded) == list(state)
    for name, value in state.items():
        expected = value.numpy() if isinstance(value, tinyae.Tensor) else value
        np.testing.assert_array_equal(loaded[name], expected)
        assert loaded[name].dtype == expected.dtype and loaded[name].shape == expected.shape
    assert isinstance(io.load(tmp_path / "s.npz"), dict)
    model = TinyAE()
    io.save_state_dict(model.state_dict(), tmp_path / "m.npz")
    np.testing.assert_array_equal(io.load(tmp_path / "m.npz", into=TinyAE()).decoder.bias.numpy(), 0)


def test_saving_something_without_state_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="needs a model or an optimizer"):
        io.save(object(), tmp_path / "x.npz")
    with pytest.raises(TypeError, match="plain numbers only"):
        io.save_state_dict({"o": np.array([object()])}, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


# --- docstrings ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "tinyae.io",
        "tinyae.io.format",
        "tinyae.io.container",
        "tinyae.io.sizes",
        "tinyae.io.checkpoint",
        "tinyae.io.registry",
    ],
)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
