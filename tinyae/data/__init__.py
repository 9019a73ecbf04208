"""Datasets and mini-batches: MNIST and Fashion-MNIST as NumPy arrays, batches as backend arrays.

- :func:`load_mnist`, :func:`load_fashion_mnist`: the official files, found locally or downloaded and
  verified; fixed splits ``"train"`` (55,000), ``"validation"`` (5,000) and ``"test"`` (10,000).
- :func:`load_mnist_sample`: 5,000 real digits shipped inside the package, for offline use.
- :func:`load_dataset`: ``"sample"``, ``"mnist"`` or ``"fashion"`` as train and test arrays (tutorials).
- :class:`DataLoader`: seeded, re-iterable mini-batches on any backend.
- :func:`subset`, :func:`train_val_split`: choose classes, hold out a validation part.
- :func:`read_idx`, :func:`write_idx`: the IDX file format; :class:`DatasetError` for every data problem.

This layer imports only NumPy, the standard library, tqdm and :mod:`tinyae.backend`; batches are
backend arrays, not Tensors.

>>> from tinyae.data import DataLoader, load_mnist_sample, subset
>>> images, labels = load_mnist_sample()
>>> ones, _ = subset(images, labels, 1)
>>> x = next(iter(DataLoader(ones, batch_size=100, seed=0)))
>>> x.shape
(100, 784)
"""

from tinyae.data.datasets import DATASETS, Dataset, load_dataset
from tinyae.data.errors import DatasetError
from tinyae.data.idx import read_idx, write_idx
from tinyae.data.loader import DataLoader
from tinyae.data.mnist import SPLITS, load_fashion_mnist, load_mnist
from tinyae.data.sample import load_mnist_sample
from tinyae.data.subsets import subset, train_val_split

__all__ = [
    "DATASETS",
    "SPLITS",
    "Dataset",
    "DataLoader",
    "DatasetError",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "load_mnist_sample",
    "read_idx",
    "subset",
    "train_val_split",
    "write_idx",
]
