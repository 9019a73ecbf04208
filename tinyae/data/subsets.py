"""Choosing samples: keep some classes (``subset``), or hold out a validation part (``train_val_split``).

>>> import numpy as np
>>> x, y = np.arange(12).reshape(6, 2), np.array([1, 9, 1, 3, 9, 1])
>>> ones, labels = subset(x, y, 1)
>>> labels
array([1, 1, 1])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["subset", "train_val_split"]


def subset(
    images: np.ndarray, labels: np.ndarray, classes: int | Iterable[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The samples whose label is in ``classes``, in their original order.

    Parameters
    ----------
    images, labels : numpy.ndarray
        Samples along axis 0, one label each.
    classes : int or iterable of int
        The labels to keep (for anomaly detection: train on ``1``, score ``[1, 9]``).

    Returns
    -------
    images, labels : numpy.ndarray
        Copies holding only the chosen samples.

    Examples
    --------
    >>> import numpy as np
    >>> subset(np.eye(3), np.array([0, 1, 2]), [0, 2])[1]
    array([0, 2])
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"labels must be 1-D with one label per image: images {images.shape}, labels {labels.shape}"
        )
    wanted = np.atleast_1d(np.asarray(list(classes) if not isinstance(classes, int) else classes))
    keep = np.isin(labels, wanted)
    if not keep.any():
        present = np.unique(labels).tolist()
        raise ValueError(f"no samples have a label in {wanted.tolist()}; the labels present are {present}")
    return images[keep], labels[keep]


def train_val_split(
    *arrays: np.ndarray, val_size: float | int = 0.1, seed: int = 0, shuffle: bool = True
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Split arrays of equal length into a training part and a validation part.

    Parameters
    ----------
    *arrays : numpy.ndarray
        Split along axis 0, all in the same way (images and labels, say).
    val_size : float or int
        A fraction in (0, 1) or a number of samples for the validation part.
    seed : int
        Seed of the random choice of validation samples.
    shuffle : bool
        Choose the validation samples at random (True) or take the last ones (False).

    Returns
    -------
    train, val : tuple of numpy.ndarray
        One array per input in each; samples keep their original relative order.

    Examples
    --------
    >>> import numpy as np
    >>> (x_train, y_train), (x_val, y_val) = train_val_split(np.zeros((10, 3)), np.arange(10), val_size=0.2)
    >>> x_train.shape, x_val.shape
    ((8, 3), (2, 3))
    """
    if not arrays:
        raise ValueError("train_val_split needs at least one array")
    hosts = [np.asarray(a) for a in arrays]
    n = len(hosts[0])
    if any(len(a) != n for a in hosts):
        raise ValueError(f"arrays differ in length along axis 0: {[a.shape for a in hosts]}")
    if isinstance(val_size, bool) or not isinstance(val_size, (int, float, np.integer, np.floating)):
        raise TypeError(f"val_size must be a fraction or a count, got {val_size!r}")
    count = round(val_size * n) if isinstance(val_size, (float, np.floating)) else int(val_size)
    if not 0 < count < n:
        raise ValueError(f"val_size={val_size!r} of {n} samples leaves an empty training or validation part")
    if shuffle:
        val_rows = np.sort(np.random.default_rng(seed).choice(n, size=count, replace=False))
    else:
        val_rows = np.arange(n - count, n)
    is_val = np.zeros(n, dtype=bool)
    is_val[val_rows] = True
    return tuple(a[~is_val] for a in hosts), tuple(a[is_val] for a in hosts)
