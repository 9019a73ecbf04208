"""load_dataset: the named datasets the tutorials and the command line use."""

from __future__ import annotations

import numpy as np
import pytest

from tinyae.data import load_dataset


def test_sample_is_split_shuffled_and_balanced() -> None:
    data = load_dataset("sample")
    assert data.x_train.shape == (4000, 784) and data.x_test.shape == (1000, 784)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert np.bincount(data.y_train, minlength=10).min() > 300
    small = load_dataset("sample", limit=500)
    assert small.x_train.shape == (500, 784) and small.x_test.shape == (100, 784)
    assert np.bincount(small.y_train, minlength=10).min() > 20, "the limited set must hold every digit"


def test_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")
