"""Array backends: where a tensor's numbers live and which array functions compute on them.

A :class:`Backend` bundles an array namespace ``xp`` (NumPy, CuPy or the strict Array-API stand-in) with
the few things that namespace does not standardise: a seeded random generator, moving arrays to and from the
host, and waiting for the device.  Op code only ever calls ``xp`` functions that the Python Array API
standard defines, so the same line runs on every backend; where NumPy and CuPy truly differ, the difference
is one function in this file.

>>> import tinyae
>>> tinyae.get_backend().name
'numpy'
>>> with tinyae.use_backend("strict"):
...     tinyae.get_backend().name
'strict'
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = [
    "Backend", "BackendError", "RandomGenerator", "available_backends", "backend_of", "get_backend",
    "gpu_environment", "host_rng", "manual_seed", "set_backend", "use_backend",
]  # fmt: skip

DEFAULT_SEED = 0


class BackendError(RuntimeError):
    """A backend was asked for that cannot be used here, or tensors of two backends were mixed."""


class RandomGenerator:
    """A seeded source of noise that returns arrays on one backend.

    Uses the backend's native generator where it has one (NumPy's PCG64, CuPy's on the GPU); the strict
    backend has no random module, so it draws on the host and copies the result in.
    """

    __slots__ = ("_backend", "_host_draws", "_native")

    def __init__(self, backend: Backend, seed: int) -> None:
        self._backend = backend
        self._native, self._host_draws = _native_generator(backend.name, backend.module, seed)

    def uniform(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """Uniform samples in [0, 1) of the given shape and (float) dtype."""
        name = dtype_name(dtype)
        sample = self._native.random(shape, dtype=name)
        return self._backend.asarray(sample) if self._host_draws else sample

    def normal(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """Standard normal samples of the given shape and (float) dtype."""
        name = dtype_name(dtype)
        sample = self._native.standard_normal(shape, dtype=name)
        return self._backend.asarray(sample) if self._host_draws else sample


class Backend:
    """One array backend: its namespace ``xp``, its random generator and its host transfers.

    Attributes
    ----------
    name : str
        ``"numpy"``, ``"cupy"`` or ``"strict"``.
    xp : module
        The array namespace op code calls (``xp.exp``, ``xp.matmul``, ...).
    is_gpu : bool
        True when arrays live in GPU memory.
    random : RandomGenerator
        Seeded noise on this backend (see :func:`manual_seed`).
    writes_in_place : bool
        True when the library's elementwise functions take ``out=`` (NumPy, CuPy); see :meth:`into`.
    """

    __slots__ = ("_sync", "_to_host", "is_gpu", "module", "name", "random", "writes_in_place", "xp")

    def __init__(
        self,
        name: str,
        xp: Any,
        module: Any,
        is_gpu: bool,
        to_host: Callable[[Any], np.ndarray],
        synchronize: Callable[[], None],
        seed: int = DEFAULT_SEED,
        writes_in_place: bool = False,
    ) -> None:
        self.name = name
        self.writes_in_place = writes_in_place
        self.xp = xp
        self.module = module
        self.is_gpu = is_gpu
        self._to_host = to_host
        self._sync = synchronize
        self.random = RandomGenerator(self, seed)

    def asarray(self, data: Any, dtype: Any = None, copy: bool | None = None) -> Any:
        """Array on this backend from host data (lists, scalars, NumPy arrays) or this backend's arrays.

        ``copy=None`` shares memory where it can; ``copy=True`` always gives an array of its own.
        """
        return self.xp.asarray(data, dtype=self.dtype(dtype), copy=copy)

    def into(self, out: Any, function: str, *args: Any) -> Any:
        """``out[...] = function(*args)`` for an elementwise ``function`` named as in the Array API
        (``"multiply"``, ``"sqrt"``, ...), without a temporary array where the library allows it.

        NumPy and CuPy write the result straight into ``out`` (``out=``).  The Array API has no ``out=``:
        there (the strict stand-in) the result is computed, then copied.  Optimizers use this to update
        millions of parameters with preallocated buffers: fresh megabyte temporaries at every step make the
        C allocator hand memory back to the system and fault it in again (measured in benchmarks/README.md).
        """
        if self.writes_in_place:
            return getattr(self.module, function)(*args, out=out)
        out[...] = getattr(self.xp, function)(*args)
        return out

    def to_numpy(self, array: Any) -> np.ndarray:
        """A NumPy copy (or view, on the numpy backend) of one of this backend's arrays."""
        return self._to_host(array)

    def synchronize(self) -> None:
        """Wait until queued device work is finished (a no-op on the CPU); call it before reading a clock."""
        self._sync()

    def dtype(self, spec: Any) -> Any:
        """This backend's dtype for ``spec`` (``"float32"``, ``numpy.float64``, any backend's dtype)."""
        if spec is None:
            return None
        name = dtype_name(spec)
        try:
            return getattr(self.xp, name)
        except AttributeError:
            raise TypeError(f"backend {self.name!r} has no dtype {name!r}") from None

    def owns(self, array: Any) -> bool:
        """True when ``array`` is one of this backend's arrays."""
        return type(array).__module__.split(".")[0] == self.module.__name__.split(".")[0]

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # pickling or deep-copying a tensor refers to its backend by name, not by its modules
        return get_backend, (self.name,)


