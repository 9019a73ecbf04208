"""Reading and writing the ``.npz`` archive of a checkpoint, checking everything before trusting anything.

Writing: each array becomes a ``<name>.npy`` member of an uncompressed zip (as ``numpy.savez`` does), with
the JSON header as the member ``__header__.npy``; pickling is switched off.

Reading, in this order, so that a bad file is refused before its data is touched:

1. the file is not empty and is a zip archive (truncated files fail here);
2. the header member is a small uint8 array; its JSON is a header of this format version
   (:func:`~tinyae.io.format.check_header`);
3. the archive's members are exactly the header's arrays, none missing, none unknown;
4. each member's ``.npy`` header (``numpy.lib.format.read_magic`` and ``read_array_header_1_0/2_0``, which
   read a few hundred bytes and allocate nothing) has the shape and dtype the header claims, holds no
   Python objects, and its byte count fits the member's size in the zip; a claim of 10**12 elements is
   refused here, not by a ``MemoryError`` later;
5. only then is each member read, straight into an array of the checked size; the zip's CRC-32 check at
   the member's end catches flipped bits.

>>> import io, numpy as np
>>> from tinyae.io.format import FORMAT_NAME, FORMAT_VERSION
>>> buffer = io.BytesIO()
>>> header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": "state_dict"}
>>> write_archive(buffer, header, {"w": np.ones((2, 3), dtype=np.float32)})
>>> read_archive(buffer, "memory")[1]["w"].shape
(2, 3)
"""

from __future__ import annotations

import os
import zipfile
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy

from tinyae.io.format import (
    ALLOWED_DTYPE_KINDS,
    HEADER_MEMBER,
    MAX_HEADER_BYTES,
    CheckpointError,
    array_entry,
    decode_header,
    encode_header,
    nbytes_of,
)

__all__ = ["read_archive", "write_archive"]

# deflate compresses at most about 1032:1; a member claiming more than that is lying about its size
_MAX_DEFLATE_RATIO = 1032
_CHUNK_BYTES = 1 << 22


