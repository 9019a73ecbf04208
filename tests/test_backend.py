"""Choosing backends, moving data, and seeded noise."""

from __future__ import annotations

import contextlib
import doctest
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import tinyae
from tinyae import backend as backend_module
from tinyae import cli
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


# --- the CuPy probe without a GPU: a stand-in "cupy" built on NumPy fails at each stage in turn ------------

DUPLICATE_WARNING = (  # as CuPy 14.2 words it
    "\n" + "-" * 80 + "\n"
    "CuPy may not function correctly because multiple CuPy packages are installed in your environment:\n\n"
    "  cupy-cuda12x, cupy-cuda13x\n\n"
    "Follow these steps to resolve this issue:\n\n"
    "  1. For all packages listed above, run the following command to remove all CuPy installations:\n"
    "       $ pip uninstall <package_name>\n" + "-" * 80 + "\n"
)


class FakeStream:
    def __init__(self) -> None:
        self.waits = 0

    def synchronize(self) -> None:
        self.waits += 1


def fake_cupy(fail_at: str | None = None) -> SimpleNamespace:
    """A NumPy-backed module with the CuPy calls the probe makes; the call named ``fail_at`` raises."""

    def stage(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if name == fail_at:
                raise RuntimeError(f"simulated {name} failure")
            return function(*args, **kwargs)

        return call

    streams = [FakeStream()]
    runtime = SimpleNamespace(
        getDeviceCount=stage("driver", lambda: 1),
        runtimeGetVersion=lambda: 13000,
        driverGetVersion=lambda: 13020,
        getDeviceProperties=lambda index: {"name": b"Fake GPU"},
    )
    cuda = SimpleNamespace(
        runtime=runtime,
        Device=lambda *index: SimpleNamespace(id=0, mem_info=(100 * 2**30, 141 * 2**30)),
        get_current_stream=lambda: streams[-1],
    )
    return SimpleNamespace(
        __name__="numpy",  # its arrays are NumPy's, so Backend.owns must see numpy
        __version__="14.2.0",
        cuda=cuda,
        random=SimpleNamespace(default_rng=stage("generator", np.random.default_rng)),
        matmul=stage("cublas", np.matmul),
        sum=stage("kernel", np.sum),
        asnumpy=np.asarray,
        streams=streams,
    )


@pytest.fixture
def fresh_probe(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Forget the cached probe and cupy backend for one test (both are restored afterwards)."""
    monkeypatch.setattr(backend_module, "_CUPY_PROBE", [])
    others = {name: b for name, b in backend_module._instances.items() if name != "cupy"}
    monkeypatch.setattr(backend_module, "_instances", others)
    monkeypatch.setattr(backend_module, "_import_compat", lambda: np)  # the stand-in is its own namespace
    return monkeypatch


def test_a_warning_at_import_cupy_leaves_numpy_and_strict_usable(fresh_probe: pytest.MonkeyPatch) -> None:
    # two CuPy wheels side by side make `import cupy` warn; pytest turns warnings into errors here
    def warning_import() -> Any:
        warnings.warn(DUPLICATE_WARNING, UserWarning, stacklevel=2)
        return fake_cupy()

    fresh_probe.setattr(backend_module, "_import_cupy", warning_import)
    status = tinyae.available_backends()
    assert status["numpy"] is None and status["strict"] is None
    assert status["cupy"] is not None and "multiple CuPy packages" in status["cupy"]
    assert "`import cupy` warned (UserWarning: CuPy may not" in status["cupy"]
    assert "cupy-cuda12x, cupy-cuda13x)" in status["cupy"] and len(status["cupy"]) < 250
    with pytest.raises(tinyae.BackendError, match="multiple CuPy packages"):
        tinyae.get_backend("cupy")
    with tinyae.use_backend("strict"):
        assert tinyae.tensor([1.0, 2.0]).sum().item() == 3.0
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        cli.main(["info"])
    cupy_lines = [line for line in printed.getvalue().splitlines() if line.strip().startswith("cupy")]
    assert len(cupy_lines) == 1 and "unavailable: `import cupy` warned" in cupy_lines[0]


def test_deprecation_warnings_at_import_do_not_disable_cupy(fresh_probe: pytest.MonkeyPatch) -> None:
    def noisy_import() -> Any:
        warnings.warn("some API is deprecated", DeprecationWarning, stacklevel=2)
        return fake_cupy()

    fresh_probe.setattr(backend_module, "_import_cupy", noisy_import)
    assert tinyae.available_backends()["cupy"] is None


@pytest.mark.parametrize(
    ("fail_at", "named"),
    [
        ("driver", "finds no usable CUDA driver (simulated"),
        ("generator", "the random generator failed"),
        ("cublas", "a cuBLAS product failed"),
        ("kernel", "an elementwise kernel failed"),
    ],
)
def test_every_probe_stage_fails_inside_one_boundary(
    fresh_probe: pytest.MonkeyPatch, fail_at: str, named: str
) -> None:
    fresh_probe.setattr(backend_module, "_import_cupy", lambda: fake_cupy(fail_at))
    reason = tinyae.available_backends()["cupy"]
    assert reason is not None and named in reason and f"simulated {fail_at} failure" in reason
    assert "\n" not in reason
    assert backend_module.gpu_environment() == {"available": False, "reason": reason.split(": ", 1)[1]}


def test_a_missing_package_is_named_with_the_install_command(fresh_probe: pytest.MonkeyPatch) -> None:
    def missing() -> Any:
        raise ModuleNotFoundError("No module named 'array_api_compat'", name="array_api_compat")

    fresh_probe.setattr(backend_module, "_import_cupy", fake_cupy)
    fresh_probe.setattr(backend_module, "_import_compat", missing)
    reason = tinyae.available_backends()["cupy"]
    assert reason is not None and "array_api_compat is not installed" in reason
    assert "pip install -e '.[gpu13]'" in reason


def test_synchronize_waits_on_the_stream_current_at_each_call(fresh_probe: pytest.MonkeyPatch) -> None:
    fake = fake_cupy()
    fresh_probe.setattr(backend_module, "_import_cupy", lambda: fake)
    gpu = tinyae.get_backend("cupy")
    assert gpu.is_gpu and gpu.writes_in_place
    gpu.synchronize()
    fake.streams.append(FakeStream())  # the user switches stream (or device) after the backend exists
    gpu.synchronize()
    assert [s.waits for s in fake.streams] == [1, 1]


def test_gpu_environment_reports_versions_device_and_memory(fresh_probe: pytest.MonkeyPatch) -> None:
    fresh_probe.setattr(backend_module, "_import_cupy", lambda: fake_cupy())
    env = backend_module.gpu_environment()
    assert env["available"] is True and env["device"] == "Fake GPU" and env["memory_gib"] == 141.0
    assert (env["cupy"], env["cuda_runtime"], env["cuda_driver"]) == ("14.2.0", "13.0", "13.2")


def test_the_real_probe_gives_a_one_line_reason_or_a_working_gpu() -> None:
    reason = tinyae.available_backends()["cupy"]
    if reason is None:
        gpu = tinyae.get_backend("cupy")
        assert gpu.to_numpy(gpu.xp.matmul(gpu.asarray([[2.0]]), gpu.asarray([[3.0]]))).tolist() == [[6.0]]
    else:
        assert "\n" not in reason and "cupy" in reason.lower()


def test_the_examples_in_docs_backends_md_run_as_written() -> None:
    path = Path(__file__).resolve().parent.parent / "docs" / "backends.md"
    try:
        result = doctest.testfile(str(path), module_relative=False, optionflags=doctest.ELLIPSIS)
    finally:
        tinyae.set_backend("numpy")
    assert result.attempted >= 6 and result.failed == 0
