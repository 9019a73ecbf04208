"""Reading and writing the safetensors file of a checkpoint, checking everything before trusting anything.

Writing: every name is checked first (:func:`~tinyae.io.format.check_name`), so nothing is written that
:func:`read_container` would refuse; the arrays go to ``safetensors.numpy.save`` with tinyae's header and
a SHA-256 of header and data in the metadata, through :func:`~tinyae.data.fileio.atomic_write`.

Reading, in this order, so that a bad file is refused before its data is touched:

1. the path is a regular file (a fifo, a device such as ``/dev/zero`` or a ``/proc`` file is named for
   what it is) and not empty;
2. the safetensors header length (the first 8 bytes) is at most :data:`~tinyae.io.format.MAX_HEADER_BYTES`
   and fits the file; safetensors then checks every array's offsets against the file, so no array can
   claim more bytes than the file holds;
3. tinyae's header is well-formed (:func:`~tinyae.io.format.check_header`) and names exactly the arrays
   the file holds, each a plain number type;
4. the arrays are read one by one (memory: the data's size, never more than the file's) and the SHA-256
   is compared, so a flipped bit anywhere is a ``CheckpointError``, never wrong numbers.

>>> import tempfile, pathlib, numpy as np
>>> from tinyae.io.format import FORMAT_NAME, FORMAT_VERSION
>>> path = pathlib.Path(tempfile.mkdtemp()) / "w.safetensors"
>>> write_container(path, {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": "state_dict"},
...                 {"w": np.ones((2, 3), dtype=np.float32)})
>>> read_container(path)[1]["w"].shape
(2, 3)
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as safetensors_bytes

from tinyae.data.fileio import atomic_write, special_kind
from tinyae.io.format import MAX_HEADER_BYTES, CheckpointError, check_name, decode_header, encode_header

__all__ = ["ALLOWED_DTYPE_KINDS", "HEADER_KEY", "read_container", "write_container"]

HEADER_KEY = "tinyae"
DIGEST_KEY = "tinyae.sha256"
# booleans, signed and unsigned integers, floats, complex: plain numbers only, never objects or strings
ALLOWED_DTYPE_KINDS = "biufc"


def write_container(path: str | os.PathLike[str], header: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Check ``arrays`` and write them with ``header`` (its ``arrays`` field is filled in here) to ``path``.

    Raises
    ------
    CheckpointError
        Before anything is written: a name :func:`read_container` would refuse, a header over the limit,
        or a target that is not a regular file.
    TypeError
        An array that is not plain numbers.
    """
    where = os.fspath(path)
    kind = special_kind(path)
    if kind is not None:
        raise CheckpointError(f"{where}: is {kind}; save refuses to replace it with a regular file")
    prefix_ok = header.get("kind") == "model"
    host = {check_name(name, where, prefix_ok): _host_array(name, value) for name, value in arrays.items()}
    text = encode_header({**header, "arrays": list(host)})
    metadata = {HEADER_KEY: text, DIGEST_KEY: _digest(text, host)}
    # safetensors' own header: the metadata plus about 80 bytes per array; refused here, not at load
    size = len(text.encode()) + sum(len(name.encode()) + 80 for name in host) + 200
    if size > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"{where}: the header would take about {size} bytes, more than the {MAX_HEADER_BYTES} a "
            "checkpoint may have (too many or too long array names, or a huge config)"
        )
    try:
        data = safetensors_bytes(host, metadata=metadata)
    except (SafetensorError, ValueError, TypeError) as error:
        raise TypeError(f"{where}: safetensors cannot store these arrays: {error}") from None
    with atomic_write(path) as file:
        file.write(data)


def _host_array(name: str, value: Any) -> np.ndarray:
    # order="C": safetensors writes an array's memory as it is, so a Fortran-order array would be scrambled
    array = np.asarray(value, order="C")  # not ascontiguousarray: it turns 0-d arrays into 1-d
    if array.dtype.kind not in ALLOWED_DTYPE_KINDS or array.dtype.hasobject:
        raise TypeError(f"array {name!r} has dtype {array.dtype}; checkpoints hold plain numbers only")
    return array


def _digest(text: str, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the header text and of each array's name, dtype, shape and bytes, in order."""
    digest = hashlib.sha256(text.encode("utf-8"))
    for name, array in arrays.items():
        digest.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(np.ascontiguousarray(array).view(np.uint8).data if array.size else b"")
    return digest.hexdigest()


def read_container(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, arrays)`` of a checkpoint, after every check in the module docstring.

    In the returned header, ``arrays`` describes each array as ``{"name", "shape", "dtype"}``.

    Raises
    ------
    CheckpointError
        Naming the file and what is wrong with it.
    FileNotFoundError, PermissionError
        The file system's own errors, which say it best.
    """
    where = os.fspath(path)
    header_length = _check_file(path, where)
    if header_length > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"{where}: the safetensors header claims {header_length} bytes, more than the limit of "
            f"{MAX_HEADER_BYTES}; corrupted or not a checkpoint"
        )
    try:
        with safe_open(where, framework="numpy") as file:
            metadata = file.metadata() or {}
            header = decode_header(metadata.get(HEADER_KEY), where)
            names = header["arrays"]
            found = set(file.keys())
            if found != set(names):
                raise CheckpointError(
                    f"{where}: the arrays do not match the header: unknown {sorted(found - set(names))}, "
                    f"missing {sorted(set(names) - found)}"
                )
            arrays = {name: file.get_tensor(name) for name in names}
    except SafetensorError as error:
        raise CheckpointError(
            f"{where}: not a readable safetensors file: truncated or corrupted ({error})"
        ) from None
    except (OSError, ValueError, TypeError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"{where}: could not be read ({type(error).__name__}: {error})") from None
    for name, array in arrays.items():
        if array.dtype.kind not in ALLOWED_DTYPE_KINDS:
            raise CheckpointError(f"{where}: array {name!r} has dtype {array.dtype}; plain numbers only")
    if metadata.get(DIGEST_KEY) != _digest(metadata[HEADER_KEY], arrays):
        raise CheckpointError(
            f"{where}: the SHA-256 of header and data does not match the one stored "
            "(flipped bits or a damaged copy)"
        )
    header["arrays"] = [
        {"name": name, "shape": [int(n) for n in array.shape], "dtype": array.dtype.name}
        for name, array in arrays.items()
    ]
    return header, arrays


def _check_file(path: str | os.PathLike[str], where: str) -> int:
    """Refuse what is not a non-empty regular file, without blocking; return the safetensors header length."""
    kind = special_kind(path, follow=True)
    if kind is not None:
        raise CheckpointError(f"{where}: is {kind}, not a checkpoint file")
    # O_NONBLOCK: should the path turn into a fifo after the check above, opening it must not hang
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{where}: is not a regular file, not a checkpoint file")
        first = os.read(fd, 8)
    finally:
        os.close(fd)
    if info.st_size == 0:
        if first:
            raise CheckpointError(
                f"{where}: a special file that reports 0 bytes but has content (like those in /proc or "
                "/sys), not a checkpoint file"
            )
        raise CheckpointError(f"{where}: the file is empty (0 bytes); an interrupted copy or save?")
    if len(first) < 8:
        raise CheckpointError(f"{where}: only {info.st_size} bytes, too short for a safetensors header")
    length = int.from_bytes(first, "little")
    if length > info.st_size - 8:
        raise CheckpointError(
            f"{where}: the safetensors header claims {length} bytes but the file has {info.st_size}; "
            "truncated or corrupted"
        )
    return length
