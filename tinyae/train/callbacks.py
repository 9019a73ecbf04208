"""Callbacks: code that runs at the end of every epoch and may end training.

A callback is any callable ``callback(epoch, history, model)``; ``epoch`` counts from 1 and ``history``
already holds that epoch's record.  It stops training by returning ``True`` or by raising
:class:`StopTraining` (whose message becomes ``history.stop_reason``).  Every callback runs each epoch,
even after one has asked to stop, so that a checkpoint after an early stop still saves the last epoch.

>>> def stop_below(epoch, history, model):
...     return history.latest("loss") < 0.1
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from tinyae import io
from tinyae.train.history import History

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "StopTraining", "run_callbacks"]

Callback = Callable[[int, History, Any], Any]


class StopTraining(Exception):  # noqa: N818 - a signal, like StopIteration, not an error
    """Raise from a callback to end training after the current epoch; the message says why."""


def run_callbacks(callbacks: Sequence[Callback], epoch: int, history: History, model: Any) -> str | None:
    """Run every callback; return why training should stop (the first reason given), or None."""
    reason = None
    for callback in callbacks:
        try:
            wants_stop = callback(epoch, history, model) is True
            message = f"{_name(callback)} returned True after epoch {epoch}"
        except StopTraining as stop:
            wants_stop, message = True, str(stop) or f"{_name(callback)} raised StopTraining"
        if wants_stop and reason is None:
            reason = message
    return reason


def _name(callback: Callback) -> str:
    return getattr(callback, "__name__", type(callback).__name__)


class EarlyStopping:
    """Stop when the monitored loss has not improved for ``patience`` epochs.

    Parameters
    ----------
    patience : int
        Epochs without improvement to tolerate.
    min_delta : float
        An improvement must lower the best value by more than this.
    monitor : {"auto", "val_loss", "loss"}
        ``"auto"`` watches the validation loss when there is one, else the training loss.
    restore_best : bool
        On stopping, load the parameters of the best epoch back into the model (kept as a state_dict
        copy, one per improvement).

    The state resets whenever a new training run (a new ``History``) begins, so one instance can serve
    the layers of :func:`~tinyae.train.pretrain_greedy` one after another.

    Examples
    --------
    >>> stop = EarlyStopping(patience=2)
    >>> history = History()
    >>> for epoch, loss in enumerate([1.0, 0.5, 0.6, 0.7], start=1):
    ...     history.append({"epoch": epoch, "loss": loss, "val_loss": None})
    ...     try:
    ...         stop(epoch, history, model=None)
    ...     except StopTraining as reason:
    ...         print(reason)
    early stopping after epoch 4: loss has not improved for 2 epochs (best 0.5 at epoch 2)
    """

    def __init__(
        self, patience: int = 5, min_delta: float = 0.0, monitor: str = "auto", restore_best: bool = False
    ) -> None:
        if patience < 1:
            raise ValueError(f"EarlyStopping needs patience >= 1, got {patience}")
        if monitor not in ("auto", "val_loss", "loss"):
            raise ValueError(f"EarlyStopping monitors 'auto', 'val_loss' or 'loss', not {monitor!r}")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.monitor = monitor
        self.restore_best = restore_best
        self._reset(None)

    def _reset(self, history: History | None) -> None:
        self._history = history
        self.best = float("inf")
        self.best_epoch = 0
        self.waited = 0
        self.best_state: dict[str, Any] | None = None

    def __call__(self, epoch: int, history: History, model: Any) -> None:
        if history is not self._history:
            self._reset(history)
        key = self.monitor
        if key == "auto":
            key = "val_loss" if history.latest("val_loss") is not None else "loss"
        value = history.latest(key)
        if value is None:
            raise ValueError(f"EarlyStopping monitors {key!r}, but epoch {epoch} has none (no val_data?)")
        if value < self.best - self.min_delta:  # NaN never counts as an improvement
            self.best, self.best_epoch, self.waited = value, epoch, 0
            if self.restore_best:
                self.best_state = model.state_dict()
            return
        self.waited += 1
        if self.waited >= self.patience:
            if self.restore_best and self.best_state is not None:
                model.load_state_dict(self.best_state)
            raise StopTraining(
                f"early stopping after epoch {epoch}: {key} has not improved for {self.patience} epochs "
                f"(best {self.best:.6g} at epoch {self.best_epoch})"
            )


class Checkpoint:
    """Save the model (and optionally its optimizer, in the same file) with :func:`tinyae.io.save`.

    Parameters
    ----------
    path : str or PathLike
        Where to save; ``{epoch}`` in it is replaced by the epoch number (``"ae-{epoch:03d}.safetensors"``
        keeps every checkpoint; a fixed name keeps the latest).  Saves are atomic: an interrupted one
        leaves the previous file intact.
    optimizer : Optimizer, optional
        Also save its state, into the same file (one atomic write, so weights and moments always come from
        the same step); resume with ``tinyae.io.load(path, into=model, optimizer=opt)``.
    every : int
        Save after epochs ``every``, ``2 * every``, ...

    Attributes
    ----------
    saved : list of str
        The files written so far.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> Checkpoint(folder / "ae-{epoch}.safetensors").path_for(3).endswith("ae-3.safetensors")
    True
    """

    def __init__(self, path: str | os.PathLike[str], optimizer: Any = None, every: int = 1) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"Checkpoint needs an integer every >= 1, got {every!r}")
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"Checkpoint(path=...) needs a str or os.PathLike, not {type(path).__name__}")
        self.path = os.fspath(path)
        self.optimizer = optimizer
        self.every = every
        self.saved: list[str] = []

    def path_for(self, epoch: int) -> str:
        """The file of ``epoch``."""
        return self.path.format(epoch=epoch)

    def __call__(self, epoch: int, history: History, model: Any) -> None:
        if epoch % self.every:
            return
        target = self.path_for(epoch)
        io.save(model, target, optimizer=self.optimizer)
        self.saved.append(target)
