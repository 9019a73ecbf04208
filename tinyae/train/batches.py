"""From what a user passes as data to the tensors a model's ``loss`` takes.

``data`` may be an array of inputs (NumPy or any backend's), a tuple ``(inputs, labels)`` (or
``(inputs,)``), or a :class:`~tinyae.data.DataLoader`.  Arrays become a loader whose batches land on the
model's backend; each batch becomes a tuple of tensors, floating ones in the model's dtype, so that
float64 data can train a float32 model (pass float32 data to skip that per-batch cast).
"""

from __future__ import annotations

from typing import Any

from tinyae.backend import Backend
from tinyae.data import DataLoader
from tinyae.tensor import Tensor

__all__ = ["as_batch", "as_loader", "placement"]


def placement(model: Any) -> tuple[Backend, Any]:
    """The backend and dtype of the model's parameters (read from the first one).

    >>> from tinyae import nn
    >>> backend, dtype = placement(nn.Linear(2, 3))
    >>> backend.name, str(dtype)
    ('numpy', 'float32')
    """
    for p in model.parameters():
        return p.backend, p.dtype
    raise ValueError(f"{type(model).__name__} has no parameters to train or evaluate")


def as_loader(data: Any, batch_size: int, *, shuffle: bool, seed: int, backend: Backend) -> DataLoader:
    """``data`` as a loader of batches on ``backend`` (a given DataLoader is used as it is)."""
    if isinstance(data, DataLoader):
        if data.backend is not backend:
            raise ValueError(
                f"the DataLoader yields batches on backend {data.backend.name!r} but the model's parameters "
                f"are on {backend.name!r}; build the loader with backend={backend.name!r}"
            )
        return data
    labels = None
    if isinstance(data, tuple):
        if len(data) not in (1, 2):
            raise ValueError(
                f"data must be inputs, (inputs,) or (inputs, labels), got a tuple of {len(data)}"
            )
        data, labels = data if len(data) == 2 else (data[0], None)
    return DataLoader(data, labels, batch_size=batch_size, shuffle=shuffle, seed=seed, backend=backend)


def as_batch(item: Any, backend: Backend, dtype: Any) -> tuple[Tensor, ...]:
    """A loader's batch (an array, or a tuple ``(inputs, labels)``) as a tuple of tensors, no copies made
    except where a floating array is cast to ``dtype``."""
    arrays = item if isinstance(item, tuple) else (item,)
    xp = backend.xp
    batch = []
    for array in arrays:
        if xp.isdtype(array.dtype, "real floating") and array.dtype != dtype:
            array = xp.astype(array, dtype)
        batch.append(Tensor(array, backend=backend))  # wraps the backend array, no copy
    return tuple(batch)


def batch_size_of(batch: tuple[Tensor, ...]) -> int:
    """How many samples a batch holds (the length of its first tensor)."""
    return batch[0].shape[0]
