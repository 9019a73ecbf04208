"""Checking that a file is a real PNG image, with the standard library only (no Pillow, no matplotlib)."""

from __future__ import annotations

import os
import struct
import zlib

__all__ = ["check_png"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# every PNG ends with an empty IEND chunk: length 0, type, CRC-32 of the type
IEND = struct.pack(">I4sI", 0, b"IEND", zlib.crc32(b"IEND"))


def check_png(path: str | os.PathLike[str], min_size: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """The ``(width, height)`` of a PNG file; a ValueError unless it is a whole PNG of at least ``min_size``.

    Checks the 8-byte signature, that the first chunk is a well-formed IHDR (length 13, valid CRC, non-zero
    size, a legal bit depth and colour type) and that the file ends with the IEND chunk, which catches a
    file cut short.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tinyae.plots import image_grid
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grid.png"
    >>> _ = image_grid([[0.0, 1.0, 1.0, 0.0]], 1, 1, image_shape=(2, 2), path=path)
    >>> check_png(path, min_size=(50, 50))
    (100, 100)
    """
    name = os.fspath(path)
    with open(name, "rb") as handle:
        head = handle.read(33)  # signature (8) + IHDR chunk: length (4), type (4), data (13), CRC (4)
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(size - len(IEND), 0))
        tail = handle.read()
    if len(head) < 33 or head[:8] != SIGNATURE:
        raise ValueError(f"{name} is not a PNG file (no PNG signature)")
    length, kind = struct.unpack(">I4s", head[8:16])
    data, (crc,) = head[16:29], struct.unpack(">I", head[29:33])
    if length != 13 or kind != b"IHDR":
        raise ValueError(f"{name}: the first PNG chunk is {kind!r} of length {length}, not IHDR of length 13")
    if zlib.crc32(kind + data) != crc:
        raise ValueError(f"{name}: the IHDR chunk fails its CRC check (a damaged file)")
    width, height, depth, colour = struct.unpack(">IIBB", data[:10])
    legal_depths = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
    if width == 0 or height == 0 or depth not in legal_depths.get(colour, ()):
        raise ValueError(
            f"{name}: invalid IHDR ({width} x {height}, bit depth {depth}, colour type {colour})"
        )
    if tail != IEND:
        raise ValueError(f"{name}: the PNG does not end with an IEND chunk (a truncated file)")
    min_width, min_height = min_size
    if width < min_width or height < min_height:
        raise ValueError(
            f"{name} is {width} x {height} pixels, smaller than the {min_width} x {min_height} wanted"
        )
    return width, height
