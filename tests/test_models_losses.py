"""Each loss against its formula computed by hand in NumPy: the reconstruction reductions, the l2_norm
gradient at zero error, the sparse (UFLDL) penalties and the contractive penalty against a numeric
Jacobian."""

from __future__ import annotations

import numpy as np
import pytest

import tinyae
from tinyae import models


def batch(n: int = 4, features: int = 8, seed: int = 0) -> tinyae.Tensor:
    return tinyae.tensor(np.random.default_rng(seed).uniform(0, 1, size=(n, features)).astype(np.float32))


def test_loss_reductions_match_their_formulas() -> None:
    x = batch(n=3, features=4)
    tinyae.manual_seed(0)
    made = {
        name: models.Autoencoder([4, 2], activation="sigmoid", loss=name, dtype="float64")
        for name in models.LOSSES
    }
    state = made["l2"].state_dict()
    for model in made.values():
        model.load_state_dict(state)
    x64 = tinyae.tensor(x.numpy(), dtype="float64")
    out = made["l2"](x64).numpy()
    xn = x64.numpy()
    err = out - xn
    logits = np.log(out) - np.log1p(-out)
    bce = np.maximum(logits, 0) - logits * xn + np.log1p(np.exp(-np.abs(logits)))
    expected = {
        "l2": 0.5 * np.sum(err**2),
        "l2_mean": 0.5 * np.sum(err**2) / 3,
        "mse": np.mean(err**2),
        "bce": bce.sum(axis=1).mean(),
        "l2_norm": np.sqrt((err**2).sum(axis=1)).mean(),
    }
    for name, model in made.items():
        assert model.loss(x64)[0].item() == pytest.approx(expected[name], rel=1e-9), name


def test_l2_norm_gradient_is_finite_at_a_perfect_reconstruction() -> None:
    model = models.Autoencoder([3, 3], activation="identity", output_activation="identity", loss="l2_norm")
    with tinyae.no_grad():
        model.encoder[0].linear.weight.data = model.backend.xp.eye(3, dtype=model.backend.xp.float32)
        model.decoder[0].linear.weight.data = model.backend.xp.eye(3, dtype=model.backend.xp.float32)
    total, _ = model.loss(batch(features=3))
    total.backward()
    assert total.item() == pytest.approx(0.0, abs=1e-5)
    assert all(np.isfinite(model.backend.to_numpy(p.grad)).all() for p in model.parameters())


def test_sparse_penalty_matches_the_ufldl_formula() -> None:
    model = models.SparseAutoencoder([4, 3], rho=0.2, beta=2.0, weight_decay=0.5, dtype="float64")
    x = tinyae.tensor(np.random.default_rng(0).uniform(size=(5, 4)), dtype="float64")
    _, parts = model.loss(x)
    rho_hat = model.encode(x).numpy().mean(axis=0)
    kl = np.sum(0.2 * np.log(0.2 / rho_hat) + 0.8 * np.log(0.8 / (1 - rho_hat)))
    assert parts["sparsity"].item() == pytest.approx(2.0 * kl, rel=1e-9)
    squares = sum(np.sum(p.numpy() ** 2) for p in model.parameters() if p.ndim == 2)
    assert parts["weight_decay"].item() == pytest.approx(0.5 / 2 * squares, rel=1e-9)


def test_contractive_penalty_matches_a_numeric_jacobian() -> None:
    for sizes in ([4, 3], [4, 3, 2]):
        tinyae.manual_seed(0)
        model = models.ContractiveAutoencoder(sizes, contraction=1.0, dtype="float64")
        xs = np.random.default_rng(0).uniform(size=(3, 4))
        _, parts = model.loss(tinyae.tensor(xs, dtype="float64"))
        norms = []
        for row in xs:
            jac = np.empty((4, sizes[-1]))
            for i in range(4):
                step = np.zeros(4)
                step[i] = 1e-6
                up = model.encode(tinyae.tensor([row + step], dtype="float64")).numpy()[0]
                down = model.encode(tinyae.tensor([row - step], dtype="float64")).numpy()[0]
                jac[i] = (up - down) / 2e-6
            norms.append(np.sum(jac**2))
        assert parts["contraction"].item() == pytest.approx(np.mean(norms), rel=1e-6), sizes
