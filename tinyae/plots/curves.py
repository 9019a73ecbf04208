"""Training curves: the loss (and its parts) per epoch, for the training and the validation data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tinyae.plots._common import PathLike, as_numpy, figure_title, finish, new_figure

__all__ = ["loss_curves"]


def _history_dict(history: Any) -> Mapping[str, Any]:
    if isinstance(history, Mapping):
        return history
    if all(hasattr(history, key) for key in ("loss", "val_loss", "parts")):  # tinyae.train.History
        return {
            "loss": history.loss,
            "val_loss": history.val_loss,
            "parts": history.parts,
            "val_parts": getattr(history, "val_parts", {}),
            "step_losses": getattr(history, "step_losses", []),
            "epoch_ends": [r.get("step") for r in history if r.get("val_loss") is not None],
        }
    raise TypeError(
        f"loss_curves needs a dict or a History (loss, val_loss, parts), not {type(history).__name__}"
    )


def _series(values: Any, name: str) -> np.ndarray:
    array = as_numpy(values).astype(np.float64)
    if array.ndim != 1:
        raise ValueError(f"history[{name!r}] must be one value per epoch, got shape {array.shape}")
    return array


def _plot(ax: Axes, values: np.ndarray, label: str, x: Any = None, **style: Any) -> None:
    epochs = np.arange(1, len(values) + 1) if x is None else np.asarray(x)
    # a marker on every point keeps a one-epoch history visible
    ax.plot(epochs, values, marker="o", markersize=3, label=label, **style)


def loss_curves(history: Any, path: PathLike | None = None, title: str | None = None) -> Figure:
    """Loss per epoch: the total for training and validation, and each part of the training loss.

    A run of one or two epochs has too few points for a curve: when the history holds the loss of every
    step (``fit``'s histories do, as ``"step_losses"``), the total is drawn per step instead.

    Parameters
    ----------
    history : dict or tinyae.train.History
        ``{"loss": [...], "val_loss": [...], "parts": {"reconstruction": [...], "kl": [...]}}``: one
        value per epoch.  Every key is optional but at least one series must be there; ``"val_parts"``
        (the same shape as ``"parts"``) is drawn dashed beside the parts; other keys are ignored.
    path : str or path, optional
        Where to save the PNG (written atomically).
    title : str, optional
        Title above the figure.

    Returns
    -------
    matplotlib.figure.Figure
        One panel (total loss), or two side by side when the loss has two or more parts.

    Examples
    --------
    >>> fig = loss_curves({"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.4, 2.0],
    ...                    "parts": {"reconstruction": [2.5, 1.6, 1.2], "kl": [0.5, 0.4, 0.3]}})
    >>> [ax.get_title() for ax in fig.axes]
    ['total loss', 'training loss parts']
    """
    record = _history_dict(history)
    # an empty series (a History trained without validation data) draws nothing and gets no legend entry
    totals = {key: _series(record[key], key) for key in ("loss", "val_loss") if len(record.get(key) or [])}
    parts = {name: _series(v, f"parts/{name}") for name, v in dict(record.get("parts") or {}).items()}
    if totals and len(parts) == 1:
        parts = {}  # a single part is the total: a second panel would repeat it
    val_parts = {
        name: _series(v, f"val_parts/{name}") for name, v in dict(record.get("val_parts") or {}).items()
    }
    if not totals and not parts:
        raise ValueError(f"history has no 'loss', 'val_loss' or 'parts' to draw (keys: {sorted(record)})")
    steps = _series(record.get("step_losses") or [], "step_losses")
    by_step = "loss" in totals and len(totals["loss"]) < 3 and len(steps) >= 3
    panels = (["total"] if totals else []) + (["parts"] if parts else [])
    fig = new_figure(5.0 * len(panels), 4.0)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        if panel == "total":
            names = {"loss": "training", "val_loss": "validation"}
            if by_step:
                _plot_by_step(ax, steps, totals.get("val_loss"), record.get("epoch_ends") or [])
                continue
            for key, values in totals.items():
                _plot(ax, values, names[key])
            if max(len(v) for v in totals.values()) < 2:  # honest about a curve of one point
                ax.text(
                    0.5, 0.5, "one epoch: no curve yet", transform=ax.transAxes, ha="center", color="gray"
                )
                ax.set_xlim(0.5, 1.5)
            ax.set_title("total loss")
        else:
            for k, (name, values) in enumerate(parts.items()):
                _plot(ax, values, f"{name} (training)", color=f"C{k}")
                if name in val_parts:
                    _plot(ax, val_parts[name], f"{name} (validation)", color=f"C{k}", linestyle="--")
            if max(len(v) for v in parts.values()) < 2:
                ax.text(
                    0.5, 0.5, "one epoch: no curve yet", transform=ax.transAxes, ha="center", color="gray"
                )
                ax.set_xlim(0.5, 1.5)
            ax.set_title("training loss parts" if not val_parts else "loss parts")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("loss")
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        figure_title(fig, title)
    return finish(fig, path)


def _plot_by_step(ax: Axes, steps: np.ndarray, val: np.ndarray | None, epoch_ends: list[int]) -> None:
    """The training loss of every step, and the validation loss at the end of each epoch."""
    ax.plot(np.arange(1, len(steps) + 1), steps, linewidth=1, label="training (each step)")
    if val is not None and len(epoch_ends) == len(val):
        ax.plot(epoch_ends, val, "s", markersize=6, label="validation (end of epoch)")
    ax.set_title("total loss per step")
    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    ax.grid(True, alpha=0.3)
    ax.legend()
