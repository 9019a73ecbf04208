"""The source tutorials' models and training settings, by name, for ``tinyae train MODEL``.

Each :class:`Recipe` builds the model a source post trains and its optimizer, with the post's learning
rate and batch size; epochs are scaled down for the 4,000-image sample.

>>> sorted(RECIPES)
['ae', 'bn', 'contractive', 'denoising', 'sparse', 'stacked', 'tied', 'vae']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinyae import models, optim

__all__ = ["RECIPES", "Recipe"]


@dataclass(frozen=True)
class Recipe:
    """One source tutorial's model and training settings (epochs scaled down for the 4,000-image sample)."""

    build: Callable[[str, str], Any]  # (dtype, backend) -> model
    optimizer: Callable[[Any, float], Any]  # (parameters, lr) -> optimizer
    lr: float
    batch_size: int
    epochs: int
    source: str


def _adam(params: Any, lr: float) -> Any:
    return optim.Adam(params, lr=lr)


def _sgd(params: Any, lr: float) -> Any:
    return optim.SGD(params, lr=lr)


def _rmsprop(params: Any, lr: float) -> Any:
    return optim.RMSprop(params, lr=lr, alpha=0.9)  # TF1's decay 0.9: alpha 0.99 saturates sigmoid layers


RECIPES: dict[str, Recipe] = {
    "ae": Recipe(
        lambda dt, be: models.Autoencoder([784, 500, 300, 20], "relu", loss="l2", dtype=dt, backend=be),
        _adam,
        lr=1e-3,
        batch_size=100,
        epochs=5,
        source="TensorFlow post: 784-500-300-20, ReLU, sigmoid out, l2 loss, Adam, batch 100",
    ),
    "tied": Recipe(
        lambda dt, be: models.TiedAutoencoder(
            [784, 500], activation="sigmoid", loss="bce", dtype=dt, backend=be
        ),
        _sgd,
        lr=0.1,
        batch_size=20,
        epochs=5,
        source="Theano post: tied 784-500, sigmoid, cross-entropy, SGD 0.1, batch 20",
    ),
    "denoising": Recipe(
        lambda dt, be: models.DenoisingAutoencoder([784, 500], tied=True, dtype=dt, backend=be),
        _sgd,
        lr=0.1,
        batch_size=20,
        epochs=5,
        source="Theano post: tied 784-500 with 30% masking noise, SGD 0.1, batch 20",
    ),
    "sparse": Recipe(
        lambda dt, be: models.SparseAutoencoder([784, 196], dtype=dt, backend=be),
        _adam,
        lr=1e-3,
        batch_size=100,
        epochs=10,
        source="UFLDL: sigmoid 784-196, rho 0.05, beta 3, lambda 1e-4",
    ),
    "contractive": Recipe(
        lambda dt, be: models.ContractiveAutoencoder([784, 500], dtype=dt, backend=be),
        _adam,
        lr=1e-3,
        batch_size=100,
        epochs=5,
        source="contractive AE: sigmoid 784-500, lambda 0.1",
    ),
    "bn": Recipe(
        lambda dt, be: models.Autoencoder(
            [784, 400, 300, 200, 20], "relu", loss="l2_norm", batch_norm=True, dtype=dt, backend=be
        ),
        _adam,
        lr=1e-3,
        batch_size=128,
        epochs=5,
        source="batch-norm AE: 784-400-300-200-20, ReLU, decay 0.9, Adam 1e-3, batch 128",
    ),
    "stacked": Recipe(
        lambda dt, be: models.StackedAutoencoder([784, 256, 128], dtype=dt, backend=be),
        _rmsprop,
        lr=0.02,
        batch_size=256,
        epochs=10,
        source="stacked AE: 784-256-128-256-784, sigmoid, MSE, RMSProp 0.02, batch 256",
    ),
    "vae": Recipe(
        lambda dt, be: models.VAE(784, 400, 20, dtype=dt, backend=be),
        _adam,
        lr=1e-3,
        batch_size=128,
        epochs=10,
        source="VAE: 784-400-20, Bernoulli likelihood, Adam 1e-3, batch 128",
    ),
}
