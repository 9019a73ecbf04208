"""Autoencoders for MNIST-sized data: ``from tinyae import models``.

Every model is an :class:`~tinyae.nn.Module` with ``encode``, ``decode``, ``forward`` (the reconstruction),
``loss(*batch, rng=None) -> (total, parts)`` and a JSON-serialisable ``config`` that rebuilds it with
``type(model)(**model.config)``; :data:`MODELS` maps class names to classes.

- :class:`Autoencoder` (any MLP AE, optional batch norm and tied weights), :class:`TiedAutoencoder`
- :class:`DenoisingAutoencoder`, :class:`SparseAutoencoder`, :class:`ContractiveAutoencoder`
- :class:`StackedAutoencoder` (layer-wise pretraining pieces, ``classifier()``), :class:`Classifier`,
  :func:`accuracy`
- :class:`VAE`
- :mod:`tinyae.models.anomaly`: per-sample anomaly scores and :func:`roc_auc`

>>> import tinyae
>>> from tinyae import models
>>> model = models.Autoencoder([784, 500, 300, 20], activation="relu", loss="l2")
>>> rebuilt = models.MODELS[type(model).__name__](**model.config)
>>> [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]
True
"""

from tinyae.models.anomaly import (
    anomaly_scores,
    negative_elbo,
    reconstruction_error,
    reconstruction_nll,
    reconstruction_probability,
    roc_auc,
    unregularised_score,
)
from tinyae.models.autoencoder import Autoencoder, TiedAutoencoder
from tinyae.models.base import MODELS, Model, register
from tinyae.models.classifier import Classifier, accuracy
from tinyae.models.contractive import ContractiveAutoencoder
from tinyae.models.denoising import DenoisingAutoencoder
from tinyae.models.layers import Dense, TiedLinear
from tinyae.models.reconstruction import LOSSES
from tinyae.models.sparse import SparseAutoencoder
from tinyae.models.stacked import StackedAutoencoder
from tinyae.models.vae import VAE

__all__ = [
    "LOSSES",
    "MODELS",
    "VAE",
    "Autoencoder",
    "Classifier",
    "ContractiveAutoencoder",
    "Dense",
    "DenoisingAutoencoder",
    "Model",
    "SparseAutoencoder",
    "StackedAutoencoder",
    "TiedAutoencoder",
    "TiedLinear",
    "accuracy",
    "anomaly_scores",
    "negative_elbo",
    "reconstruction_error",
    "reconstruction_nll",
    "reconstruction_probability",
    "unregularised_score",
    "register",
    "roc_auc",
]
