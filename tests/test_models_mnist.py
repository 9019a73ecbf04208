"""Each model trains on the 5,000 embedded MNIST digits (no network) with a few optimizer steps of its
source tutorial's kind: the loss falls.  The stacked model is pretrained layer by layer and fine-tuned as a
classifier (well above chance), and a VAE trained on the digit 1 tells 1s from 9s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import tinyae
from tinyae import models, optim
from tinyae.backend import RandomGenerator
from tinyae.data import DataLoader, load_mnist_sample, subset, train_val_split

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@pytest.fixture(scope="module")
def digits() -> Split:
    """(train images, labels), (held-out images, labels): 4,000 and 1,000 of the embedded digits."""
    images, labels = load_mnist_sample()
    (train_x, train_y), (test_x, test_y) = train_val_split(images, labels, val_size=1000, seed=0)
    return (train_x, train_y), (test_x, test_y)


def batches(images: np.ndarray, batch_size: int, steps: int, labels: Any = None) -> Iterator[Any]:
    """``steps`` batches, as many epochs as that takes."""
    loader = DataLoader(images, labels, batch_size=batch_size, seed=0)
    taken = 0
    while True:
        for batch in loader:
            yield batch
            taken += 1
            if taken == steps:
                return


def train(model: Any, opt: optim.Optimizer, images: np.ndarray, batch_size: int, steps: int) -> None:
    model.train()
    for x in batches(images, batch_size, steps):
        opt.zero_grad()
        total, parts = model.loss(tinyae.tensor(x))
        assert np.isfinite(total.item()), parts
        total.backward()
        opt.step()


def probe(model: Any, x: tinyae.Tensor) -> float:
    """The loss on a fixed batch in evaluation mode, with fixed noise."""
    model.eval()
    try:
        with tinyae.no_grad():
            return float(model.loss(x, rng=RandomGenerator(x.backend, 0))[0].item())
    finally:
        model.train()


Case = tuple[Callable[[], Any], Callable[[Any], optim.Optimizer], int, int]

# model, its optimizer, batch size, steps: the settings of each source tutorial, shortened
CASES: dict[str, Case] = {
    "tensorflow-ae-784-500-300-20": (
        lambda: models.Autoencoder([784, 500, 300, 20], activation="relu", loss="l2"),
        lambda m: optim.Adam(m.parameters(), lr=1e-3),
        100,
        20,
    ),
    "theano-tied-784-500": (
        lambda: models.TiedAutoencoder([784, 500], activation="sigmoid", loss="bce"),
        lambda m: optim.SGD(m.parameters(), lr=0.1),
        20,
        30,
    ),
    "batchnorm-784-400-300-200-20": (
        lambda: models.Autoencoder(
            [784, 400, 300, 200, 20], activation="softplus", loss="l2_norm", batch_norm=True
        ),
        lambda m: optim.Adam(m.parameters(), lr=1e-3),
        128,
        20,
    ),
    "denoising": (
        lambda: models.DenoisingAutoencoder([784, 100], noise="masking", noise_level=0.3, tied=True),
        lambda m: optim.SGD(m.parameters(), lr=0.1),
        20,
        30,
    ),
    "sparse": (
        lambda: models.SparseAutoencoder([784, 64], rho=0.1, beta=3.0, weight_decay=1e-4),
        lambda m: optim.Adam(m.parameters(), lr=3e-3),
        100,
        30,
    ),
    "contractive": (
        lambda: models.ContractiveAutoencoder([784, 64], contraction=0.1),
        lambda m: optim.SGD(m.parameters(), lr=0.1),
        20,
        30,
    ),
    "stacked-784-256-128": (
        lambda: models.StackedAutoencoder([784, 256, 128], activation="sigmoid", loss="mse"),
        lambda m: optim.RMSprop(m.parameters(), lr=0.02, alpha=0.9),
        256,
        15,
    ),
    "vae": (
        lambda: models.VAE(784, hidden=400, latent=20),
        lambda m: optim.Adam(m.parameters(), lr=1e-3),
        100,
        30,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_loss_falls_on_real_digits(backend: tinyae.Backend, digits: Split, name: str) -> None:
    make, make_optimizer, batch_size, steps = CASES[name]
    tinyae.manual_seed(0)
    model = make()
    (train_x, _), (test_x, _) = digits
    held_out = tinyae.tensor(test_x[:500])
    before = probe(model, held_out)
    train(model, make_optimizer(model), train_x, batch_size, steps)
    after = probe(model, held_out)
    assert np.isfinite(after) and after < 0.9 * before, (before, after)


def test_stacked_pretraining_then_fine_tuning(digits: Split) -> None:
    """Layer-wise pretraining (RMSprop, batch 256) lowers each layer's loss; the pretrained 784-128-64
    encoder with a softmax head, fine-tuned by gradient descent (lr 0.5), beats chance by far."""
    (train_x, train_y), (test_x, test_y) = digits
    tinyae.manual_seed(0)
    model = models.StackedAutoencoder([784, 128, 64])
    held_out = tinyae.tensor(test_x[:500])
    for i in range(model.num_layers):
        layer = model.layer_autoencoder(i)
        opt = optim.RMSprop(layer.parameters(), lr=0.02, alpha=0.9)
        before = probe(layer, model.layer_inputs(held_out, i))
        for x in batches(train_x, 256, 16):
            opt.zero_grad()
            layer.loss(model.layer_inputs(x, i))[0].backward()
            opt.step()
        assert probe(layer, model.layer_inputs(held_out, i)) < 0.9 * before, i
    clf = model.classifier(10)
    opt = optim.SGD(clf.parameters(), lr=0.5)
    for x, y in batches(train_x, 100, 80, labels=train_y):
        opt.zero_grad()
        clf.loss(tinyae.tensor(x), y)[0].backward()
        opt.step()
    assert models.accuracy(clf, test_x, test_y) > 0.4  # chance is 0.1
    assert clf.encoder is model.encoder  # fine-tuning moved the stacked model's own encoder


def test_vae_trained_on_ones_flags_nines(digits: Split) -> None:
    (train_x, train_y), (test_x, test_y) = digits
    ones, _ = subset(train_x, train_y, 1)
    test, test_labels = subset(test_x, test_y, [1, 9])
    is_nine = (test_labels == 9).astype(np.int64)
    tinyae.manual_seed(0)
    vae = models.VAE(784, hidden=400, latent=20)
    train(vae, optim.Adam(vae.parameters(), lr=1e-3), ones, 100, 40)
    for method in models.anomaly.METHODS:
        scores = models.anomaly_scores(vae, test, method, samples=5, rng=RandomGenerator(vae.backend, 0))
        assert scores.shape == (len(test),)
        assert models.roc_auc(scores, is_nine) > 0.9, method
