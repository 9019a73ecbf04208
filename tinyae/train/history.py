"""``History``: what :func:`tinyae.train.fit` measured, one record per epoch, ready for JSON and plots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["History"]


class History:
    """Per-epoch records of a training run.

    Each record is a dict::

        {"epoch": 3, "step": 96, "loss": 0.21, "parts": {"reconstruction": 0.2, "kl": 0.01},
         "val_loss": 0.23, "val_parts": {...}, "seconds": 1.7}

    Records made by ``fit`` also hold ``"step_losses"``: the total loss of each of the epoch's steps.
    ``step`` counts the batches trained so far, ``seconds`` is the epoch's wall time (training and
    validation), and ``val_loss``/``val_parts`` are None without validation data.

    Examples
    --------
    >>> history = History()
    >>> history.append({"epoch": 1, "step": 10, "loss": 0.5, "parts": {"mse": 0.5},
    ...                 "val_loss": None, "val_parts": None, "seconds": 0.1})
    >>> history.loss, history.parts["mse"], history.val_loss
    ([0.5], [0.5], [])
    >>> History.from_dict(history.as_dict()).loss
    [0.5]
    """

    def __init__(self, epochs: list[dict[str, Any]] | None = None, stop_reason: str | None = None) -> None:
        self.epochs: list[dict[str, Any]] = list(epochs or [])
        #: why training ended before the last epoch (a callback's message), or None
        self.stop_reason = stop_reason

    def append(self, record: dict[str, Any]) -> None:
        """Add one epoch's record."""
        self.epochs.append(record)

    # --- columns --------------------------------------------------------------------------------------------
    @property
    def loss(self) -> list[float]:
        """The mean training loss of each epoch."""
        return [r["loss"] for r in self.epochs]

    @property
    def val_loss(self) -> list[float]:
        """The validation loss of each epoch that had one."""
        return [r["val_loss"] for r in self.epochs if r.get("val_loss") is not None]

    @property
    def parts(self) -> dict[str, list[float]]:
        """Each training loss part by name: ``history.parts["kl"]`` lists its epoch means."""
        return _columns(r["parts"] for r in self.epochs)

    @property
    def val_parts(self) -> dict[str, list[float]]:
        """Each validation loss part by name (epochs with validation only)."""
        return _columns(r["val_parts"] for r in self.epochs if r.get("val_parts") is not None)

    @property
    def step_losses(self) -> list[float]:
        """The total loss of every step, all epochs in order (empty for records without them)."""
        return [value for r in self.epochs for value in r.get("step_losses") or []]

    @property
    def seconds(self) -> list[float]:
        """The wall time of each epoch."""
        return [r["seconds"] for r in self.epochs]

    def latest(self, key: str) -> Any:
        """A field of the last record (``"loss"``, ``"val_loss"``, ...); ``KeyError`` before any epoch."""
        if not self.epochs:
            raise KeyError(f"no epochs recorded yet, so no {key!r}")
        return self.epochs[-1][key]

    # --- JSON -----------------------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy: ``{"epochs": [...], "stop_reason": ...}``."""
        return {"epochs": [_copy(r) for r in self.epochs], "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """The History that :meth:`as_dict` described."""
        return cls([_copy(r) for r in data["epochs"]], data.get("stop_reason"))

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.epochs)

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(0 epochs)"
        return f"History({len(self)} epochs, loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g})"


def _columns(records: Iterator[dict[str, float]]) -> dict[str, list[float]]:
    columns: dict[str, list[float]] = {}
    for record in records:
        for name, value in record.items():
            columns.setdefault(name, []).append(value)
    return columns


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    return {key: dict(value) if isinstance(value, dict) else value for key, value in record.items()}