def dtype_name(dtype: Any) -> str:
    """The standard name (``"float32"``) of a dtype given in any backend's spelling."""
    if isinstance(dtype, str):
        return dtype
    try:
        return np.dtype(dtype).name
    except TypeError:
        # array_api_strict dtypes print as "array_api_strict.float32"
        return str(dtype).rsplit(".", 1)[-1]


def is_host_array(data: Any) -> bool:
    """True for NumPy arrays and NumPy scalars: host data, which goes to the current default backend."""
    return isinstance(data, (np.ndarray, np.generic))


def is_host_scalar(data: Any) -> bool:
    """True for NumPy scalars such as ``np.float64(2.0)``, which (unlike Python floats) promote float32."""
    return isinstance(data, np.generic)


def format_host(array: np.ndarray, prefix: str) -> str:
    """Print a host array's values as NumPy does, aligned after ``prefix``."""
    return np.array2string(np.asarray(array), separator=", ", prefix=prefix)


# --- the three backends -------------------------------------------------------------------------------------


def _make_numpy(seed: int) -> Backend:
    return Backend("numpy", np, np, False, np.asarray, lambda: None, seed, writes_in_place=True)


def _make_strict(seed: int) -> Backend:
    try:
        strict = importlib.import_module("array_api_strict")
    except ImportError:
        raise BackendError(
            "backend 'strict' needs the array-api-strict package: `pip install -e '.[test]'` in the clone"
        ) from None
    return Backend("strict", strict, strict, False, np.asarray, lambda: None, seed)


def _make_cupy(seed: int) -> Backend:
    modules, reason = _probe_cupy()
    if modules is None:
        raise BackendError(f"backend 'cupy' is unavailable: {reason}")
    cupy, compat = modules

    def synchronize() -> None:
        # read the stream at each call: a bound method would keep waiting on the stream of creation time
        cupy.cuda.get_current_stream().synchronize()

    try:  # the generator allocates and runs a kernel: a failure here is a CUDA failure, named as such
        return Backend("cupy", compat, cupy, True, cupy.asnumpy, synchronize, seed, writes_in_place=True)
    except Exception as error:
        raise BackendError(f"backend 'cupy' is unavailable: {_one_line(error)}") from error


_FACTORIES: dict[str, Callable[..., Backend]] = dict(numpy=_make_numpy, cupy=_make_cupy, strict=_make_strict)

_CUPY_PROBE: list[tuple[Any, str]] = []  # filled once, on first use: [((cupy, compat) or None, reason)]

_GPU_HINT = (
    "on a machine with an NVIDIA GPU and driver, in the clone: pip install -e '.[gpu]' (CUDA 12) or "
    "pip install -e '.[gpu13]' (CUDA 13)"
)
_CTK_HINT = "CuPy 14 needs the CUDA toolkit from its [ctk] extra: pip install -e '.[gpu]' in the clone"
_IGNORED_AT_IMPORT = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def _probe_cupy() -> tuple[Any, str]:
    """Import CuPy and exercise it, once; return ((cupy, compat), "") or (None, why it cannot be used)."""
    if not _CUPY_PROBE:
        _CUPY_PROBE.append(_run_cupy_probe())
    return _CUPY_PROBE[0]


