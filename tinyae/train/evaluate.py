"""``evaluate``: the mean loss and loss parts of a model over a data set, in evaluation mode."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from tinyae.autograd import no_grad
from tinyae.backend import RandomGenerator
from tinyae.train.batches import as_batch, as_loader, batch_size_of, placement
from tinyae.train.meter import LossMeter

__all__ = ["evaluate", "evaluation_mode"]


def evaluate(model: Any, data: Any, batch_size: int = 256, seed: int = 0) -> dict[str, float]:
    """The model's loss over ``data``: ``{"loss": mean total, part: mean part, ...}``.

    (A model whose only part is itself called ``"loss"`` gets just that key: the part is the total.)

    Runs in evaluation mode (batch norm on its running averages, no input corruption) and without a
    graph; afterwards every submodule is back in the mode it was in.  Means are over samples (each batch
    weighted by its size), so they do not depend on ``batch_size`` for mean-reduced losses.

    Parameters
    ----------
    model : Module
        With ``loss(*batch, rng=None) -> (total, parts)``.
    data : array, (inputs, labels) or DataLoader
        As for :func:`~tinyae.train.fit`.
    batch_size : int
        Samples per forward pass (memory, not the result, depends on it).
    seed : int
        Seed of the noise a model may draw even when evaluating (a VAE's sample).

    Examples
    --------
    >>> import numpy as np, tinyae
    >>> from tinyae import nn
    >>> class Mean(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = nn.Parameter([1.0])
    ...     def loss(self, x, rng=None):
    ...         part = (x * self.w).mean()
    ...         return part, {"scaled": part}
    >>> evaluate(Mean(), np.ones((10, 2), dtype=np.float32), batch_size=4)
    {'loss': 1.0, 'scaled': 1.0}
    """
    backend, dtype = placement(model)
    loader = as_loader(data, batch_size, shuffle=False, seed=seed, backend=backend)
    rng = RandomGenerator(backend, seed)
    meter = LossMeter(backend)
    with evaluation_mode(model), no_grad():
        for item in loader:
            batch = as_batch(item, backend, dtype)
            total, parts = model.loss(*batch, rng=rng)
            meter.add(total, parts, size=batch_size_of(batch))
    loss, parts = meter.means()
    return {"loss": loss, **parts}


@contextlib.contextmanager
def evaluation_mode(model: Any) -> Iterator[None]:
    """Evaluation mode inside the block; each submodule's own previous mode is restored on exit."""
    previous = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in previous:
            module.training = training
