"""Choosing backends, moving data, and seeded noise."""

from __future__ import annotations

import numpy as np

import tinyae
from tinyae.backend import RandomGenerator, backend_of


def test_numpy_is_the_default_and_use_backend_restores_it() -> None:
    assert tinyae.get_backend().name == "numpy"
    with tinyae.use_backend("strict") as strict:
        assert strict.name == "strict"
        assert tinyae.tensor([1.0]).backend is strict
    assert tinyae.get_backend().name == "numpy"


def test_set_backend_changes_the_default() -> None:
    try:
        tinyae.set_backend("strict")
        assert tinyae.tensor([1.0]).backend.name == "strict"
    finally:
        tinyae.set_backend("numpy")


def test_available_backends_names_every_backend_with_a_reason_when_unusable() -> None:
    status = tinyae.available_backends()
    assert set(status) == {"numpy", "cupy", "strict"}
    assert status["numpy"] is None and status["strict"] is None
    if status["cupy"] is not None:
        assert "cupy" in status["cupy"].lower()


def test_backend_of_recognises_arrays() -> None:
    assert backend_of(np.zeros(2)).name == "numpy"
    strict = tinyae.get_backend("strict")
    assert backend_of(strict.asarray([1.0])) is strict


def test_to_numpy_and_asarray_round_trip() -> None:
    strict = tinyae.get_backend("strict")
    host = np.arange(4.0, dtype=np.float32)
    np.testing.assert_array_equal(strict.to_numpy(strict.asarray(host)), host)
    assert strict.dtype("float64") == strict.xp.float64
    strict.synchronize()


def test_manual_seed_repeats_noise_and_host_draws() -> None:
    tinyae.manual_seed(123)
    first = tinyae.get_backend().random.normal((3,), "float32"), tinyae.backend.host_rng().random(3)
    tinyae.manual_seed(123)
    second = tinyae.get_backend().random.normal((3,), "float32"), tinyae.backend.host_rng().random(3)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_noise_has_the_backend_and_dtype_asked_for(backend: tinyae.Backend) -> None:
    rng = RandomGenerator(backend, 0)
    sample = rng.uniform((1000,), "float32")
    assert backend.owns(sample) and str(sample.dtype).endswith("float32")
    host = backend.to_numpy(sample)
    assert host.min() >= 0.0 and host.max() < 1.0 and abs(host.mean() - 0.5) < 0.05
    normal = backend.to_numpy(rng.normal((2000,), "float64"))
    assert abs(normal.mean()) < 0.1 and abs(normal.std() - 1.0) < 0.1


def test_into_writes_the_result_into_the_buffer_on_every_backend(backend: tinyae.Backend) -> None:
    xp = backend.xp
    a = backend.asarray([1.0, 4.0, 9.0], dtype="float32")
    out = xp.zeros_like(a)
    result = backend.into(out, "sqrt", a)
    assert result is out
    np.testing.assert_allclose(backend.to_numpy(out), [1.0, 2.0, 3.0])
    backend.into(out, "divide", a, out)  # out may also be an input
    np.testing.assert_allclose(backend.to_numpy(out), [1.0, 2.0, 3.0])
    assert backend.to_numpy(a).tolist() == [1.0, 4.0, 9.0]


def test_into_allocates_no_temporary_on_numpy() -> None:
    numpy_backend = tinyae.get_backend("numpy")
    a = np.arange(1.0, 5.0, dtype=np.float32)
    out = np.empty_like(a)
    address = out.__array_interface__["data"][0]
    numpy_backend.into(out, "multiply", a, a)
    assert out.__array_interface__["data"][0] == address
    assert numpy_backend.writes_in_place and not tinyae.get_backend("strict").writes_in_place
    np.testing.assert_array_equal(out, a * a)
