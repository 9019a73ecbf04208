"""Greedy layer-wise pretraining: each layer trains on the codes of the fixed layers below it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinyae
from tests.test_train_standins import TinyStacked, random_data
from tinyae import models, optim
from tinyae.train import EarlyStopping, History, layer_codes, pretrain_end_to_end, pretrain_greedy


def snapshot(model: Any) -> dict[str, np.ndarray]:
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


def test_each_layer_trains_in_turn_and_lower_layers_stay_fixed(backend: tinyae.Backend) -> None:
    tinyae.manual_seed(0)
    stacked = TinyStacked((6, 4, 2))
    start = snapshot(stacked)
    at_factory_call: list[dict[str, np.ndarray]] = []

    def factory(parameters: Any) -> optim.Adam:
        at_factory_call.append(snapshot(stacked))
        return optim.Adam(parameters, lr=0.05)

    x = random_data(64)
    histories = pretrain_greedy(
        stacked, factory, (x, np.arange(64)), epochs=[6, 4], batch_size=16, progress=False
    )
    assert [len(h) for h in histories] == [6, 4]
    assert all(h.loss[-1] < h.loss[0] for h in histories)
    end = snapshot(stacked)
    # layer 0 trained first, then stayed fixed while layer 1 trained
    assert not np.array_equal(at_factory_call[1]["enc0.weight"], start["enc0.weight"])
    np.testing.assert_array_equal(end["enc0.weight"], at_factory_call[1]["enc0.weight"])
    np.testing.assert_array_equal(at_factory_call[1]["enc1.weight"], start["enc1.weight"])
    assert not np.array_equal(end["enc1.weight"], start["enc1.weight"])
    # codes are computed once per layer, batch by batch, without a graph and in evaluation mode
    assert {(i, grad, training) for i, grad, training in stacked.input_calls} == {
        (0, False, False),
        (1, False, False),
    }
    assert stacked.training


def test_layer_codes_are_the_lower_layers_outputs() -> None:
    stacked = TinyStacked((6, 4, 2))
    x = random_data(10)
    codes = layer_codes(stacked, x, 1, batch_size=3)
    expected = stacked.layer_inputs(tinyae.tensor(x), 1).numpy()
    np.testing.assert_allclose(tinyae.tensor(codes).numpy(), expected, rtol=1e-6)
    assert tuple(codes.shape) == (10, 4)


def test_validation_codes_and_early_stopping_per_layer() -> None:
    stacked = TinyStacked((6, 4, 2))
    stop = EarlyStopping(patience=1, monitor="val_loss")
    frozen = lambda parameters: optim.SGD(parameters, lr=0.0)  # noqa: E731 - no improvement at all
    histories = pretrain_greedy(
        stacked,
        frozen,
        random_data(32),
        epochs=5,
        val_data=random_data(8, seed=2),
        callbacks=[stop],
        progress=False,
    )
    assert [len(h) for h in histories] == [2, 2]  # the stopper started afresh for layer 1
    assert all(isinstance(h, History) and len(h.val_loss) == 2 for h in histories)


def test_epochs_must_match_the_number_of_layers() -> None:
    with pytest.raises(ValueError, match="epochs lists 3 numbers for a model of 2 layers"):
        pretrain_greedy(TinyStacked(), lambda p: optim.SGD(p, lr=0.1), random_data(), epochs=[1, 1, 1])


def test_pretraining_the_real_stacked_autoencoder() -> None:
    tinyae.manual_seed(0)
    stacked = models.StackedAutoencoder([12, 8, 4], denoising="masking", noise_level=0.2)
    x = random_data(64, features=12)
    histories = pretrain_greedy(
        stacked, lambda p: optim.Adam(p, lr=0.02), x, epochs=4, batch_size=16, progress=False
    )
    assert [len(h) for h in histories] == [4, 4]
    assert all(h.loss[-1] < h.loss[0] for h in histories)


def test_end_to_end_pretraining_trains_every_layer_on_the_reconstruction(backend: tinyae.Backend) -> None:
    tinyae.manual_seed(0)
    stacked = models.StackedAutoencoder([784, 16, 8], init="normal:1", bias_init="normal:1")
    start = snapshot(stacked)
    x = np.random.default_rng(0).random((64, 784), dtype=np.float32)
    history = pretrain_end_to_end(
        stacked, optim.SGD(stacked.parameters(), lr=0.5), (x, np.arange(64)), 3, batch_size=32, progress=False
    )
    assert isinstance(history, History) and len(history.loss) == 3
    end = snapshot(stacked)
    assert all(not np.array_equal(end[name], start[name]) for name in start)  # one loss moves every layer
    assert history.loss[-1] < history.loss[0]
