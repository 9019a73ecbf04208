"""Anomaly scores from autoencoders and VAEs, and the ROC AUC that rates them.

Train on normal data only (say, the digit 1), then score new samples: a sample the model reconstructs
badly, or finds improbable, is likely an anomaly (say, a 9).  Every score is per sample, shape (batch,),
computed in evaluation mode without a graph, and returned as a tensor:

- :func:`reconstruction_error`: ``|x - xhat|_2`` or ``|x - xhat|_1`` for any model whose ``forward`` is
  the reconstruction (higher = more anomalous);
- :func:`negative_elbo`: ``-ELBO(x)`` of a VAE, averaged over ``samples`` draws of z (higher = more
  anomalous);
- :func:`reconstruction_nll`: ``-log p(x | z = mu(x))``, the VAE's reconstruction term alone at the mean
  code (higher = more anomalous);
- :func:`reconstruction_probability`: An and Cho (2015): ``(1/L) sum_l log p(x | z_l)`` with
  ``z_l ~ q(z|x)`` (higher = more *normal*; :func:`anomaly_scores` negates it);
- :func:`unregularised_score`: An and Cho's score as an anomaly score, ``-(1/L) sum_l log p(x | z_l)``:
  the negative ELBO with its KL term (the regulariser) dropped (higher = more anomalous).

The paper averages the probabilities themselves; their logs are averaged here (the brief's definition),
because the likelihood of a 784-pixel image underflows every float type.

:func:`roc_auc` is the Mann-Whitney statistic computed from ranks, with tied scores given their average
rank, in backend array operations (it runs on the scores' own backend).
"""

from __future__ import annotations

from typing import Any

from tinyae.backend import RandomGenerator, backend_of, get_backend
from tinyae.models.base import Model, evaluating
from tinyae.models.vae import VAE
from tinyae.tensor import Tensor

__all__ = [
    "METHODS",
    "anomaly_scores",
    "negative_elbo",
    "reconstruction_error",
    "reconstruction_nll",
    "reconstruction_probability",
    "roc_auc",
    "unregularised_score",
]

METHODS = ("l2", "l1", "elbo", "reconstruction", "probability", "unregularised")


def reconstruction_error(model: Model, x: Any, metric: str = "l2") -> Tensor:
    """Per-sample distance between ``x`` (batch, features) and ``model(x)``: ``"l2"`` (Euclidean) or
    ``"l1"`` (sum of absolute differences).  0 for a perfect reconstruction."""
    if metric not in ("l2", "l1"):
        raise ValueError(f"unknown metric {metric!r}; choose 'l2' or 'l1'")
    x = model.as_input(x)
    with evaluating(model):
        output = model(x)
    xp = x.backend.xp
    diff = output.data - x.data
    if metric == "l1":
        return Tensor(xp.sum(xp.abs(diff), axis=-1), backend=x.backend)
    return Tensor(xp.sqrt(xp.sum(diff * diff, axis=-1)), backend=x.backend)


def negative_elbo(vae: VAE, x: Any, samples: int = 1, rng: RandomGenerator | None = None) -> Tensor:
    """Per-sample ``-ELBO = -log p(x|z) + KL(q(z|x) || p(z))``, the reconstruction term averaged over
    ``samples`` draws of z from ``rng``."""
    _check_samples(samples)
    with evaluating(vae):
        total = None
        for _ in range(samples):
            reconstruction, kl = vae.terms(x, rng)
            total = reconstruction if total is None else total + reconstruction
        assert total is not None
        return total * (1.0 / samples) + kl


def reconstruction_nll(vae: VAE, x: Any) -> Tensor:
    """Per-sample ``-log p(x | z = mu(x))``: the reconstruction term at the mean code, without noise."""
    x = vae.as_input(x)
    with evaluating(vae):
        mu, _ = vae.encode(x)
        return -vae.log_likelihood(vae.decode_logits(mu), x)


def reconstruction_probability(
    vae: VAE, x: Any, samples: int = 10, rng: RandomGenerator | None = None
) -> Tensor:
    """Per-sample ``(1/L) sum_l log p(x | z_l)`` with ``z_l ~ q(z|x)``, ``L = samples`` (An and Cho, 2015,
    with logs averaged); higher means more normal."""
    _check_samples(samples)
    x = vae.as_input(x)
    with evaluating(vae):
        mu, log_var = vae.encode(x)
        total = None
        for _ in range(samples):
            log_p = vae.log_likelihood(vae.decode_logits(vae.draw(mu, log_var, rng)), x)
            total = log_p if total is None else total + log_p
        assert total is not None
        return total * (1.0 / samples)


