"""MNIST and Fashion-MNIST as NumPy arrays: find or download the IDX files, check them, split them.

The splits are fixed: ``"train"`` is the first ``60000 - validation`` samples of the official training
file, ``"validation"`` its last ``validation`` samples (5,000 by default, so 55,000 / 5,000), and
``"test"`` the official 10,000-sample test file.  The files are looked for as described in
:mod:`tinyae.data.sources`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinyae.data.errors import file_error
from tinyae.data.idx import idx_shape, read_idx
from tinyae.data.sources import FASHION_MNIST, MNIST, DatasetSpec, locate

__all__ = ["SPLITS", "load_fashion_mnist", "load_idx_dataset", "load_mnist"]

SPLITS = ("train", "validation", "test")


def load_mnist(
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    validation: int = 5000,
    flatten: bool = True,
    normalize: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One split of MNIST (handwritten digits 0-9) as ``(images, labels)`` NumPy arrays.

    Parameters
    ----------
    split : {"train", "validation", "test"}
        55,000 / 5,000 / 10,000 samples with the default ``validation``.
    data_dir : path-like, optional
        A folder holding the IDX files; searched before the other places.
    download : bool
        Download missing files into the user cache (checked against known checksums).
    validation : int
        How many of the 60,000 training samples (the last ones) form the validation split.
    flatten : bool
        Images of shape ``(n, 784)`` when True, ``(n, 28, 28)`` when False.
    normalize : bool
        ``float32`` pixels in [0, 1] when True, the original ``uint8`` 0-255 when False.

    Returns
    -------
    images : numpy.ndarray
        ``(n, 784)`` or ``(n, 28, 28)``, ``float32`` or ``uint8``.
    labels : numpy.ndarray
        ``(n,)`` ``int64`` digits 0-9.

    Raises
    ------
    DatasetError
        When the files are nowhere to be found (the message lists every place tried and how to supply
        them), or are corrupted, truncated or of the wrong size.

    Examples
    --------
    >>> images, labels = load_mnist("test", download=False)  # doctest: +SKIP
    >>> images.shape, images.dtype, labels[:5]  # doctest: +SKIP
    ((10000, 784), dtype('float32'), array([7, 2, 1, 0, 4]))
    """
    return load_idx_dataset(MNIST, split, data_dir, download, validation, flatten, normalize)


def load_fashion_mnist(
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    validation: int = 5000,
    flatten: bool = True,
    normalize: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One split of Fashion-MNIST (Zalando's 28x28 clothing images, classes 0-9) as ``(images, labels)``.

    The same as :func:`load_mnist` in every argument and in the returned arrays.  The class numbers mean:
    0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker, 8 bag,
    9 ankle boot.  Debian's ``dataset-fashion-mnist`` package is found without any setting.

    Examples
    --------
    >>> images, labels = load_fashion_mnist("validation", flatten=False)  # doctest: +SKIP
    >>> images.shape  # doctest: +SKIP
    (5000, 28, 28)
    """
    return load_idx_dataset(FASHION_MNIST, split, data_dir, download, validation, flatten, normalize)


def load_idx_dataset(
    spec: DatasetSpec,
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    validation: int = 5000,
    flatten: bool = True,
    normalize: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Any dataset in the MNIST file layout, described by a :class:`~tinyae.data.sources.DatasetSpec`.

    >>> from tinyae.data.sources import MNIST
    >>> images, labels = load_idx_dataset(MNIST, "test", download=False)  # doctest: +SKIP
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    valid = isinstance(validation, (int, np.integer)) and not isinstance(validation, bool)
    if split != "test" and not (valid and 0 <= validation < spec.train_count):
        raise ValueError(
            f"validation must be an integer from 0 to {spec.train_count - 1} (samples taken from the end "
            f"of the {spec.train_count:,} training samples), got {validation!r}"
        )
    if split == "validation" and validation == 0:
        raise ValueError("split 'validation' is empty with validation=0; pass validation > 0")

    part = "test" if split == "test" else "train"
    images_path, labels_path = locate(spec, part, data_dir, download)
    # the headers' sizes are checked before any data is read or decompressed
    _check_shapes(spec, part, images_path, idx_shape(images_path, 3), labels_path, idx_shape(labels_path, 1))
    count = spec.count(part)
    images = read_idx(images_path, what="pixel data", shape=(count, *spec.image_shape))
    labels = read_idx(labels_path, what="label data", shape=(count,))
    _check_labels(spec, labels_path, labels)

    if split != "test":
        cut = spec.train_count - validation
        rows = slice(0, cut) if split == "train" else slice(cut, None)
        images, labels = images[rows], labels[rows]
    if flatten:
        images = images.reshape(len(images), -1)
    if normalize:
        images = images.astype(np.float32)
        images /= 255  # uint8 values are exact in float32, so each pixel is rounded once
    elif split != "test":
        images = images.copy()  # a slice would keep the whole training file alive
    return images, labels.astype(np.int64)


def _check_shapes(
    spec: DatasetSpec,
    part: str,
    images_path: Path,
    images: tuple[int, ...],
    labels_path: Path,
    labels: tuple[int, ...],
) -> None:
    """The file pair (their header shapes) belongs together and has the sizes ``spec`` promises."""
    if labels[0] != images[0]:
        raise file_error(
            labels_path,
            f"header field 'count' is {labels[0]}, but {images_path.name} holds {images[0]} images; "
            "the images and labels files do not belong together",
        )
    expected = spec.count(part)
    if images[0] != expected:
        raise file_error(
            images_path,
            f"header field 'count' is {images[0]}, expected {expected} for the {spec.title} {part} set",
        )
    for field, size, wanted in zip(("rows", "columns"), images[1:], spec.image_shape, strict=True):
        if size != wanted:
            raise file_error(
                images_path, f"header field '{field}' is {size}, expected {wanted} for {spec.title} images"
            )


def _check_labels(spec: DatasetSpec, labels_path: Path, labels: np.ndarray) -> None:
    """Every label is a class of ``spec``."""
    bad = np.flatnonzero(labels >= spec.num_classes)
    if bad.size:
        raise file_error(
            labels_path,
            f"label data holds the value {labels[bad[0]]} at index {bad[0]}; "
            f"{spec.title} labels are 0 to {spec.num_classes - 1}",
        )