def _one_line(message: object, limit: int = 200) -> str:
    """A message (an error with its type) as one short line for `tinyae info`: no rules, no fix-it steps."""
    text = f"{type(message).__name__}: {message}" if isinstance(message, BaseException) else str(message)
    text = " ".join(word for word in text.split() if word.strip("-")).split(" Follow these steps")[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _import_cupy() -> Any:
    return importlib.import_module("cupy")


def _import_compat() -> Any:  # CuPy with the few standard names its own namespace lacks
    return importlib.import_module("array_api_compat.cupy")


def _run_cupy_probe() -> tuple[Any, str]:
    """Every way CuPy can fail before training, inside one boundary: the import (and any warning it
    gives, such as two CuPy wheels installed side by side), the driver, the generator, cuBLAS, a kernel."""
    stage = "import cupy"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # record, never raise: -W error must not break numpy/strict
            cupy = _import_cupy()
        warned = [w for w in caught if not issubclass(w.category, _IGNORED_AT_IMPORT)]
        if warned:
            text = _one_line(str(warned[0].message))
            return None, f"`import cupy` warned ({warned[0].category.__name__}: {text}); fix the install"
        stage = "the CUDA driver"
        if cupy.cuda.runtime.getDeviceCount() == 0:
            return None, "CuPy is installed but CUDA reports no GPU device"
        stage = "import array_api_compat.cupy"
        compat = _import_compat()
        stage = "the random generator"
        noise = cupy.random.default_rng(0).random((8, 8), dtype="float32")
        stage = "a cuBLAS product"
        product = cupy.matmul(noise, noise)
        stage = "an elementwise kernel"  # kernels compile at first use: a missing toolkit shows up here
        total = float(cupy.asnumpy(cupy.sum(product * 2.0 + 1.0)))
        host = cupy.asnumpy(noise)
        expected = float(np.sum(host @ host * 2.0 + 1.0))
        if abs(total - expected) > 1e-3 * abs(expected):
            return None, f"CuPy computed a wrong value ({total} for {expected}) in its smoke test"
    except Exception as error:  # CUDARuntimeError (no driver, old driver), CUBLASError, CompileException
        if stage.startswith("import") and isinstance(error, ImportError):
            return None, f"{error.name or 'cupy'} is not installed; {_GPU_HINT}"
        if stage == "the CUDA driver":
            return None, f"CuPy is installed but finds no usable CUDA driver ({_one_line(str(error))})"
        return None, f"CuPy is installed but {stage} failed ({_one_line(error)}); {_CTK_HINT}"
    return (cupy, compat), ""


def gpu_environment() -> dict[str, Any]:
    """What a GPU report needs: CuPy and CUDA versions, the device's name and memory, or why there is none.

    >>> gpu_environment()["available"] in (True, False)
    True
    """
    modules, reason = _probe_cupy()
    if modules is None:
        return {"available": False, "reason": reason}
    cupy, runtime, device = modules[0], modules[0].cuda.runtime, modules[0].cuda.Device()
    (free, total), name = device.mem_info, runtime.getDeviceProperties(device.id)["name"]
    return {
        "available": True,
        "reason": "",
        "cupy": cupy.__version__,
        "array_api_compat": getattr(sys.modules.get("array_api_compat"), "__version__", "unknown"),
        "cuda_runtime": _cuda_version(runtime.runtimeGetVersion()),
        "cuda_driver": _cuda_version(runtime.driverGetVersion()),
        "device": name.decode() if isinstance(name, bytes) else str(name),
        "memory_gib": round(total / 2**30, 1),
        "free_gib": round(free / 2**30, 1),
    }


def _cuda_version(number: int) -> str:  # CUDA writes 12.4 as 12040
    return f"{number // 1000}.{number % 1000 // 10}"


# --- choosing a backend -------------------------------------------------------------------------------------

_seed = DEFAULT_SEED
_instances: dict[str, Backend] = {}
_default: contextvars.ContextVar[str] = contextvars.ContextVar("tinyae_backend", default="numpy")
_host = np.random.default_rng(DEFAULT_SEED)


def get_backend(name: str | Backend | None = None) -> Backend:
    """The backend called ``name``, or the current default one when ``name`` is None."""
    if isinstance(name, Backend):
        return name
    if name is None:
        name = _default.get()
    backend = _instances.get(name)
    if backend is None:
        factory = _FACTORIES.get(name)
        if factory is None:
            raise BackendError(f"unknown backend {name!r}; choose one of {sorted(_FACTORIES)}")
        backend = _instances[name] = factory(_seed)
    return backend


def set_backend(name: str) -> None:
    """Make ``name`` the default backend for new tensors (checks that it is usable first)."""
    _default.set(get_backend(name).name)


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[Backend]:
    """Within the ``with`` block, new tensors go to backend ``name``."""
    token = _default.set(get_backend(name).name)
    try:
        yield get_backend(name)
    finally:
        _default.reset(token)


def available_backends() -> dict[str, str | None]:
    """Every registered backend mapped to ``None`` when it is usable here, else to the reason it is not.

    >>> available_backends()["numpy"] is None
    True
    """
    status: dict[str, str | None] = {}
    for name in _FACTORIES:
        try:
            get_backend(name)
            status[name] = None
        except BackendError as error:
            status[name] = str(error)
    return status


def backend_of(array: Any) -> Backend:
    """The backend an array belongs to (NumPy arrays and scalars belong to ``numpy``)."""
    if isinstance(array, (np.ndarray, np.generic)):
        return get_backend("numpy")
    module = type(array).__module__.split(".")[0]
    name = {"array_api_strict": "strict", "cupy": "cupy"}.get(module)
    if name is None:
        raise TypeError(f"{type(array).__name__} is not an array of any tinyae backend")
    return get_backend(name)


def manual_seed(seed: int) -> None:
    """Seed the host generator (parameter initialisation) and every backend's noise generator."""
    global _seed, _host
    _seed = int(seed)
    _host = np.random.default_rng(_seed)
    for backend in _instances.values():
        backend.random = RandomGenerator(backend, _seed)


def host_rng() -> np.random.Generator:
    """The seeded host generator: parameters are drawn here and moved, so a seed means the same weights
    on every backend."""
    return _host


def _native_generator(name: str, module: Any, seed: int) -> tuple[Any, bool]:
    """The backend's own generator, and whether its draws are host arrays that still need copying in."""
    if name == "cupy":
        return module.random.default_rng(seed), False
    return np.random.default_rng(seed), name != "numpy"