def unregularised_score(vae: VAE, x: Any, samples: int = 10, rng: RandomGenerator | None = None) -> Tensor:
    """Per-sample ``-(1/L) sum_l log p(x | z_l)``, ``z_l ~ q(z|x)``: the negative ELBO without its KL term.

    This is the score of An and Cho (2015), the paper the VAE anomaly post cites: the KL term measures
    how far ``q(z|x)`` strays from the prior, which says little about whether ``x`` itself is normal, so
    only the expected reconstruction log-likelihood is kept.  With one draw and the same noise,
    ``unregularised_score(x) = negative_elbo(x) - KL(q(z|x) || p(z))`` exactly.
    """
    return -reconstruction_probability(vae, x, samples, rng)


def anomaly_scores(
    model: Model, x: Any, method: str = "l2", samples: int = 10, rng: RandomGenerator | None = None
) -> Tensor:
    """Per-sample scores where higher means more anomalous, by ``method``:

    ``"l2"``, ``"l1"`` (:func:`reconstruction_error`, any model), and for a VAE ``"elbo"``
    (:func:`negative_elbo`), ``"reconstruction"`` (:func:`reconstruction_nll`), ``"probability"``
    (minus :func:`reconstruction_probability`) and ``"unregularised"`` (:func:`unregularised_score`, the
    same number, named after what it leaves out).  ``samples`` and ``rng`` serve the sampled scores.
    """
    if method in ("l2", "l1"):
        return reconstruction_error(model, x, method)
    if method not in METHODS:
        raise ValueError(f"unknown anomaly score {method!r}; choose one of {list(METHODS)}")
    if not isinstance(model, VAE):
        raise TypeError(f"anomaly score {method!r} needs a VAE, got {type(model).__name__}")
    if method == "elbo":
        return negative_elbo(model, x, samples, rng)
    if method == "reconstruction":
        return reconstruction_nll(model, x)
    if method == "unregularised":
        return unregularised_score(model, x, samples, rng)
    return -reconstruction_probability(model, x, samples, rng)


def _check_samples(samples: int) -> None:
    if int(samples) < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")


def roc_auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve of ``scores`` (higher = more likely positive) against binary ``labels``.

    The Mann-Whitney form: with ``R`` the sum of the positives' ranks among all scores (rank 1 the
    lowest; a group of tied scores shares the average of its ranks),
    ``AUC = (R - P (P + 1) / 2) / (P N)`` for ``P`` positives and ``N`` negatives.  That is the
    probability that a random positive scores above a random negative, a tie counting one half.

    Parameters
    ----------
    scores : Tensor or array
        1-D, finite.
    labels : Tensor, array or list
        1-D, same length: 1 or True for a positive (an anomaly), 0 or False for a negative.

    Examples
    --------
    >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    s = scores.data if isinstance(scores, Tensor) else scores
    if isinstance(s, (list, tuple)):
        s = get_backend("numpy").asarray(s, dtype="float64")
    backend = backend_of(s)
    xp = backend.xp
    y = Tensor(labels.data if isinstance(labels, Tensor) else labels, backend=backend).data
    if s.ndim != 1 or tuple(y.shape) != tuple(s.shape):
        raise ValueError(
            f"roc_auc needs 1-D scores and labels of one length, got {tuple(s.shape)} and {tuple(y.shape)}"
        )
    if xp.isdtype(y.dtype, "bool"):
        positive = y
    else:
        if not bool(xp.all((y == 0) | (y == 1))):
            raise ValueError("roc_auc: labels must be 0 or 1 (or booleans)")
        positive = y == 1
    if xp.isdtype(s.dtype, "real floating") and bool(xp.any(~xp.isfinite(s))):
        raise ValueError("roc_auc: scores must be finite (found NaN or infinity)")
    weights = xp.astype(positive, xp.float64)
    n_pos = float(xp.sum(weights))
    n_neg = s.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"roc_auc needs both classes; got {int(n_pos)} positives and {int(n_neg)} negatives")
    groups = xp.unique_all(s)  # distinct values ascending, each sample's group, and group sizes
    counts = xp.astype(groups.counts, xp.float64)
    # a group of c ties occupying ranks e-c+1 .. e (1-based, e = running total) has average rank e-(c-1)/2
    average = xp.cumulative_sum(counts) - (counts - 1.0) / 2.0
    ranks = xp.take(average, xp.reshape(groups.inverse_indices, (-1,)))
    rank_sum = float(xp.sum(ranks * weights))
    return (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
