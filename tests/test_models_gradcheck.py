"""Every model's loss, with its noise fixed by a seeded generator, agrees with finite differences in float64
with respect to all of its parameters, on numpy and strict, at tiny layer sizes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinyae
from tinyae import models
from tinyae.backend import RandomGenerator

BATCH = 5


def loss_gradcheck(model: Any, batch: tuple[Any, ...], seed: int = 0) -> bool:
    """Gradient-check ``model.loss(*batch)[0]`` with respect to every parameter of ``model``.

    gradcheck hands ``fn`` perturbed copies of the parameters; their values are put into the model's
    Parameters for one call (the analytic pass gets the Parameters themselves).  Every call draws its noise
    from a freshly seeded generator, so the loss is a deterministic function of the parameters.
    """
    params = list(model.parameters())
    backend = params[0].backend

    def fn(*values: tinyae.Tensor) -> tinyae.Tensor:
        saved = [p.data for p in params]
        for p, value in zip(params, values, strict=True):
            p.data = value.data
        try:
            total, _ = model.loss(*batch, rng=RandomGenerator(backend, seed))
            return total
        finally:
            for p, data in zip(params, saved, strict=True):
                p.data = data

    return tinyae.gradcheck(fn, params)


def inputs(n_features: int = 6, seed: int = 1) -> tinyae.Tensor:
    """A float64 batch of values in (0.05, 0.95), like pixels kept away from 0 and 1."""
    rng = np.random.default_rng(seed)
    return tinyae.tensor(rng.uniform(0.05, 0.95, size=(BATCH, n_features)), dtype="float64")


def build(factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    tinyae.manual_seed(0)
    return factory(*args, dtype="float64", **kwargs)


AUTOENCODERS: dict[str, Callable[[], Any]] = {
    "relu-l2": lambda: build(models.Autoencoder, [6, 4, 3], activation="relu", loss="l2"),
    "sigmoid-bce": lambda: build(models.Autoencoder, [6, 4, 3], activation="sigmoid", loss="bce"),
    "tanh-mse-linear-out": lambda: build(
        models.Autoencoder,
        [6, 4, 3],
        activation="tanh",
        code_activation="identity",
        output_activation="identity",
        loss="mse",
    ),
    "softplus-l2_mean": lambda: build(models.Autoencoder, [6, 4, 3], activation="softplus", loss="l2_mean"),
    "batchnorm-l2_norm": lambda: build(
        models.Autoencoder, [6, 5, 4, 3], activation="softplus", loss="l2_norm", batch_norm=True
    ),
    "batchnorm-relu-l2_norm": lambda: build(
        models.Autoencoder, [6, 4, 3], activation="relu", loss="l2_norm", batch_norm=True
    ),
    "tied-bce": lambda: build(models.TiedAutoencoder, [6, 4, 3], activation="sigmoid", loss="bce"),
    "tied-batchnorm": lambda: build(
        models.Autoencoder, [6, 4, 3], activation="softplus", loss="l2", batch_norm=True, tied=True
    ),
    "denoising-masking-tied": lambda: build(
        models.DenoisingAutoencoder, [6, 4], noise="masking", noise_level=0.3, tied=True
    ),
    "denoising-gaussian": lambda: build(
        models.DenoisingAutoencoder, [6, 4, 3], noise="gaussian", noise_level=0.2, loss="mse"
    ),
    "sparse-1-layer": lambda: build(models.SparseAutoencoder, [6, 4], rho=0.1, beta=3.0, weight_decay=0.01),
    "sparse-2-layers-tied": lambda: build(
        models.SparseAutoencoder, [6, 4, 3], rho=0.2, beta=1.0, weight_decay=0.1, tied=True
    ),
    "contractive-1-layer": lambda: build(models.ContractiveAutoencoder, [6, 4], contraction=0.5),
    "contractive-2-layers": lambda: build(models.ContractiveAutoencoder, [6, 4, 3], contraction=0.5),
    "contractive-tanh-tied": lambda: build(
        models.ContractiveAutoencoder, [6, 4], activation="tanh", loss="mse", contraction=1.0, tied=True
    ),
    "contractive-linear-code": lambda: build(
        models.ContractiveAutoencoder, [6, 4, 3], code_activation="identity", contraction=0.5
    ),
    "stacked": lambda: build(models.StackedAutoencoder, [6, 4, 3]),
    "stacked-denoising-bce": lambda: build(
        models.StackedAutoencoder, [6, 4, 3], loss="bce", denoising="masking", noise_level=0.25
    ),
    "vae-bernoulli": lambda: build(models.VAE, 6, hidden=4, latent=2),
    "vae-gaussian-deep": lambda: build(models.VAE, 6, hidden=[5, 4], latent=2, likelihood="gaussian"),
}


@pytest.mark.parametrize("name", list(AUTOENCODERS))
def test_autoencoder_loss_gradcheck(backend: tinyae.Backend, name: str) -> None:
    model = AUTOENCODERS[name]()
    assert model.backend is backend and model.training
    assert loss_gradcheck(model, (inputs(),))


@pytest.mark.parametrize("name", ["batchnorm-l2_norm", "tied-batchnorm"])
def test_batch_norm_eval_mode_gradcheck(backend: tinyae.Backend, name: str) -> None:
    model = AUTOENCODERS[name]()
    with tinyae.no_grad():
        model.encode(inputs(seed=7))  # move the running averages away from their initial 0 and 1
    model.eval()
    assert loss_gradcheck(model, (inputs(),))


def test_parts_sum_to_total(backend: tinyae.Backend) -> None:
    for name, factory in AUTOENCODERS.items():
        model = factory()
        total, parts = model.loss(inputs(), rng=RandomGenerator(backend, 0))
        assert total.shape == () and all(part.shape == () for part in parts.values()), name
        assert total.item() == pytest.approx(sum(part.item() for part in parts.values()), rel=1e-12), name


@pytest.mark.parametrize("denoising", [None, "gaussian"])
def test_stacked_layer_autoencoders_gradcheck(backend: tinyae.Backend, denoising: str | None) -> None:
    model = build(models.StackedAutoencoder, [6, 4, 3, 2], denoising=denoising, noise_level=0.1)
    x = inputs()
    for i in range(model.num_layers):
        layer = model.layer_autoencoder(i)
        assert loss_gradcheck(layer, (model.layer_inputs(x, i),))


def test_classifier_loss_gradcheck(backend: tinyae.Backend) -> None:
    labels = tinyae.tensor(np.array([0, 2, 1, 2, 0]), dtype="int64")
    assert loss_gradcheck(build(models.Classifier, [6, 4, 3], n_classes=3), (inputs(), labels))
    stacked = build(models.StackedAutoencoder, [6, 4, 3])
    assert loss_gradcheck(stacked.classifier(3), (inputs(), labels))


def test_helper_catches_a_wrong_gradient(backend: tinyae.Backend) -> None:
    """The helper really evaluates the perturbed parameters: a loss that hides one path from autograd
    (the code detached before the sparsity penalty) fails the check."""
    model = AUTOENCODERS["sparse-1-layer"]()
    model.sparsity_penalty = lambda code: tinyae.functional.kl_sparsity(code.detach().mean(axis=0), 0.1)
    with pytest.raises(tinyae.GradcheckError):
        loss_gradcheck(model, (inputs(),))
