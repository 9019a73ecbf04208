"""Reading and writing IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is a 4-byte magic number, then one big-endian uint32 size per dimension, then the values in
C order.  The magic number is two zero bytes, a data-type code (``0x08`` for unsigned bytes, the only type
these datasets use) and the number of dimensions: ``0x00000803`` for a stack of images, ``0x00000801``
for a vector of labels.  Files may be gzip-compressed; the reader looks at the bytes, not the file name.

Every check names the file and the field that failed, and a truncated or corrupted file always raises
:class:`~tinyae.data.errors.DatasetError`:

>>> import tempfile, pathlib, numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny-labels-idx1-ubyte.gz"
>>> write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
>>> read_idx(path, ndim=1)
array([3, 1, 4], dtype=uint8)
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np

from tinyae.data.errors import file_error
from tinyae.data.fileio import atomic_write, special_kind

__all__ = ["idx_shape", "read_idx", "write_idx"]

UBYTE = 0x08
_TYPE_NAMES = {
    0x08: "ubyte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_idx(
    path: str | os.PathLike[str],
    ndim: int | None = None,
    what: str = "data",
    shape: tuple[int | None, ...] | None = None,
) -> np.ndarray:
    """Read an unsigned-byte IDX file (raw or gzip) into a NumPy ``uint8`` array, checking everything.

    Parameters
    ----------
    path : path-like
        The file; gzip compression is detected from its first two bytes.
    ndim : int, optional
        The number of dimensions expected (3 for images, 1 for labels); checked against the magic number.
    what : str
        What the values are (``"pixel data"``, ``"label data"``), used in error messages.
    shape : tuple of int or None, optional
        The sizes expected (None: any), checked against the header before any data is read or
        decompressed, so that a small file claiming millions of images costs nothing.  Gives ``ndim``
        when that is not given.

    Returns
    -------
    numpy.ndarray
        A writable ``uint8`` array with the shape the header gives.

    Raises
    ------
    DatasetError
        When the file is missing, not IDX, not unsigned bytes, of another dimension count or shape,
        truncated, longer than its header says, or a corrupted gzip stream.  The message names the file
        and field.

    Examples
    --------
    >>> images = read_idx("t10k-images-idx3-ubyte.gz", ndim=3)  # doctest: +SKIP
    >>> images.shape  # doctest: +SKIP
    (10000, 28, 28)
    """
    if shape is not None:
        if ndim is not None and ndim != len(shape):
            raise ValueError(f"read_idx: ndim={ndim} but shape={shape} has {len(shape)} dimensions")
        ndim = len(shape)
    path = _regular_file(path)
    with open(path, "rb") as handle:
        compressed = handle.read(2) == _GZIP_MAGIC
        handle.seek(0)
        if not compressed:
            return _parse(path, handle, ndim, what, os.fstat(handle.fileno()).st_size, shape)
        with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
            return _parse(path, stream, ndim, what, None, shape)


def idx_shape(path: str | os.PathLike[str], ndim: int | None = None) -> tuple[int, ...]:
    """The shape an IDX file's header gives, reading (and decompressing) only the header's few bytes.

    For checking sizes against what is expected before reading any data; the same checks and errors as
    :func:`read_idx` for the magic number and the size fields.
    """
    path = _regular_file(path)
    with open(path, "rb") as handle:
        compressed = handle.read(2) == _GZIP_MAGIC
        handle.seek(0)
        if not compressed:
            return _header(path, handle, ndim)
        with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
            return _header(path, stream, ndim)


def _regular_file(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.is_file():
        kind = special_kind(path, follow=True)
        raise file_error(path, "file not found" if kind is None else f"is {kind}, not a regular file")
    return path


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write a ``uint8`` array as an IDX file, gzip-compressed when the name ends in ``.gz``.

    The file is written to a temporary name and renamed into place, so it is complete or absent.  The
    gzip header carries no time stamp, so the same array always gives the same bytes.

    >>> import tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x-idx2-ubyte"
    >>> write_idx(path, np.zeros((2, 3), dtype=np.uint8))
    >>> path.read_bytes()[:4].hex()
    '00000802'
    """
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"write_idx writes uint8 arrays only, got dtype {array.dtype}")
    if not 1 <= array.ndim <= 255 or max(array.shape) >= 2**32:
        raise ValueError(f"an IDX file holds 1 to 255 dimensions each below 2**32, got shape {array.shape}")
    header = bytes([0, 0, UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path = Path(path)
    with atomic_write(path) as handle:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as stream:
                stream.write(header)
                stream.write(np.ascontiguousarray(array).tobytes())
        else:
            handle.write(header)
            handle.write(np.ascontiguousarray(array).tobytes())


# --- parsing ------------------------------------------------------------------------------------------------


def _parse(
    path: Path,
    stream: _Readable,
    ndim: int | None,
    what: str,
    file_size: int | None,
    wanted: tuple[int | None, ...] | None,
) -> np.ndarray:
    shape = _header(path, stream, ndim)
    dims = len(shape)
    if wanted is not None:
        _check_sizes(path, shape, wanted)
    expected = math.prod(shape)

    # For an uncompressed file the size on disk settles it before reading, so a header that claims
    # terabytes is refused without trying to allocate them.
    if file_size is not None and file_size - 4 - 4 * dims < expected:
        found = file_size - 4 - 4 * dims
        raise file_error(
            path, f"truncated: expected {expected} bytes of {what} for shape {shape}, found {found}"
        )

    # Read one byte more than needed: finding it means the file is longer than its header says.  For gzip
    # this also reaches the end of the stream, where the CRC and length trailer get checked.
    data, stream_ended_early = _read(path, stream, expected + 1)
    if len(data) < expected:
        how = "the compressed stream ends early: " if stream_ended_early else ""
        raise file_error(
            path, f"truncated: {how}expected {expected} bytes of {what} for shape {shape}, found {len(data)}"
        )
    if len(data) > expected:
        raise file_error(
            path,
            f"longer than its header says: more than the {expected} bytes of {what} that the "
            f"header field 'sizes' {shape} describes",
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _header(path: Path, stream: _Readable, ndim: int | None) -> tuple[int, ...]:
    """Read and check the magic number and the size fields; return the shape."""
    magic_bytes, _ = _read(path, stream, 4)
    if not magic_bytes:
        raise file_error(path, "the file is empty")
    if len(magic_bytes) < 4:
        raise file_error(path, f"truncated: header field 'magic' needs 4 bytes, found {len(magic_bytes)}")
    _check_magic(path, magic_bytes, ndim)
    dims = magic_bytes[3]
    size_bytes, _ = _read(path, stream, 4 * dims)
    if len(size_bytes) < 4 * dims:
        raise file_error(
            path,
            f"truncated: header field 'sizes' needs {4 * dims} bytes for {dims} dimensions, "
            f"found {len(size_bytes)}",
        )
    return tuple(struct.unpack(f">{dims}I", size_bytes))


def _check_sizes(path: Path, shape: tuple[int, ...], wanted: tuple[int | None, ...]) -> None:
    """The header's sizes against the expected ones, before a byte of data is read or decompressed."""
    names = ("count", "rows", "columns") if len(shape) <= 3 else tuple(f"size {i}" for i in range(len(shape)))
    for name, found, expected in zip(names[: len(shape)], shape, wanted, strict=True):
        if expected is not None and found != expected:
            raise file_error(
                path, f"header field '{name}' is {found}, expected {expected}; not the file it should be"
            )


def _check_magic(path: Path, magic_bytes: bytes | bytearray, ndim: int | None) -> None:
    magic = int.from_bytes(magic_bytes, "big")
    code, dims = magic_bytes[2], magic_bytes[3]
    if ndim is not None:
        wanted = f"expected 0x{UBYTE << 8 | ndim:08X} for an idx{ndim} ubyte file"
    else:
        wanted = "expected 0x000008NN (an unsigned-byte IDX file with NN dimensions)"
    reason = ""
    if magic_bytes[:2] != b"\0\0":
        reason = "; this is not an IDX file (its first two bytes must be zero)"
    elif code != UBYTE:
        type_name = _TYPE_NAMES.get(code, "an unknown type")
        reason = f"; data type code 0x{code:02X} is {type_name}, only ubyte (0x08) is supported"
    elif ndim is not None and dims != ndim:
        reason = f"; this file has {dims} dimensions, not {ndim}"
    elif dims == 0:
        reason = "; an IDX file needs at least one dimension"
    if reason:
        raise file_error(path, f"header field 'magic' is 0x{magic:08X}, {wanted}{reason}")


def _read(path: Path, stream: _Readable, size: int) -> tuple[bytearray, bool]:
    """Up to ``size`` bytes, in chunks (memory grows with what is really there, not what a header claims).

    Returns the bytes and whether a gzip stream ended before its end-of-stream marker.
    """
    data = bytearray()
    while len(data) < size:
        try:
            chunk = stream.read(min(_CHUNK, size - len(data)))
        except EOFError:  # gzip: "Compressed file ended before the end-of-stream marker was reached"
            return data, True
        except (gzip.BadGzipFile, zlib.error, OSError) as error:
            raise file_error(path, f"the gzip stream is corrupted ({error})") from None
        if not chunk:
            break
        data += chunk
    return data, False
