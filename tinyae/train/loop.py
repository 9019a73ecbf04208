"""``fit``: the training loop.

One epoch is one pass over the data in mini-batches.  For each batch the loop

1. computes the loss: ``total, parts = model.loss(*batch, rng=rng)`` (this builds the graph),
2. (on the CPU) checks that the loss is a finite number, so that a NaN stops training at once,
3. clears the old gradients, runs ``total.backward()`` (which fills every parameter's ``.grad`` and frees
   the graph), optionally clips the gradients' global norm, and lets the optimizer update the parameters,
4. keeps the loss values for the epoch's averages, on the device, and calls ``on_batch_end``.

After each epoch it reads those values once, evaluates the validation data, records everything in a
:class:`~tinyae.train.History`, steps the learning-rate scheduler and runs the callbacks, any of which may
end training.  BLAS gets only the cores other programs leave free (:mod:`tinyae.threads`).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

from tqdm import tqdm

from tinyae.backend import RandomGenerator
from tinyae.optim import clip_grad_norm_
from tinyae.threads import AdaptiveThreads
from tinyae.train.batches import as_batch, as_loader, batch_size_of, placement
from tinyae.train.callbacks import Callback, run_callbacks
from tinyae.train.evaluate import evaluate
from tinyae.train.history import History
from tinyae.train.meter import LossMeter, check_finite

__all__ = ["fit"]

logger = logging.getLogger(__name__)


def fit(
    model: Any,
    optimizer: Any,
    data: Any,
    epochs: int,
    batch_size: int = 64,
    val_data: Any = None,
    shuffle: bool = True,
    seed: int = 0,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    check_each_step: bool | None = None,
    clip_grad_norm: float | None = None,
    scheduler: Any = None,
    on_batch_end: Callable[[int, dict[str, Any]], Any] | None = None,
) -> History:
    """Train ``model`` with ``optimizer`` for ``epochs`` passes over ``data``; return the History.

    Parameters
    ----------
    model : Module
        With ``loss(*batch, rng=None) -> (total, parts)``; put in training mode here (and left in it).
    optimizer : Optimizer
        Built on ``model.parameters()``.
    data : array, (inputs, labels) or DataLoader
        Training data: an array of inputs (NumPy or the model's backend), a tuple ``(inputs, labels)``, or a
        :class:`~tinyae.data.DataLoader` on the model's backend (its own batch size, order and seed apply).
    epochs : int
        Passes over the data.
    batch_size : int
        Samples per step (for array data; the last batch of an epoch may be smaller).
    val_data : like ``data``, optional
        Evaluated after every epoch (see :func:`~tinyae.train.evaluate`).
    shuffle : bool
        Visit the samples in a new seeded order every epoch.
    seed : int
        Seeds the batch order and the model's noise (corruption, sampling): the same seed and starting
        weights give the same run.
    callbacks : sequence of callables
        Each called as ``callback(epoch, history, model)`` after every epoch; one that returns True or
        raises :class:`~tinyae.train.StopTraining` ends training (see :mod:`tinyae.train.callbacks`).
    progress : bool
        Show a tqdm progress bar; it is shown only when the output is a terminal, so logs stay clean.
    check_each_step : bool, optional
        Check the loss for NaN or infinity at every step, before the update (the default on CPU backends,
        where reading a number costs nothing), or only once per epoch (the default on a GPU, where each read
        would make the host wait for the device).  Either way the error names the step.
    clip_grad_norm : float, optional
        Rescale the gradients after each backward so that their global L2 norm is at most this
        (:func:`tinyae.optim.clip_grad_norm_`).
    scheduler : learning-rate scheduler, optional
        Stepped once after every epoch, as in PyTorch: ``scheduler.step()``, or ``scheduler.step(value)``
        when its ``step`` needs an argument (``ReduceLROnPlateau``), with the validation loss when there
        is one, else the training loss.
    on_batch_end : callable, optional
        Called as ``on_batch_end(step, parts)`` after every update; ``parts`` maps ``"loss"`` and each
        loss part to a scalar Tensor (``.item()`` reads it; on a GPU that read makes the host wait).

    Returns
    -------
    History
        One record per epoch: loss, parts, validation loss and parts, seconds.

    Raises
    ------
    FloatingPointError
        When the loss becomes NaN or infinite: names the step, the epoch, the batch and every loss part.

    Examples
    --------
    >>> import numpy as np, tinyae
    >>> from tinyae import nn, optim
    >>> import tinyae.functional as F
    >>> class Scale(nn.Module):  # learns to reproduce its input: w -> 1
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = nn.Parameter([0.0])
    ...     def loss(self, x, rng=None):
    ...         mse = F.mse_loss(x * self.w, x)
    ...         return mse, {"mse": mse}
    >>> model = Scale()
    >>> x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    >>> history = fit(model, optim.SGD(model.parameters(), lr=0.5), x, epochs=5, batch_size=16)
    >>> len(history), history.loss[-1] < history.loss[0], round(model.w.item(), 3)
    (5, True, 1.0)
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be a positive number, got {clip_grad_norm}")
    step_scheduler = _scheduler_stepper(scheduler)
    backend, dtype = placement(model)
    loader = as_loader(data, batch_size, shuffle=shuffle, seed=seed, backend=backend)
    val_loader = None
    if val_data is not None:
        val_loader = as_loader(val_data, batch_size, shuffle=False, seed=seed, backend=backend)
    if check_each_step is None:
        check_each_step = not backend.is_gpu
    rng = RandomGenerator(backend, seed)  # the model's noise: independent of any global seed
    history = History()
    step = 0
    # disable=None: the bar appears only when stderr is a terminal, never as \r-lines in a log file
    threads = AdaptiveThreads() if not backend.is_gpu else None
    with (
        tqdm(total=epochs * len(loader), unit="batch", disable=None if progress else True) as bar,
        threads or nullcontext(),  # on a GPU, BLAS threads do not matter
    ):
        for epoch in range(1, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            start = time.perf_counter()
            model.train()
            meter = LossMeter(backend, first_step=step + 1, epoch=epoch)
            for batch_number, item in enumerate(loader, start=1):
                step += 1
                batch = as_batch(item, backend, dtype)
                total, parts = model.loss(*batch, rng=rng)
                if check_each_step:
                    check_finite(total, parts, step, epoch, batch_number)
                optimizer.zero_grad()  # gradients add up across backward calls: start from none
                total.backward()  # fills every parameter's .grad, then frees this step's graph
                if clip_grad_norm is not None:
                    clip_grad_norm_(model.parameters(), clip_grad_norm)
                optimizer.step()
                meter.add(total, parts, size=batch_size_of(batch))
                if on_batch_end is not None:
                    on_batch_end(step, {"loss": total, **parts})
                bar.update()
                if threads is not None:
                    threads.check()

            mean_loss, mean_parts = meter.means(check=not check_each_step)  # one read per epoch
            val = None if val_loader is None else evaluate(model, val_loader, seed=seed)
            backend.synchronize()  # a GPU may still be working: wait before reading the clock
            record = _record(epoch, step, mean_loss, mean_parts, val, time.perf_counter() - start)
            record["step_losses"] = meter.step_totals  # read with the means: no extra device reads
            history.append(record)
            bar.set_postfix(_summary(record), refresh=False)
            logger.info("epoch %d/%d: %s", epoch, epochs, _summary(record))

            if step_scheduler is not None:
                step_scheduler(record["loss"] if record["val_loss"] is None else record["val_loss"])
            reason = run_callbacks(callbacks, epoch, history, model)
            if reason is not None:
                history.stop_reason = reason
                logger.info("training stopped: %s", reason)
                break
    return history


def _scheduler_stepper(scheduler: Any) -> Callable[[float], None] | None:
    """``step()`` or ``step(metric)``, whichever the scheduler's ``step`` asks for (PyTorch's protocol)."""
    if scheduler is None:
        return None
    step = getattr(scheduler, "step", None)
    if not callable(step):
        raise TypeError(f"scheduler must have a step() method, got {type(scheduler).__name__}")
    wants_metric = any(
        p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in inspect.signature(step).parameters.values()
    )
    return (lambda metric: step(metric)) if wants_metric else (lambda metric: step())


def _record(
    epoch: int,
    step: int,
    loss: float,
    parts: dict[str, float],
    val: dict[str, float] | None,
    seconds: float,
) -> dict[str, Any]:
    """One History record from the epoch's mean losses (in ``val``, ``"loss"`` is the total)."""
    return {
        "epoch": epoch,
        "step": step,
        "loss": loss,
        "parts": parts,
        "val_loss": None if val is None else val["loss"],
        "val_parts": None if val is None else {k: v for k, v in val.items() if k != "loss"},
        "seconds": seconds,
    }


def _summary(record: dict[str, Any]) -> dict[str, str]:
    summary = {"loss": f"{record['loss']:.4g}"}
    if record["val_loss"] is not None:
        summary["val_loss"] = f"{record['val_loss']:.4g}"
    return summary
