"""Mini-batches as backend arrays: a re-iterable, seeded, PyTorch-style ``DataLoader``.

Each pass over a loader is one epoch.  Epoch ``e`` visits the samples in the order of a permutation drawn
from ``numpy.random.default_rng([seed, e])``: every epoch differs, and the same seed gives the same
epochs, also after :meth:`DataLoader.set_epoch` when a run is resumed.

The data moves to the backend either once (``device_resident``: the whole set is copied on the first
pass and kept there, then each batch is a slice or an ``xp.take`` gather on the device; on the numpy
backend this copies nothing) or one batch at a time (gathered on the host, then copied).  Gathers use
``xp.take(array, indices, axis=0)``, which every Array-API backend has; none uses list indices.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tinyae.backend import Backend, backend_of, get_backend, host_rng

__all__ = ["DEVICE_BUDGET_BYTES", "DataLoader"]

DEVICE_BUDGET_BYTES = 1 << 30  # "auto" keeps a data set on a GPU when it takes at most this much


class DataLoader:
    """Iterate over ``images`` (and ``labels``) in mini-batches of backend arrays.

    Parameters
    ----------
    images : array
        Samples along the first axis (a NumPy array, or any backend's array).
    labels : array, optional
        One label per sample; when given, each batch is a tuple ``(images, labels)``.
    batch_size : int
        Samples per batch; the last batch is smaller unless ``drop_last``.
    shuffle : bool
        A new seeded order every epoch; False keeps the original order.
    seed : int, optional
        Seed of the epoch orders; None draws one from :func:`tinyae.manual_seed`'s host generator.
    drop_last : bool
        Leave out the last, incomplete batch.
    backend : str or Backend, optional
        Where batches go; the default backend when None.
    device_resident : {"auto", True, False}
        Copy the whole set to the backend once and slice batches there (True), or copy batch by batch
        (False).  "auto" is True on CPU backends and on a GPU when the set fits in
        :data:`DEVICE_BUDGET_BYTES`.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5)
    >>> loader = DataLoader(x, y, batch_size=2, shuffle=False)
    >>> len(loader)
    3
    >>> [batch_y.tolist() for _, batch_y in loader]
    [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self,
        images: Any,
        labels: Any = None,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int | None = 0,
        drop_last: bool = False,
        backend: str | Backend | None = None,
        device_resident: bool | str = "auto",
    ) -> None:
        self.images = _to_host(images, "images")
        self.labels = None if labels is None else _to_host(labels, "labels")
        if self.images.ndim == 0 or len(self.images) == 0:
            raise ValueError(
                f"images must hold at least one sample along axis 0, got shape {self.images.shape}"
            )
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(
                f"images and labels differ in length: images has shape {self.images.shape}, "
                f"labels {self.labels.shape}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if device_resident not in ("auto", True, False):
            raise ValueError(f"device_resident must be 'auto', True or False, got {device_resident!r}")
        if seed is None:
            seed = int(host_rng().integers(2**63))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.backend = get_backend(backend)
        self.device_resident = self._resident(device_resident)
        self.epoch = 0  # the epoch the next pass will be
        self._on_device: tuple[Any, Any] | None = None  # the whole set on the backend, once copied

    @property
    def num_samples(self) -> int:
        """How many samples the loader holds."""
        return len(self.images)

    def __len__(self) -> int:
        """Batches per epoch."""
        full, rest = divmod(self.num_samples, self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass epoch ``epoch`` (to resume a run with the same batch orders)."""
        self.epoch = int(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """The sample indices (host ``int64``) in the order epoch ``epoch`` visits them."""
        if not self.shuffle:
            return np.arange(self.num_samples, dtype=np.int64)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_samples).astype(np.int64)

    def __iter__(self) -> Iterator[Any]:
        order = self.order(self.epoch)
        self.epoch += 1
        if self.device_resident:
            return self._resident_batches(order)
        return self._copied_batches(order)

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.num_samples} samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"backend={self.backend.name!r}, device_resident={self.device_resident})"
        )

    # --- the two ways of producing batches ------------------------------------------------------------------

    def _resident_batches(self, order: np.ndarray) -> Iterator[Any]:
        images, labels = self._device_arrays()
        xp = self.backend.xp
        indices = self.backend.asarray(order) if self.shuffle else None  # one copy per epoch
        for start, stop in self._bounds():
            if indices is None:  # unshuffled: plain slices (views on numpy)
                x = images[start:stop, ...]
                y = None if labels is None else labels[start:stop, ...]
            else:
                rows = indices[start:stop, ...]
                x = xp.take(images, rows, axis=0)
                y = None if labels is None else xp.take(labels, rows, axis=0)
            yield x if y is None else (x, y)

    def _copied_batches(self, order: np.ndarray) -> Iterator[Any]:
        for start, stop in self._bounds():
            rows = order[start:stop]
            x = self.backend.asarray(np.take(self.images, rows, axis=0))
            if self.labels is None:
                yield x
            else:
                yield x, self.backend.asarray(np.take(self.labels, rows, axis=0))

    def _bounds(self) -> Iterator[tuple[int, int]]:
        n = self.num_samples
        stop_at = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop_at, self.batch_size):
            yield start, min(start + self.batch_size, n)

    def _device_arrays(self) -> tuple[Any, Any]:
        if self._on_device is None:
            images = self.backend.asarray(self.images)
            labels = None if self.labels is None else self.backend.asarray(self.labels)
            self._on_device = (images, labels)
        return self._on_device

    def _resident(self, choice: bool | str) -> bool:
        if choice != "auto":
            return bool(choice)
        if not self.backend.is_gpu:
            return True  # host memory already holds the set; numpy even shares it without a copy
        nbytes = self.images.nbytes + (0 if self.labels is None else self.labels.nbytes)
        return nbytes <= DEVICE_BUDGET_BYTES


def _to_host(data: Any, name: str) -> np.ndarray:
    """A NumPy view or copy of ``data`` (NumPy array, another backend's array, or nested lists)."""
    if isinstance(data, np.ndarray):
        return data
    try:
        return backend_of(data).to_numpy(data)
    except TypeError:
        array = np.asarray(data)
    if array.dtype == object:
        raise TypeError(f"{name} must be a numeric array, got {type(data).__name__}")
    return array
