"""Anomaly scores: overlaid histograms, ROC curves and the area under them, computed in NumPy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinyae.plots._common import PathLike, as_numpy, finish, new_figure

__all__ = ["auc", "roc_curve", "roc_plot", "score_histograms"]


def _scores(values: Any, name: str) -> np.ndarray:
    array = as_numpy(values).astype(np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(array)).sum())} NaN or infinite values")
    return array


def score_histograms(
    scores_by_label: Mapping[str, Any],
    bins: int = 50,
    path: PathLike | None = None,
    title: str | None = None,
    xlabel: str = "anomaly score",
    density: bool = False,
) -> Figure:
    """Overlaid histograms of anomaly scores, one per group (``{"digit 1": s1, "digit 9": s9}``).

    All groups share one set of bin edges, so the bars line up; the legend gives each group's size.
    With ``density=True`` each histogram has area 1, which compares groups of different sizes; ``xlabel``
    names the score (``"L2 reconstruction error"``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fig = score_histograms({"normal": rng.normal(0, 1, 500), "anomalous": rng.normal(3, 1, 50)})
    >>> fig.axes[0].get_xlabel()
    'anomaly score'
    """
    groups = {str(name): _scores(values, f"scores of {name!r}") for name, values in scores_by_label.items()}
    if not groups:
        raise ValueError("score_histograms needs at least one group of scores")
    edges = np.histogram_bin_edges(np.concatenate(list(groups.values())), bins=bins)
    fig = new_figure(6.0, 4.0)
    ax = fig.add_subplot()
    for name, values in groups.items():
        ax.hist(values, bins=edges.tolist(), alpha=0.5, density=density, label=f"{name} (n = {values.size})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density" if density else "count")
    ax.set_title(title or "anomaly scores")
    ax.legend()
    return finish(fig, path)


def roc_curve(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve of a score: false and true positive rates at every distinct threshold.

    Label 1 (or True) marks a positive (an anomaly) and a higher score means "more anomalous"; at
    threshold ``t`` everything with ``score >= t`` is called positive.  Equal scores are one threshold,
    so ties give one diagonal step, and the trapezoid area under the curve (:func:`auc`) equals the
    probability that a random positive outscores a random negative, ties counting one half.

    Returns
    -------
    fpr, tpr : numpy.ndarray
        Rising from (0, 0) to (1, 1); ``len(distinct scores) + 1`` points.
    thresholds : numpy.ndarray
        Decreasing; the first is ``+inf`` (nothing called positive).

    Examples
    --------
    >>> fpr, tpr, thresholds = roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    >>> thresholds.tolist()
    [inf, 0.8, 0.4, 0.35, 0.1]
    """
    s = _scores(scores, "scores")
    y = as_numpy(labels).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"scores ({s.size}) and labels ({y.size}) differ in length")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"labels must be 0/1 or bool, got values {np.unique(y)[:5].tolist()}")
    y = y.astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"a ROC curve needs both classes, got {positives} positives and {negatives} negatives"
        )
    order = np.argsort(-s, kind="stable")  # most anomalous first
    s, y = s[order], y[order]
    # the last index of each run of equal scores: one point per distinct threshold
    ends = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    true_pos = np.cumsum(y)[ends]
    false_pos = ends + 1 - true_pos
    fpr = np.r_[0.0, false_pos / negatives]
    tpr = np.r_[0.0, true_pos / positives]
    thresholds = np.r_[np.inf, s[ends]]
    return fpr, tpr, thresholds


def auc(fpr: Any, tpr: Any) -> float:
    """Trapezoid area under a curve given by increasing ``fpr`` and its ``tpr`` (as from roc_curve).

    >>> auc([0.0, 0.5, 1.0], [0.0, 1.0, 1.0])
    0.75
    """
    x, y = as_numpy(fpr).astype(np.float64), as_numpy(tpr).astype(np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"fpr {x.shape} and tpr {y.shape} must be 1-D of one length")
    if np.any(np.diff(x) < 0):
        raise ValueError("fpr must not decrease")
    return float(np.trapezoid(y, x))


def roc_plot(
    curves: Mapping[str, tuple[Any, Any]], path: PathLike | None = None, title: str | None = None
) -> Figure:
    """ROC curves of several scores, ``{"name": (scores, labels)}``, with each AUC in the legend.

    The dotted diagonal is a score that knows nothing (AUC 0.5).  Curves that coincide (several perfect
    scores run up the left edge together) stay visible: each has its own dash pattern and a narrower line
    than the one before, and the axes start a little left of 0 so that the edge itself is not hidden.

    Examples
    --------
    >>> fig = roc_plot({"ok": ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])})
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['ok (AUC = 0.750)', 'chance (AUC = 0.5)']
    """
    if not curves:
        raise ValueError("roc_plot needs at least one (scores, labels) pair")
    fig = new_figure(5.0, 5.0)
    ax = fig.add_subplot()
    styles = ["-", "--", "-.", (0, (1, 1)), (0, (5, 1, 1, 1, 1, 1))]
    for k, (name, (scores, labels)) in enumerate(curves.items()):
        fpr, tpr, _ = roc_curve(scores, labels)
        width = max(4.5 - 1.2 * k, 1.0)  # the first drawn widest: later ones run on top, inside it
        style = styles[k % len(styles)]
        ax.plot(fpr, tpr, linestyle=style, linewidth=width, label=f"{name} (AUC = {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], linestyle=":", color="gray", label="chance (AUC = 0.5)")
    ax.set_xlim(-0.02, 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title or "ROC curves")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    return finish(fig, path)
