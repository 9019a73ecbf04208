"""DataLoader on the numpy and strict backends, and the subset / train_val_split helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyae.data.loader as loader_module
from tinyae.backend import Backend, available_backends, get_backend, manual_seed
from tinyae.data import DataLoader, subset, train_val_split


@pytest.fixture(params=["numpy", "strict", pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Where the batches go: numpy, strict, and cupy (skipped with its reason without a GPU)."""
    reason = available_backends()[request.param]
    if reason is not None:
        pytest.skip(reason)
    return get_backend(request.param)


def data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Images whose first column is the sample index, and labels equal to the index."""
    images = np.repeat(np.arange(n, dtype=np.float32)[:, None], 3, axis=1)
    return images, np.arange(n, dtype=np.int64)


def collect(loader: DataLoader) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch, as host arrays."""
    b = loader.backend
    return [(b.to_numpy(x), b.to_numpy(y)) for x, y in loader]


def test_batches_are_backend_arrays_of_the_right_shapes(backend: Backend) -> None:
    loader = DataLoader(*data(10), batch_size=4, backend=backend)
    assert len(loader) == 3
    batches = list(loader)
    assert all(backend.owns(x) and backend.owns(y) for x, y in batches)
    assert [tuple(x.shape) for x, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert batches[0][0].dtype == backend.dtype("float32") and batches[0][1].dtype == backend.dtype("int64")


def test_every_sample_once_per_epoch_and_images_match_labels(backend: Backend) -> None:
    loader = DataLoader(*data(10), batch_size=3, seed=1, backend=backend)
    for _ in range(3):
        batches = collect(loader)
        labels = np.concatenate([y for _, y in batches])
        assert sorted(labels.tolist()) == list(range(10))
        for x, y in batches:
            np.testing.assert_array_equal(x[:, 0], y.astype(np.float32))


def test_epochs_differ_and_repeat_with_the_seed(backend: Backend) -> None:
    def orders(seed: int) -> list[list[int]]:
        loader = DataLoader(*data(20), batch_size=20, seed=seed, backend=backend)
        return [collect(loader)[0][1].tolist() for _ in range(3)]

    first = orders(seed=5)
    assert first[0] != first[1] != first[2]
    assert orders(seed=5) == first
    assert orders(seed=6) != first


def test_set_epoch_resumes_the_same_order(backend: Backend) -> None:
    loader = DataLoader(*data(20), batch_size=7, seed=3, backend=backend)
    epochs = [collect(loader) for _ in range(3)]
    resumed = DataLoader(*data(20), batch_size=7, seed=3, backend=backend)
    resumed.set_epoch(2)
    for (x, y), (rx, ry) in zip(epochs[2], collect(resumed), strict=True):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)


def test_no_shuffle_keeps_the_order(backend: Backend) -> None:
    loader = DataLoader(*data(5), batch_size=2, shuffle=False, backend=backend)
    assert [y.tolist() for _, y in collect(loader)] == [[0, 1], [2, 3], [4]]


def test_drop_last(backend: Backend) -> None:
    loader = DataLoader(*data(10), batch_size=4, drop_last=True, backend=backend)
    assert len(loader) == 2
    assert [len(y) for _, y in collect(loader)] == [4, 4]


def test_images_only(backend: Backend) -> None:
    images, _ = data(5)
    batches = list(DataLoader(images, batch_size=2, shuffle=False, backend=backend))
    assert backend.owns(batches[0])
    np.testing.assert_array_equal(backend.to_numpy(batches[2]), images[4:])


@pytest.mark.parametrize("shuffle", [True, False])
def test_resident_and_per_batch_copies_give_the_same_batches(backend: Backend, shuffle: bool) -> None:
    def run(resident: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        loader = DataLoader(
            *data(11), batch_size=4, shuffle=shuffle, backend=backend, device_resident=resident
        )
        assert loader.device_resident is resident
        return collect(loader) + collect(loader)

    for (x, y), (rx, ry) in zip(run(True), run(False), strict=True):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)


def test_numpy_resident_batches_share_memory_when_unshuffled() -> None:
    images, labels = data(8)
    loader = DataLoader(images, labels, batch_size=4, shuffle=False, backend="numpy")
    x, y = next(iter(loader))
    assert np.shares_memory(x, images) and np.shares_memory(y, labels)


def test_strict_backend_copies_the_set_once(monkeypatch: pytest.MonkeyPatch) -> None:
    strict = get_backend("strict")
    loader = DataLoader(*data(12), batch_size=4, backend=strict)
    calls: list[tuple[int, ...]] = []
    original = Backend.asarray

    def counting(self: Backend, array: np.ndarray, dtype: object = None) -> object:
        calls.append(np.shape(array))
        return original(self, array, dtype)

    monkeypatch.setattr(Backend, "asarray", counting)
    for _ in range(2):
        list(loader)
    # the images and labels once, then only one index array per shuffled epoch
    assert calls == [(12, 3), (12,), (12,), (12,)]


