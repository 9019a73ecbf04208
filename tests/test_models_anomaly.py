"""Anomaly scores (shapes, zero for a perfect reconstruction, the VAE scores' definitions) and roc_auc
against a brute-force count over all (positive, negative) pairs, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyae
from tinyae import models
from tinyae.backend import RandomGenerator
from tinyae.models import anomaly


def pairwise_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties counting 1/2: every pair counted."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


@st.composite
def scored_labels(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """At least one positive and one negative, in a random order; scores from few values, so many tie."""
    n_pos, n_neg = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    order = draw(st.permutations(range(n_pos + n_neg)))
    labels = np.array([1] * n_pos + [0] * n_neg)[list(order)]
    values = draw(st.lists(st.integers(-3, 3), min_size=n_pos + n_neg, max_size=n_pos + n_neg))
    return np.array(values, dtype=np.float64) / 2, labels


@given(data=scored_labels())
def test_roc_auc_matches_pairwise_counting(
    backend: tinyae.Backend, data: tuple[np.ndarray, np.ndarray]
) -> None:
    scores, labels = data
    got = models.roc_auc(tinyae.tensor(scores, dtype="float32"), tinyae.tensor(labels, dtype="int64"))
    assert got == pytest.approx(pairwise_auc(scores, labels), abs=1e-12)
    # plain backend arrays and boolean labels give the same
    assert models.roc_auc(backend.asarray(scores), backend.asarray(labels == 1)) == pytest.approx(got)


def test_roc_auc_on_continuous_scores() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=500)
    scores = rng.normal(size=500) + labels
    assert models.roc_auc(scores, labels) == pytest.approx(pairwise_auc(scores, labels), abs=1e-12)


def test_roc_auc_edge_cases(backend: tinyae.Backend) -> None:
    labels = backend.asarray([0, 0, 1, 1])
    assert models.roc_auc(backend.asarray([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert models.roc_auc(backend.asarray([0.9, 0.8, 0.2, 0.1]), labels) == 0.0
    assert models.roc_auc(backend.asarray([0.5, 0.5, 0.5, 0.5]), labels) == 0.5
    assert models.roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        ([0.1, 0.2], [1, 1], "both classes"),
        ([0.1, 0.2], [0, 0], "both classes"),
        ([0.1, float("nan")], [0, 1], "finite"),
        ([0.1, 0.2], [0, 2], "0 or 1"),
        ([0.1, 0.2, 0.3], [0, 1], "one length"),
    ],
)
def test_roc_auc_refuses_bad_input(scores: list[float], labels: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        models.roc_auc(scores, labels)


def identity_model() -> models.Autoencoder:
    """A model whose reconstruction is exactly its input: identity weights, zero biases, linear layers."""
    model = models.Autoencoder([5, 5], activation="identity", output_activation="identity", loss="mse")
    xp = model.backend.xp
    for p in model.parameters():
        p.data = xp.eye(5, dtype=p.dtype) if p.ndim == 2 else xp.zeros_like(p.data)
    return model


def test_reconstruction_error_is_zero_for_a_perfect_reconstruction(backend: tinyae.Backend) -> None:
    x = tinyae.tensor(np.random.default_rng(0).uniform(size=(7, 5)), dtype="float32")
    model = identity_model()
    for metric in ("l2", "l1"):
        scores = models.reconstruction_error(model, x, metric)
        assert scores.shape == (7,) and not scores.requires_grad
        np.testing.assert_array_equal(scores.numpy(), np.zeros(7, dtype=np.float32))


def test_reconstruction_error_formulas(backend: tinyae.Backend) -> None:
    x = tinyae.tensor(np.random.default_rng(0).uniform(size=(7, 5)), dtype="float32")
    model = models.Autoencoder([5, 3])
    err = model(x).numpy() - x.numpy()
    np.testing.assert_allclose(
        models.reconstruction_error(model, x, "l2").numpy(), np.sqrt((err**2).sum(axis=1)), rtol=1e-5
    )
    np.testing.assert_allclose(
        models.anomaly_scores(model, x, "l1").numpy(), np.abs(err).sum(axis=1), rtol=1e-5
    )


def test_vae_scores(backend: tinyae.Backend) -> None:
    tinyae.manual_seed(0)
    vae = models.VAE(6, hidden=4, latent=2, dtype="float64")
    x = tinyae.tensor(np.random.default_rng(1).uniform(size=(5, 6)), dtype="float64")
    one_draw = anomaly.negative_elbo(vae, x, samples=1, rng=RandomGenerator(backend, 3))
    assert one_draw.shape == (5,) and not one_draw.requires_grad
    np.testing.assert_allclose(one_draw.numpy(), -vae.elbo(x, rng=RandomGenerator(backend, 3)).numpy())
    many = anomaly.negative_elbo(vae, x, samples=20, rng=RandomGenerator(backend, 3)).numpy()
    kl = tinyae.functional.gaussian_kl(*vae.encode(x), reduction="none").numpy()
    assert np.all(many > kl)  # -log p(x|z) of Bernoulli pixels strictly inside (0, 1) is positive

    nll = anomaly.reconstruction_nll(vae, x).numpy()
    probs = vae.reconstruct(x).numpy()
    xn = x.numpy()
    expected = -(xn * np.log(probs) + (1 - xn) * np.log1p(-probs)).sum(axis=1)
    np.testing.assert_allclose(nll, expected, rtol=1e-9)

    log_p = anomaly.reconstruction_probability(vae, x, samples=8, rng=RandomGenerator(backend, 5))
    assert log_p.shape == (5,) and np.all(log_p.numpy() < 0)
    # the mean over L draws, each draw computed by hand
    mu, log_var = vae.encode(x)
    rng = RandomGenerator(backend, 5)
    draws = []
    for _ in range(8):
        z = vae.draw(mu, log_var, rng)
        draws.append(vae.log_likelihood(vae.decode_logits(z), x).numpy())
    np.testing.assert_allclose(log_p.numpy(), np.mean(draws, axis=0), rtol=1e-9)
    np.testing.assert_allclose(
        models.anomaly_scores(vae, x, "probability", samples=8, rng=RandomGenerator(backend, 5)).numpy(),
        -log_p.numpy(),
    )
    np.testing.assert_allclose(models.anomaly_scores(vae, x, "reconstruction").numpy(), nll)
    assert models.anomaly_scores(vae, x, "elbo", samples=2).shape == (5,)


def test_unregularised_score_is_the_negative_elbo_without_its_kl(backend: tinyae.Backend) -> None:
    tinyae.manual_seed(0)
    vae = models.VAE(6, hidden=4, latent=2, dtype="float64")
    x = tinyae.tensor(np.random.default_rng(2).uniform(size=(5, 6)), dtype="float64")
    score = anomaly.unregularised_score(vae, x, samples=1, rng=RandomGenerator(backend, 7)).numpy()
    elbo = anomaly.negative_elbo(vae, x, samples=1, rng=RandomGenerator(backend, 7)).numpy()
    kl = tinyae.functional.gaussian_kl(*vae.encode(x), reduction="none").numpy()
    np.testing.assert_allclose(score, elbo - kl, rtol=1e-12)  # the same draw: only the KL term differs
    by_name = models.anomaly_scores(vae, x, "unregularised", samples=4, rng=RandomGenerator(backend, 8))
    probability = anomaly.reconstruction_probability(vae, x, samples=4, rng=RandomGenerator(backend, 8))
    np.testing.assert_allclose(by_name.numpy(), -probability.numpy(), rtol=1e-12)


def test_gaussian_vae_log_likelihood_is_the_normal_density() -> None:
    vae = models.VAE(3, hidden=2, latent=1, likelihood="gaussian", dtype="float64")
    x = tinyae.tensor([[0.5, -1.0, 2.0]], dtype="float64")
    mean = tinyae.tensor([[0.0, 0.0, 1.0]], dtype="float64")
    expected = -0.5 * (0.25 + 1.0 + 1.0) - 1.5 * np.log(2 * np.pi)
    assert vae.log_likelihood(mean, x).item() == pytest.approx(expected, rel=1e-12)


def test_anomaly_scores_refuse_what_they_cannot_do() -> None:
    x = tinyae.tensor(np.zeros((2, 5)))
    with pytest.raises(TypeError, match="needs a VAE"):
        models.anomaly_scores(identity_model(), x, "elbo")
    with pytest.raises(ValueError, match="unknown anomaly score"):
        models.anomaly_scores(identity_model(), x, "entropy")
    with pytest.raises(ValueError, match="metric"):
        models.reconstruction_error(identity_model(), x, "l3")
    with pytest.raises(ValueError, match="samples"):
        anomaly.reconstruction_probability(models.VAE(5, hidden=3, latent=2), x, samples=0)
