"""``save`` and ``load``: models and optimizers as safetensors checkpoints that are safe to load.

A model checkpoint holds every parameter and buffer (batch-norm running statistics) as a host NumPy
array, plus a JSON header naming the model's class and ``config``, so that :func:`load` can rebuild the
model with no code from the user, on any backend.  ``save(model, path, optimizer=opt)`` puts the
optimizer's state (moments as arrays, step counts in the header, hyperparameters) in the same file, so
that a resumed run never pairs weights and moments of different steps.

Files are written to a temporary file beside the target, flushed to disk and renamed into place, so an
interrupted save leaves the previous checkpoint intact.  Loading never runs code and checks the header,
every name and every size before reading data (see :mod:`tinyae.io.container`); a ``config`` is compared
with the stored shapes before the model is built (:func:`~tinyae.io.sizes.check_config_size`).

>>> import tempfile, pathlib, tinyae
>>> from tinyae import nn, optim
>>> model = nn.Sequential(nn.Linear(3, 2))
>>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.safetensors"
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
from tinyae.io.container import read_container, write_container
from tinyae.io.format import FORMAT_NAME, FORMAT_VERSION, OPTIMIZER_PREFIX, CheckpointError
from tinyae.io.registry import model_class
from tinyae.io.sizes import check_config_size
from tinyae.tensor import Tensor

__all__ = ["load", "load_state_dict", "read_checkpoint", "save", "save_state_dict"]

PathLike = str | os.PathLike[str]

# the keys of Optimizer.state_dict(): how save() tells an optimizer from a model
_OPTIMIZER_KEYS = {"type", "num_parameters", "hyperparameters", "state"}


def save(obj: Any, path: PathLike, optimizer: Any = None) -> None:
    """Write a model (any module with ``state_dict()``, ideally with ``config``) or an optimizer to ``path``.

    The file gets exactly the name given; ``.safetensors`` is the usual suffix.  A model without a
    ``config`` (a plain ``nn.Sequential``) can still be saved; it then loads only into an existing module
    (``into=``).  With ``optimizer``, the optimizer's state goes into the same file (one atomic write),
    and ``load(path, into=model, optimizer=opt)`` restores both.

    Raises
    ------
    CheckpointError
        Before anything is written: a name that :func:`load` would refuse (empty, with ``/`` or a control
        character), a header over the size limit, or a ``path`` that is a fifo, a device, a folder or a
        symbolic link (which ``save`` would otherwise replace with a regular file).

    Examples
    --------
    >>> import tempfile, pathlib, tinyae
    >>> from tinyae import nn, optim
    >>> model = nn.Linear(2, 2)
    >>> opt = optim.Adam(model.parameters())
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> save(model, folder / "model.safetensors", optimizer=opt)
    >>> _ = load(folder / "model.safetensors", into=nn.Linear(2, 2), optimizer=opt)
    >>> sorted(p.name for p in folder.iterdir())
    ['model.safetensors']
    """
    where = _path_of(path, "save")
    if not callable(getattr(obj, "state_dict", None)):
        raise TypeError(f"save() needs a model or an optimizer (with state_dict()), not {type(obj).__name__}")
    state = obj.state_dict()
    if isinstance(state, Mapping) and set(state) == _OPTIMIZER_KEYS:
        if optimizer is not None:
            raise TypeError("save(optimizer, path, optimizer=...) : pass the model first, then optimizer=")
        header, arrays = _optimizer_payload(state)
        header.update(format=FORMAT_NAME, version=FORMAT_VERSION, kind="optimizer")
    else:
        header, arrays = _model_payload(obj, state)
        if optimizer is not None:
            if not callable(getattr(optimizer, "state_dict", None)):
                raise TypeError(f"save(optimizer=...) needs an optimizer, not {type(optimizer).__name__}")
            fields, moments = _optimizer_payload(optimizer.state_dict())
            header["optimizer"] = fields
            arrays.update({OPTIMIZER_PREFIX + name: value for name, value in moments.items()})
    write_container(where, header, arrays)


def load(
    path: PathLike, into: Any = None, backend: str | Backend | None = None, optimizer: Any = None
) -> Any:
    """Read a checkpoint written by :func:`save` (or :func:`save_state_dict`) and return what it holds.

    Parameters
    ----------
    path : str or PathLike
        The checkpoint file.
    into : module or optimizer, optional
        Load into this existing object (and return it).  Required for optimizer state: the state belongs
        to parameters, which only the caller has (an optimizer ``into=`` also reads the optimizer part of
        a model checkpoint saved with ``optimizer=``).  For a model checkpoint, leave it out to rebuild
        the model from its registered class (see :func:`~tinyae.io.register_model`) and ``config``.
    backend : str or Backend, optional
        Put the model on this backend (a model saved on one backend loads on any); by default the one it
        was saved from (rebuilt) or ``into``'s own.
    optimizer : Optimizer, optional
        With a model ``into=``: also restore this optimizer (built on ``into``'s parameters) from the same
        file.  Both are checked before either changes.

    Returns
    -------
    The model, the optimizer ``into``, or (for a bare state dict without ``into``) a dict of NumPy arrays.

    Raises
    ------
    CheckpointError
        Naming the file and the problem: a malformed or corrupted file, an unknown class, a config that
        does not fit the stored arrays, keys or shapes that do not fit ``into``.
    """
    where = _path_of(path, "load")
    header, arrays = read_container(where)
    kind = header["kind"]
    if kind == "optimizer" or (into is not None and _is_optimizer(into)):
        if backend is not None or optimizer is not None:
            raise TypeError(
                "load(into=optimizer) takes no backend= or optimizer=: the state follows its parameters"
            )
        return _load_optimizer(header, arrays, into, where)
    if optimizer is not None and into is None:
        raise TypeError(
            "load(path, optimizer=opt) needs into=<the model whose parameters opt updates>; a rebuilt model "
            "would have new parameters (rebuild it, build the optimizer on it, then load both)"
        )
    model_arrays = {k: v for k, v in arrays.items() if not k.startswith(OPTIMIZER_PREFIX)}
    if into is None:
        if kind == "state_dict":
            return arrays
        check_config_size(header, model_arrays, where)
        into = _rebuild(header, where, backend)
    snapshot = into.state_dict() if optimizer is not None else None
    try:
        into.load_state_dict(model_arrays)
    except (RuntimeError, ValueError, TypeError) as error:
        raise CheckpointError(f"{where}: does not fit {type(into).__name__}: {error}") from None
    if optimizer is not None:
        try:
            _load_optimizer(header, arrays, optimizer, where)
        except BaseException:
            into.load_state_dict(snapshot)  # both or neither
            raise
    if backend is not None:
        into.to(backend)
    return into


def save_state_dict(state: Mapping[str, Any], path: PathLike) -> None:
    """Write named arrays (NumPy, any backend's, or tensors) to ``path`` as a ``state_dict`` checkpoint.

    >>> import tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "arrays.safetensors"
    >>> save_state_dict({"w": np.eye(2, dtype=np.float32)}, path)
    >>> load_state_dict(path)["w"].tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    where = _path_of(path, "save_state_dict")
    if not isinstance(state, Mapping):
        raise TypeError(f"save_state_dict needs a mapping of names to arrays, not {type(state).__name__}")
    arrays = {name: _host(value) for name, value in state.items()}
    write_container(where, {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": "state_dict"}, arrays)


def load_state_dict(path: PathLike) -> dict[str, np.ndarray]:
    """The named host arrays of a model or ``state_dict`` checkpoint, in the order they were saved."""
    where = _path_of(path, "load_state_dict")
    header, arrays = read_container(where)
    if header["kind"] == "optimizer":
        raise CheckpointError(f"{where}: holds optimizer state; load it with load(path, into=optimizer)")
    return {k: v for k, v in arrays.items() if not k.startswith(OPTIMIZER_PREFIX)}


def read_checkpoint(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, arrays)`` of any checkpoint, fully checked: for inspecting a file without loading it."""
    return read_container(_path_of(path, "read_checkpoint"))


# --- saving ---------------------------------------------------------------------------------------------


def _path_of(path: Any, function: str) -> str:
    """``path`` as a string, or a TypeError naming the argument (``load(12)`` is a mistake, not a file)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{function}(path=...) needs a str or os.PathLike, not {type(path).__name__} {path!r}"
        )
    where = os.fspath(path)
    if not isinstance(where, str):
        raise TypeError(f"{function}(path=...) needs a text path, not {type(where).__name__}")
    if not where or "\0" in where:
        raise TypeError(f"{function}(path=...) got an invalid path {where!r}")
    return where


def _model_payload(model: Any, state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays = {name: _host(value) for name, value in state.items()}
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
        "optimizer": None,
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
    # step counts are Python ints: they go into the JSON header, the moment arrays into the file
    entries = state["state"]
    scalars = {key: value for key, value in entries.items() if isinstance(value, int)}
    arrays = {key: _host(value) for key, value in entries.items() if key not in scalars}
    hyper = {key: list(v) if isinstance(v, tuple) else v for key, v in state["hyperparameters"].items()}
    fields = {
        "class": state["type"],
        "num_parameters": int(state["num_parameters"]),
        "hyperparameters": hyper,
        "scalars": scalars,
    }
    return fields, arrays


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
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise CheckpointError(f"{where}: cannot rebuild {header['class']}(**config): {error}") from None


def _load_optimizer(header: dict[str, Any], arrays: dict[str, np.ndarray], into: Any, where: str) -> Any:
    if header["kind"] == "optimizer":
        fields, moments = header, arrays
    elif header["kind"] == "model" and header["optimizer"] is not None:
        fields = header["optimizer"]
        n = len(OPTIMIZER_PREFIX)
        moments = {k[n:]: v for k, v in arrays.items() if k.startswith(OPTIMIZER_PREFIX)}
    else:
        what = f"a {header['class']} model" if header["kind"] == "model" else "bare arrays"
        target = type(into).__name__ if into is not None else "an optimizer"
        raise CheckpointError(f"{where}: holds {what} and no optimizer state to load into {target}")
    saved = fields["class"]
    if into is None:
        raise CheckpointError(
            f"{where}: holds the state of a {saved} optimizer; load it with load(path, into=optimizer), "
            "an optimizer built on the model's parameters"
        )
    if not _is_optimizer(into):
        raise CheckpointError(f"{where}: holds {saved} optimizer state; into= is a {type(into).__name__}")
    state = {
        "type": saved,
        "num_parameters": fields["num_parameters"],
        "hyperparameters": fields["hyperparameters"],
        "state": {**moments, **fields["scalars"]},
    }
    try:
        into.load_state_dict(state)
    except (ValueError, TypeError, KeyError, OverflowError, ZeroDivisionError) as error:
        raise CheckpointError(f"{where}: does not fit {type(into).__name__}: {error}") from None
    return into