def test_auto_residency_on_a_gpu_follows_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeGpu:
        name, is_gpu = "fake", True

    monkeypatch.setattr(loader_module, "get_backend", lambda _: FakeGpu())
    images, labels = data(10)
    assert DataLoader(images, labels).device_resident
    monkeypatch.setattr(loader_module, "DEVICE_BUDGET_BYTES", images.nbytes)
    assert not DataLoader(images, labels).device_resident
    assert DataLoader(images, labels, device_resident=True).device_resident


def test_seed_none_follows_manual_seed() -> None:
    manual_seed(7)
    first = DataLoader(*data(5)).seed
    manual_seed(7)
    assert DataLoader(*data(5)).seed == first


def test_accepts_backend_arrays_as_input() -> None:
    strict = get_backend("strict")
    images, labels = data(6)
    loader = DataLoader(strict.asarray(images), strict.asarray(labels), batch_size=6, shuffle=False)
    x, _ = next(iter(loader))
    np.testing.assert_array_equal(loader.backend.to_numpy(x), images)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"labels": np.zeros(9)},
            r"images and labels differ in length: images has shape \(10, 3\), labels \(9,\)",
        ),
        ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"device_resident": "yes"}, "device_resident must be 'auto', True or False"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    images, labels = data(10)
    arguments: dict[str, object] = {"labels": labels, **kwargs}
    with pytest.raises(ValueError, match=message):
        DataLoader(images, **arguments)  # type: ignore[arg-type]


def test_empty_images_are_refused() -> None:
    with pytest.raises(ValueError, match=r"at least one sample along axis 0, got shape \(0, 3\)"):
        DataLoader(np.zeros((0, 3)))


@settings(deadline=None)  # example count from the HYPOTHESIS_PROFILE in conftest.py
@given(
    n=st.integers(1, 40), batch_size=st.integers(1, 12), drop_last=st.booleans(), seed=st.integers(0, 2**32)
)
def test_batch_sizes_and_coverage(n: int, batch_size: int, drop_last: bool, seed: int) -> None:
    loader = DataLoader(*data(n), batch_size=batch_size, drop_last=drop_last, seed=seed)
    sizes = [len(y) for _, y in loader]
    assert len(sizes) == len(loader)
    assert all(size == batch_size for size in sizes[:-1]) and (not sizes or 0 < sizes[-1] <= batch_size)
    assert sum(sizes) == (n - n % batch_size if drop_last else n)


# --- subset and train_val_split -----------------------------------------------------------------------------


def test_subset_keeps_the_chosen_classes_in_order() -> None:
    images, labels = np.arange(12).reshape(6, 2), np.array([1, 9, 1, 3, 9, 1])
    ones, one_labels = subset(images, labels, 1)
    np.testing.assert_array_equal(ones, images[[0, 2, 5]])
    assert one_labels.tolist() == [1, 1, 1]
    assert subset(images, labels, [9, 3])[1].tolist() == [9, 3, 9]


def test_subset_errors() -> None:
    with pytest.raises(
        ValueError, match=r"no samples have a label in \[7\]; the labels present are \[1, 9\]"
    ):
        subset(np.zeros((2, 2)), np.array([1, 9]), 7)
    with pytest.raises(ValueError, match="one label per image"):
        subset(np.zeros((3, 2)), np.array([1, 9]), 1)


def test_train_val_split() -> None:
    images, labels = data(10)
    (x_train, y_train), (x_val, y_val) = train_val_split(images, labels, val_size=0.3, seed=0)
    assert len(x_train) == 7 and len(x_val) == 3
    assert sorted(y_train.tolist() + y_val.tolist()) == list(range(10))
    assert y_val.tolist() == sorted(y_val.tolist())  # original relative order
    np.testing.assert_array_equal(x_val[:, 0], y_val)
    again = train_val_split(images, labels, val_size=0.3, seed=0)
    np.testing.assert_array_equal(again[1][1], y_val)
    (tail,) = train_val_split(labels, val_size=2, shuffle=False)[1]
    assert tail.tolist() == [8, 9]


@pytest.mark.parametrize("val_size", [0, 10, 0.0, 1.0, -0.5])
def test_train_val_split_refuses_empty_parts(val_size: float) -> None:
    with pytest.raises(ValueError, match="leaves an empty training or validation part"):
        train_val_split(np.zeros(10), val_size=val_size)


def test_train_val_split_refuses_unequal_lengths() -> None:
    with pytest.raises(ValueError, match=r"differ in length along axis 0: \[\(3,\), \(4,\)\]"):
        train_val_split(np.zeros(3), np.zeros(4))
