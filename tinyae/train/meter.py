"""Averaging an epoch's losses without reading each one, and the stop at a NaN or infinite loss.

Reading a loss value (``total.item()``) makes a GPU finish all queued work before it returns: done every
step, it takes away the overlap of host and device.  So :class:`LossMeter` keeps each step's values as
0-d arrays where they are, and reads them to the host once, at the end of the epoch.  Keeping one value
per step (rather than a running sum) costs a few bytes each and tells exactly which step went wrong.

The NaN check has two forms (see :func:`tinyae.train.fit`'s ``check_each_step``):

- every step, before the update (:func:`check_finite`): one read per step, free on the CPU, where the
  values are already there; training stops with the parameters as they were before the bad step;
- once per epoch (:meth:`LossMeter.means`): no extra reads, but the rest of that epoch runs on (with NaN
  parameters, usually) before the error names the first bad step.
"""

from __future__ import annotations

import math
from typing import Any

from tinyae.backend import Backend
from tinyae.tensor import Tensor

__all__ = ["LossMeter", "check_finite", "describe_losses"]


class LossMeter:
    """Per-step loss values of one pass over the data, kept on the device until :meth:`means`.

    Parameters
    ----------
    backend : Backend
        Where the values live.
    first_step : int
        The run's step number of the first value added (for error messages).
    epoch : int
        The epoch this pass belongs to (for error messages).

    Examples
    --------
    >>> import tinyae
    >>> meter = LossMeter(tinyae.get_backend())
    >>> meter.add(tinyae.tensor(1.0), {"a": tinyae.tensor(1.0)}, size=2)
    >>> meter.add(tinyae.tensor(4.0), {"a": tinyae.tensor(4.0)}, size=1)
    >>> meter.means()  # weighted by the samples per step: (1 * 2 + 4 * 1) / 3
    (2.0, {'a': 2.0})
    """

    def __init__(self, backend: Backend, first_step: int = 1, epoch: int = 1) -> None:
        self.backend = backend
        self.first_step = first_step
        self.epoch = epoch
        self.sizes: list[int] = []  # samples per step: the weights of the mean
        self.totals: list[Any] = []  # 0-d backend arrays, one per step
        self.parts: dict[str, list[Any]] = {}
        self.step_totals: list[float] = []  # the totals as numbers, filled by means()

    def add(self, total: Tensor, parts: dict[str, Tensor], size: int) -> None:
        """Record one step's total and parts (their arrays only: the graph is not kept alive)."""
        if self.sizes and list(parts) != list(self.parts):
            raise ValueError(
                f"the loss parts changed from {list(self.parts)} to {list(parts)} at step "
                f"{self.first_step + len(self.sizes)}; a model must return the same parts every batch"
            )
        for name, value in {"loss": total, **parts}.items():
            if value.size != 1:
                raise ValueError(f"loss part {name!r} must be a scalar tensor, got shape {value.shape}")
        self.sizes.append(int(size))
        self.totals.append(total.data)
        for name, part in parts.items():
            self.parts.setdefault(name, []).append(part.data)

    def means(self, check: bool = False) -> tuple[float, dict[str, float]]:
        """The mean total and the mean of each part, each weighted by the samples per step.

        With ``check=True``, a ``FloatingPointError`` names the first step whose total is NaN or infinite.
        """
        if not self.sizes:
            raise ValueError("no batches: the data holds fewer samples than one batch (drop_last?)")
        totals = self.step_totals = self._read(self.totals)
        parts = {name: self._read(values) for name, values in self.parts.items()}
        if check:
            for index, value in enumerate(totals):
                if not math.isfinite(value):
                    at = {name: values[index] for name, values in parts.items()}
                    raise FloatingPointError(
                        describe_losses(self.first_step + index, self.epoch, index + 1, value, at)
                        + "; found at the end of the epoch (check_each_step=False), so the rest of "
                        "that epoch's steps ran too"
                    )
        weight = sum(self.sizes)
        means = {name: _weighted_mean(values, self.sizes, weight) for name, values in parts.items()}
        return _weighted_mean(totals, self.sizes, weight), means

    def _read(self, values: list[Any]) -> list[float]:
        """One device-to-host copy for all of an epoch's values of one name."""
        xp = self.backend.xp
        stacked = xp.stack([xp.reshape(v, ()) for v in values])
        return [float(v) for v in self.backend.to_numpy(stacked).tolist()]


def _weighted_mean(values: list[float], sizes: list[int], weight: int) -> float:
    return math.fsum(v * n for v, n in zip(values, sizes, strict=True)) / weight


def check_finite(total: Tensor, parts: dict[str, Tensor], step: int, epoch: int, batch: int) -> None:
    """Raise ``FloatingPointError`` naming the step and every loss part when ``total`` is NaN or infinite.

    >>> import tinyae
    >>> check_finite(tinyae.tensor(float("nan")), {"kl": tinyae.tensor(1.0)}, step=7, epoch=2, batch=3)
    Traceback (most recent call last):
    ...
    FloatingPointError: loss is nan at step 7 (epoch 2, batch 3): total=nan, kl=1; ...
    """
    value = float(total.item())
    if not math.isfinite(value):
        values = {name: float(part.item()) for name, part in parts.items()}
        raise FloatingPointError(
            describe_losses(step, epoch, batch, value, values)
            + "; training stopped before this step's update"
        )


def describe_losses(step: int, epoch: int, batch: int, total: float, parts: dict[str, float]) -> str:
    """The message of the NaN stop: where it happened and the value of every part."""
    values = ", ".join(f"{name}={value:.6g}" for name, value in {"total": total, **parts}.items())
    return f"loss is {total} at step {step} (epoch {epoch}, batch {batch}): {values}"
