"""Making tensors: dtypes, copies, backends, and the small API around the data."""

from __future__ import annotations

import numpy as np
import pytest

import tinyae
from tinyae.backend import dtype_name


def test_python_data_becomes_float32(backend: tinyae.Backend) -> None:
    assert dtype_name(tinyae.tensor([[1, 2], [3, 4]]).dtype) == "float32"
    assert dtype_name(tinyae.tensor(2.5).dtype) == "float32"
    assert tinyae.tensor(2.5).shape == ()


def test_numpy_arrays_keep_their_dtype_and_are_copied(backend: tinyae.Backend) -> None:
    source = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = tinyae.tensor(source)
    assert dtype_name(t.dtype) == "float64" and t.shape == (2, 3)
    source[0, 0] = 100.0
    assert t.numpy()[0, 0] == 0.0, "tensor() must copy, as torch.tensor does"
    assert dtype_name(tinyae.tensor(np.array([1, 2])).dtype) == "int64"


def test_explicit_dtype_wins(backend: tinyae.Backend) -> None:
    assert dtype_name(tinyae.tensor(np.ones(3), dtype="float32").dtype) == "float32"
    assert dtype_name(tinyae.tensor([1.0], dtype=np.float64).dtype) == "float64"


def test_python_scalars_keep_the_tensor_dtype(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([1.0, 2.0])
    for y in (x * 2.0, 2.0 - x, x / 3, x**2, 1.0 / (x + 1), -x):
        assert dtype_name(y.dtype) == "float32"


def test_numpy_scalars_do_not_promote_float32(backend: tinyae.Backend) -> None:
    # in NumPy 2 np.float64(2) * float32-array is float64; tinyae treats NumPy scalars like Python numbers
    x = tinyae.tensor([1.0, 2.0])
    assert dtype_name((x * np.float64(2.0)).dtype) == "float32"
    assert dtype_name((np.sqrt(2.0) + x).dtype) == "float32"


def test_ndarray_on_the_left_defers_to_the_tensor(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    assert isinstance(y, tinyae.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad), [3.0, 4.0])


def test_item_numpy_repr_len(backend: tinyae.Backend) -> None:
    t = tinyae.tensor([[1.5, 2.0]], requires_grad=True)
    assert tinyae.tensor([4.0]).item() == 4.0
    assert isinstance(t.numpy(), np.ndarray)
    assert len(t) == 1 and t.ndim == 2 and t.size == 2
    text = repr(t)
    assert "1.5" in text and "float32" in text and "requires_grad=True" in text
    with pytest.raises(ValueError, match=r"one-element tensor, got shape \(1, 2\)"):
        t.item()


def test_to_moves_between_backends() -> None:
    x = tinyae.tensor([[1.0, 2.0]], requires_grad=True)
    moved = x.to("strict")
    assert moved.backend.name == "strict" and moved.requires_grad
    np.testing.assert_array_equal(moved.numpy(), x.numpy())
    assert moved.to("strict") is moved
    back = moved.to("numpy")
    assert back.backend.name == "numpy" and isinstance(back.data, np.ndarray)


def test_strict_arrays_stay_on_strict() -> None:
    strict = tinyae.get_backend("strict")
    t = tinyae.tensor(strict.asarray([1.0, 2.0]))
    assert t.backend is strict


def test_only_floating_tensors_require_grad() -> None:
    with pytest.raises(TypeError, match="only floating tensors can require gradients, not int64"):
        tinyae.tensor(np.array([1, 2]), requires_grad=True)


def test_reshape_sum_mean_transpose(backend: tinyae.Backend) -> None:
    x = tinyae.tensor(np.arange(6.0).reshape(2, 3))
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.T.shape == (3, 2)
    assert x.sum().item() == 15.0 and x.mean(axis=0).shape == (3,)
    assert x.sum(axis=(0, 1), keepdims=True).shape == (1, 1)


def test_to_gives_an_array_of_its_own() -> None:
    s = tinyae.tensor([1.0, 2.0], backend="strict")
    n = s.to("numpy")
    n.data -= 1
    np.testing.assert_array_equal(s.numpy(), [1.0, 2.0])
