"""One call for the tutorials and the command line: a named dataset as train and test arrays.

``"sample"`` is the 5,000 digits shipped inside the package (works offline, out of the box); ``"mnist"``
and ``"fashion"`` are the full sets, found locally or downloaded (see :func:`load_mnist`).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from tinyae.data.mnist import load_fashion_mnist, load_mnist
from tinyae.data.sample import load_mnist_sample
from tinyae.data.subsets import train_val_split

__all__ = ["DATASETS", "Dataset", "load_dataset"]

DATASETS = ("sample", "mnist", "fashion")


class Dataset(NamedTuple):
    """Flattened float32 images in [0, 1] (n, 784) and int64 labels, split into train and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_dataset(
    name: str = "sample",
    limit: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
) -> Dataset:
    """Train and test arrays of dataset ``name`` (``"sample"``, ``"mnist"`` or ``"fashion"``).

    The sample has no official split, so a seeded 4,000 / 1,000 split of it is used; the full sets use
    their 55,000 training and 10,000 test images.  ``limit`` keeps at most that many training images
    (and a fifth as many test images), for quick runs.  ``data_dir`` is a folder holding the full sets'
    files (searched first; see :mod:`tinyae.data.sources`).

    >>> data = load_dataset("sample", limit=500)
    >>> data.x_train.shape, data.x_test.shape
    ((500, 784), (100, 784))
    """
    if name == "sample":
        images, labels = load_mnist_sample()
        order = np.random.default_rng(seed).permutation(len(labels))  # the file is sorted by digit
        images, labels = images[order], labels[order]
        (x_train, y_train), (x_test, y_test) = train_val_split(images, labels, val_size=0.2, seed=seed)
    elif name in ("mnist", "fashion"):
        loader = load_mnist if name == "mnist" else load_fashion_mnist
        x_train, y_train = loader("train", data_dir=data_dir)
        x_test, y_test = loader("test", data_dir=data_dir)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[: max(limit // 5, 1)], y_test[: max(limit // 5, 1)]
    return Dataset(x_train, y_train, x_test, y_test)
