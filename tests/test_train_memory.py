"""Training frees each step's graph: the traced memory after epoch 20 is that after epoch 1, give or take
the History's records and Python's and NumPy's caches of freed small objects (free lists, NumPy's small
block cache), which fill up over the first few hundred steps and then stay: a few hundred kilobytes here.
Batches are large enough that one step's graph holds about 250 KB, so a model that keeps its graphs alive
grows by megabytes and fails the same measurement."""

from __future__ import annotations

import tracemalloc
from typing import Any

from tests.test_train_standins import TinyAE, random_data
from tinyae import optim
from tinyae.tensor import Tensor
from tinyae.train import History, fit

SLACK_BYTES = 1 << 20  # caches of freed objects and 19 History records; leaked graphs cost 15+ MB here


class Leaky(TinyAE):
    """Keeps an output tensor per step, and with it a graph that no backward frees (the bug to catch)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kept: list[Tensor] = []

    def loss(self, *batch: Any, rng: Any = None) -> tuple[Tensor, dict[str, Tensor]]:
        total, parts = super().loss(*batch, rng=rng)
        self.kept.append(self(batch[0]))
        return total, parts


def traced_growth(model: TinyAE) -> int:
    """Traced bytes after epoch 20 minus those after epoch 1."""
    readings: list[int] = []

    def measure(epoch: int, history: History, model: Any) -> None:
        readings.append(tracemalloc.get_traced_memory()[0])

    x = random_data(512, features=128)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    tracemalloc.start()
    try:
        fit(model, opt, x, epochs=20, batch_size=128, callbacks=[measure], progress=False)
    finally:
        tracemalloc.stop()
    return readings[-1] - readings[0]


def test_twenty_epochs_do_not_grow_memory_after_the_first() -> None:
    growth = traced_growth(TinyAE(n_in=128, n_hidden=64))
    assert growth < SLACK_BYTES, f"memory grew by {growth} bytes from epoch 1 to epoch 20"


def test_the_measurement_catches_a_model_that_keeps_its_graphs() -> None:
    assert traced_growth(Leaky(n_in=128, n_hidden=64)) > 10 * SLACK_BYTES
