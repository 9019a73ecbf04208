"""Every model on the real MNIST test set in $TINYAE_DATA/mnist: 8,000 digits to train, 2,000 held out.

Each model trains with its source tutorial's settings, scaled down to a few epochs, and its held-out loss
must fall; the VAE trained on the digit 1 must separate held-out 1s from 9s, and the stacked autoencoder,
pretrained then fine-tuned, must classify well above chance.  The figures are printed: run
``TINYAE_DATA=../shared/data python -m pytest tests/test_real_mnist.py -s`` to see them.
Skipped without TINYAE_DATA.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinyae
from tinyae import data, models, optim, train

pytestmark = pytest.mark.slow

Adam = lambda p: optim.Adam(p, lr=1e-3)  # noqa: E731 - a table of recipes reads better with lambdas
SGD01 = lambda p: optim.SGD(p, lr=0.1)  # noqa: E731
RMS = lambda p: optim.RMSprop(p, lr=0.02, alpha=0.9)  # noqa: E731 - TF1's decay 0.9 (see tutorial 8)

# name: (model, optimizer, batch size, epochs) - the source tutorials' settings, fewer epochs
RECIPES: dict[str, tuple[Callable[[], Any], Callable[[Any], Any], int, int]] = {
    "tensorflow_ae": (lambda: models.Autoencoder([784, 500, 300, 20], "relu", loss="l2"), Adam, 100, 3),
    "tied_ae": (lambda: models.TiedAutoencoder([784, 500], activation="sigmoid", loss="bce"), SGD01, 20, 2),
    "denoising": (lambda: models.DenoisingAutoencoder([784, 500], tied=True), SGD01, 20, 2),
    "sparse": (lambda: models.SparseAutoencoder([784, 196]), Adam, 100, 3),
    "contractive": (lambda: models.ContractiveAutoencoder([784, 500], tied=True), Adam, 100, 2),
    "batch_norm": (
        lambda: models.Autoencoder([784, 400, 300, 200, 20], "relu", loss="l2_norm", batch_norm=True),
        Adam,
        128,
        3,
    ),
    "stacked_end_to_end": (lambda: models.StackedAutoencoder([784, 256, 128]), RMS, 256, 3),
    "vae": (lambda: models.VAE(784, 400, 20), Adam, 128, 3),
}


@pytest.fixture(scope="module")
def mnist() -> data.Dataset:
    if not os.environ.get("TINYAE_DATA"):
        pytest.skip("TINYAE_DATA is not set: point it at a folder holding mnist/ (CI uses ../shared/data)")
    try:
        images, labels = data.load_mnist("test", download=False)
    except data.DatasetError as error:
        pytest.skip(f"real MNIST not found under $TINYAE_DATA: {error}")
    order = np.random.default_rng(0).permutation(len(labels))[:10_000]
    images, labels = images[order], labels[order]
    return data.Dataset(images[:8000], labels[:8000], images[8000:], labels[8000:])


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_held_out_loss_falls(mnist: data.Dataset, name: str) -> None:
    build, make_optimizer, batch_size, epochs = RECIPES[name]
    tinyae.manual_seed(0)
    model = build()
    before = train.evaluate(model, mnist.x_test, batch_size=500)["loss"]
    history = train.fit(
        model, make_optimizer(model.parameters()), mnist.x_train, epochs, batch_size, val_data=mnist.x_test,
        progress=False,
    )  # fmt: skip
    after = history.val_loss[-1]
    seconds = sum(history.seconds)
    print(f"\n{name}: held-out loss {before:.4f} -> {after:.4f} in {epochs} epochs ({seconds:.1f} s)")
    assert after < 0.9 * before


def test_vae_on_ones_separates_nines(mnist: data.Dataset) -> None:
    tinyae.manual_seed(0)
    ones, _ = data.subset(mnist.x_train, mnist.y_train, 1)
    scored, labels = data.subset(mnist.x_test, mnist.y_test, [1, 9])
    is_nine = (labels == 9).astype(np.int64)
    vae = models.VAE(784, 400, 20)
    train.fit(vae, optim.Adam(vae.parameters(), lr=1e-3), ones, 30, 128, progress=False)
    aucs = {}
    for method in ("l2", "l1", "elbo", "reconstruction", "probability"):
        scores = models.anomaly_scores(vae, scored, method)
        aucs[method] = models.roc_auc(scores, tinyae.tensor(is_nine))
    print(
        f"\nVAE on {len(ones)} ones, {int(is_nine.sum())} nines among {len(labels)} held out: ROC AUC {aucs}"
    )
    assert min(aucs.values()) > 0.9


def test_stacked_pretrained_then_fine_tuned_classifies(mnist: data.Dataset) -> None:
    tinyae.manual_seed(0)
    stacked = models.StackedAutoencoder([784, 128, 64])
    train.pretrain_greedy(stacked, lambda p: optim.RMSprop(p, lr=0.02, alpha=0.9), mnist.x_train, 3, 256,
                          progress=False)  # fmt: skip
    classifier = stacked.classifier(10)
    train.fit(classifier, optim.SGD(classifier.parameters(), lr=0.5), (mnist.x_train, mnist.y_train), 10, 100,
              progress=False)  # fmt: skip
    accuracy = models.accuracy(classifier, mnist.x_test, mnist.y_test)
    print(
        f"\nstacked 784-128-64 pretrained (3 epochs a layer) + softmax fine-tuned (10 epochs): {accuracy:.2%}"
    )
    assert accuracy > 0.8