def write_archive(file: IO[bytes], header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` and ``header`` (without its ``arrays`` field, which is filled in here) to ``file``.

    ``file`` is an open binary file object: ``numpy.savez`` given a *path* would append ``.npz`` to it.
    """
    if HEADER_MEMBER in arrays:
        raise ValueError(f"an array may not be named {HEADER_MEMBER!r}: the checkpoint header uses that name")
    host = {name: _host_array(name, value) for name, value in arrays.items()}
    full = {**header, "arrays": [array_entry(name, value) for name, value in host.items()]}
    members = {HEADER_MEMBER: encode_header(full), **host}
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in members.items():
            with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                npy.write_array(member, value, allow_pickle=False)


def _host_array(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value, order="C")  # not ascontiguousarray: it turns 0-d arrays into 1-d
    if array.dtype.kind not in ALLOWED_DTYPE_KINDS or array.dtype.hasobject:
        raise TypeError(f"array {name!r} has dtype {array.dtype}; checkpoints hold plain numbers only")
    return array


def read_archive(
    file: str | os.PathLike[str] | IO[bytes], label: str | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, arrays)`` of a checkpoint, after every check in the module docstring.

    ``label`` names the file in error messages (by default its path).

    Raises
    ------
    CheckpointError
        Naming the file and what is wrong with it.
    """
    is_path = isinstance(file, (str, os.PathLike))
    path = label if label is not None else os.fspath(file) if is_path else "<file>"  # type: ignore[arg-type]
    if is_path and os.path.getsize(file) == 0:  # type: ignore[arg-type]
        raise CheckpointError(f"{path}: the file is empty (0 bytes); an interrupted copy or save?")
    try:
        archive = zipfile.ZipFile(file)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise  # the file system's own errors say it best
    except (zipfile.BadZipFile, EOFError, OSError) as error:  # OSError: seeks before the start of a stub
        raise CheckpointError(
            f"{path}: not a readable .npz archive: truncated or corrupted ({error})"
        ) from None
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        header_info = members.pop(HEADER_MEMBER + ".npy", None)
        if header_info is None:
            raise CheckpointError(
                f"{path}: no {HEADER_MEMBER!r} member, so not a tinyae checkpoint "
                f"(members: {sorted(members)})"
            )
        raw = _read_member(archive, header_info, path, [None], "uint8", limit=MAX_HEADER_BYTES)
        header = decode_header(raw.tobytes(), path)
        entries = {entry["name"] + ".npy": entry for entry in header["arrays"]}
        unknown = sorted(name for name in members if name not in entries)
        missing = sorted(entry["name"] for name, entry in entries.items() if name not in members)
        if unknown or missing:
            raise CheckpointError(
                f"{path}: the archive's members do not match its header: unknown member(s) {unknown}, "
                f"missing member(s) {missing}"
            )
        # every member header before any member's data: a bad one late in the file costs no reading
        for name, entry in entries.items():
            _check_member_header(archive, members[name], path, entry["shape"], entry["dtype"])
        arrays = {
            entry["name"]: _read_member(archive, members[name], path, entry["shape"], entry["dtype"])
            for name, entry in entries.items()
        }
    return header, arrays


def _check_member_header(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    path: str,
    shape: list[int | None],
    dtype: str,
    limit: int | None = None,
) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """Read and check one member's ``.npy`` header (a few hundred bytes); return its shape, order, dtype.

    ``shape`` may hold None for "any length" (the header member's own length is not known in advance).
    """
    where = f"{path}: member {info.filename!r}"
    try:
        with archive.open(info) as stream:
            found_shape, fortran, found_dtype, offset = _npy_header(stream)
    except zipfile.BadZipFile as error:
        raise CheckpointError(f"{where} is corrupted: {error} (flipped bits or a damaged copy)") from None
    except (ValueError, EOFError) as error:
        raise CheckpointError(f"{where} has no valid .npy header ({error})") from None
    if found_dtype.hasobject or found_dtype.kind not in ALLOWED_DTYPE_KINDS:
        raise CheckpointError(
            f"{where} holds dtype {found_dtype} (Python objects, which only unpickling could read); "
            "tinyae never writes those and refuses to unpickle"
        )
    if found_dtype != np.dtype(dtype):
        raise CheckpointError(f"{where} has dtype {found_dtype}, the header says {dtype}")
    same_rank = len(found_shape) == len(shape)
    if not same_rank or any(s is not None and s != f for s, f in zip(shape, found_shape, strict=True)):
        claimed = tuple("?" if s is None else s for s in shape)
        raise CheckpointError(f"{where} has shape {found_shape}, the header says {claimed}")
    nbytes = nbytes_of({"shape": list(found_shape), "dtype": dtype})
    if limit is not None and nbytes > limit:
        raise CheckpointError(f"{where} claims {nbytes} bytes, more than the limit of {limit}")
    # the data must be exactly what is left of the member: checked before anything is allocated
    ratio = 1 if info.compress_type == zipfile.ZIP_STORED else _MAX_DEFLATE_RATIO
    if offset + nbytes != info.file_size or info.file_size > ratio * max(info.compress_size, 1):
        raise CheckpointError(
            f"{where} claims shape {found_shape} of {found_dtype} ({nbytes} bytes) but the member holds "
            f"{info.file_size - offset} data bytes; truncated or forged"
        )
    return found_shape, fortran, found_dtype


def _npy_header(stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    """The shape, Fortran order and dtype of a ``.npy`` stream, and where its data starts."""
    version = npy.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = npy.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = npy.read_array_header_2_0(stream)
    else:  # 3.0 only adds UTF-8 field names, which plain numeric arrays never need
        raise ValueError(f".npy format version {version} is not one tinyae writes")
    return tuple(int(n) for n in shape), bool(fortran), dtype, stream.tell()


def _read_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    path: str,
    shape: list[int | None],
    dtype: str,
    limit: int | None = None,
) -> np.ndarray:
    """Check one member's header, then read its data into an array of exactly the checked size."""
    found_shape, fortran, found_dtype = _check_member_header(archive, info, path, shape, dtype, limit)
    # raw bytes of exactly the checked size, filled in chunks; viewed as the dtype afterwards (no copy)
    raw = np.empty(nbytes_of({"shape": list(found_shape), "dtype": dtype}), dtype=np.uint8)
    where = f"{path}: member {info.filename!r}"
    try:
        with archive.open(info) as stream:
            _npy_header(stream)  # skip past the header, which was checked above
            filled = 0
            while filled < raw.size:
                chunk = stream.read(min(raw.size - filled, _CHUNK_BYTES))
                if not chunk:
                    raise CheckpointError(f"{where} ends after {filled} of {raw.size} data bytes")
                raw[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                filled += len(chunk)
            if stream.read(1):  # also reaches the end of the member, where zipfile checks the CRC
                raise CheckpointError(f"{where} has bytes after its data")
    except CheckpointError:
        raise
    except zipfile.BadZipFile as error:
        raise CheckpointError(f"{where} is corrupted: {error} (flipped bits or a damaged copy)") from None
    except (ValueError, EOFError) as error:
        raise CheckpointError(f"{where} could not be read ({error})") from None
    return raw.view(found_dtype).reshape(found_shape, order="F" if fortran else "C")
