"""``save`` and ``load``: models and optimizers as ``.npz`` checkpoints that are safe to load.

A model checkpoint holds every parameter and buffer (batch-norm running statistics) as a host NumPy
array, plus a JSON header naming the model's class and ``config``, so that :func:`load` can rebuild the
model with no code from the user, on any backend.  An optimizer checkpoint holds the per-position state
(moments as arrays, step counts in the header) and the hyperparameters; it is loaded into an optimizer
built on the model's parameters.

Files are written to a temporary file beside the target, flushed to disk and renamed into place, so an
interrupted save leaves the previous checkpoint intact.  Loading never unpickles and checks the header and
every member's shape and dtype before reading data (see :mod:`tinyae.io.npz`).

>>> import tempfile, pathlib, tinyae
>>> from tinyae import nn, optim
>>> model = nn.Sequential(nn.Linear(3, 2))
>>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.npz"
>>> save(model, path)
>>> restored = load(path, into=nn.Sequential(nn.Linear(3, 2)))
>>> bool((restored[0].weight.numpy() == model[0].weight.numpy()).all())
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from tinyae.backend import Backend, backend_of, dtype_name
from tinyae.data.fileio import atomic_write
from tinyae.io.format import FORMAT_NAME, FORMAT_VERSION, CheckpointError
from tinyae.io.npz import read_archive, write_archive
from tinyae.io.registry import model_class
from tinyae.tensor import Tensor

__all__ = ["load", "load_state_dict", "read_checkpoint", "save", "save_state_dict"]

PathLike = str | os.PathLike[str]

# the keys of Optimizer.state_dict(): how save() tells an optimizer from a model
_OPTIMIZER_KEYS = {"type", "num_parameters", "hyperparameters", "state"}


def save(obj: Any, path: PathLike) -> None:
    """Write a model (any module with ``state_dict()``, ideally with ``config``) or an optimizer to ``path``.

    The file gets exactly the name given (no ``.npz`` is appended).  A model without a ``config`` (a plain
    ``nn.Sequential``) can still be saved; it then loads only into an existing module (``into=``).

    Examples
    --------
    >>> import tempfile, pathlib, tinyae
    >>> from tinyae import nn, optim
    >>> model = nn.Linear(2, 2)
    >>> opt = optim.Adam(model.parameters())
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> save(model, folder / "model.npz"); save(opt, folder / "adam.npz")
    >>> sorted(p.name for p in folder.iterdir())
    ['adam.npz', 'model.npz']
    """
    if not callable(getattr(obj, "state_dict", None)):
        raise TypeError(f"save() needs a model or an optimizer (with state_dict()), not {type(obj).__name__}")
    state = obj.state_dict()
    if isinstance(state, Mapping) and set(state) == _OPTIMIZER_KEYS:
        header, arrays = _optimizer_payload(state)
    else:
        header, arrays = _model_payload(obj, state)
    _write(path, header, arrays)


def load(path: PathLike, into: Any = None, backend: str | Backend | None = None) -> Any:
    """Read a checkpoint written by :func:`save` (or :func:`save_state_dict`) and return what it holds.

    Parameters
    ----------
    path : str or PathLike
        The checkpoint file.
    into : module or optimizer, optional
        Load into this existing object (and return it).  Required for an optimizer checkpoint: the state
        belongs to parameters, which only the caller has.  For a model checkpoint, leave it out to rebuild
        the model from its registered class (see :func:`~tinyae.io.register_model`) and ``config``.
    backend : str or Backend, optional
        Put the model on this backend (a model saved on one backend loads on any); by default the one it
        was saved from (rebuilt) or ``into``'s own.

    Returns
    -------
    The model, the optimizer ``into``, or (for a bare state dict without ``into``) a dict of NumPy arrays.

    Raises
    ------
    CheckpointError
        Naming the file and the problem: a malformed or corrupted file, an unknown class, keys or shapes
        that do not fit ``into``.
    """
    header, arrays = read_checkpoint(path)
    where = os.fspath(path)
    kind = header["kind"]
    if kind == "optimizer":
        if backend is not None:
            raise TypeError("load(backend=...) applies to models; optimizer state follows its parameters")
        return _load_optimizer(header, arrays, into, where)
    if into is not None and _is_optimizer(into):
        raise CheckpointError(f"{where}: holds a {kind}, not the state of a {type(into).__name__} optimizer")
    if into is None:
        if kind == "state_dict":
            return arrays
        into = _rebuild(header, where, backend)
    try:
        into.load_state_dict(arrays)
    except (RuntimeError, ValueError, TypeError) as error:
        raise CheckpointError(f"{where}: does not fit {type(into).__name__}: {error}") from None
    if backend is not None:
        into.to(backend)
    return into


def save_state_dict(state: Mapping[str, Any], path: PathLike) -> None:
    """Write named arrays (NumPy, any backend's, or tensors) to ``path`` as a ``state_dict`` checkpoint.

    >>> import tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "arrays.npz"
    >>> save_state_dict({"w": np.eye(2, dtype=np.float32)}, path)
    >>> load_state_dict(path)["w"].tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    arrays = {str(name): _host(value) for name, value in state.items()}
    _write(path, {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": "state_dict"}, arrays)


def load_state_dict(path: PathLike) -> dict[str, np.ndarray]:
    """The named host arrays of a model or ``state_dict`` checkpoint, in the order they were saved."""
    header, arrays = read_checkpoint(path)
    if header["kind"] == "optimizer":
        raise CheckpointError(
            f"{os.fspath(path)}: holds optimizer state; load it with load(path, into=optimizer)"
        )
    return arrays


def read_checkpoint(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, arrays)`` of any checkpoint, fully checked: for inspecting a file without loading it."""
    return read_archive(path)


# --- saving ---------------------------------------------------------------------------------------------


def _write(path: PathLike, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    # a temporary file beside the target, fsync, then os.replace: never a half-written checkpoint
    with atomic_write(path) as file:
        write_archive(file, header, arrays)


def _model_payload(model: Any, state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays = {str(name): _host(value) for name, value in state.items()}
    tensors = [value for value in state.values() if isinstance(value, Tensor)]
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "kind": "model",
        "class": type(model).__name__,
        "module": type(model).__module__,
        "config": _config_of(model),
        "dtype": dtype_name(tensors[0].dtype) if tensors else None,
        "backend": tensors[0].backend.name if tensors else None,
    }
    return header, arrays


def _config_of(model: Any) -> dict[str, Any] | None:
    try:
        config = model.config
    except (AttributeError, NotImplementedError):  # a plain module: loads only with into=
        return None
    if not isinstance(config, Mapping):
        raise TypeError(f"{type(model).__name__}.config must be a dict, not {type(config).__name__}")
    return dict(config)


def _optimizer_payload(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    # step counts are Python ints: they go into the JSON header, the moment arrays into the archive
    entries = state["state"]
    scalars = {key: value for key, value in entries.items() if isinstance(value, int)}
    arrays = {key: _host(value) for key, value in entries.items() if key not in scalars}
    hyper = {key: list(v) if isinstance(v, tuple) else v for key, v in state["hyperparameters"].items()}
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "kind": "optimizer",
        "class": state["type"],
        "num_parameters": int(state["num_parameters"]),
        "hyperparameters": hyper,
        "scalars": scalars,
    }
    return header, arrays


def _host(value: Any) -> np.ndarray:
    """A NumPy array for a tensor, any backend's array or a NumPy array (copies only off the host)."""
    if isinstance(value, Tensor):
        return value.numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    return backend_of(value).to_numpy(value)


# --- loading --------------------------------------------------------------------------------------------


def _is_optimizer(obj: Any) -> bool:
    return hasattr(obj, "hyperparameters") and callable(getattr(obj, "step", None))


def _rebuild(header: dict[str, Any], where: str, backend: str | Backend | None) -> Any:
    """A new model of the saved class and config, on ``backend`` when given."""
    if header["config"] is None:
        raise CheckpointError(
            f"{where}: the {header['class']} was saved without a config, so it cannot be rebuilt; "
            "pass into=<a model of the same architecture>"
        )
    cls = model_class(header["class"], header["module"], where)
    config = dict(header["config"])
    if backend is not None and "backend" in config:
        config["backend"] = backend if isinstance(backend, str) else backend.name
    try:
        return cls(**config)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{where}: cannot rebuild {header['class']}(**config): {error}") from None


def _load_optimizer(header: dict[str, Any], arrays: dict[str, np.ndarray], into: Any, where: str) -> Any:
    saved = header["class"]
    if into is None:
        raise CheckpointError(
            f"{where}: holds the state of a {saved} optimizer; load it with load(path, into=optimizer), "
            "an optimizer built on the model's parameters"
        )
    if not _is_optimizer(into):
        raise CheckpointError(f"{where}: holds {saved} optimizer state; into= is a {type(into).__name__}")
    state = {
        "type": saved,
        "num_parameters": header["num_parameters"],
        "hyperparameters": header["hyperparameters"],
        "state": {**arrays, **header["scalars"]},
    }
    try:
        into.load_state_dict(state)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{where}: does not fit {type(into).__name__}: {error}") from None
    return into
