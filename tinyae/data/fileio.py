"""Writing files so that a reader never sees half of one: temporary file, fsync, rename.

A crash, a full disk or Ctrl-C part-way through leaves either the old file or no file, never a partial
one, because the data only gets its real name (``os.replace``, atomic on POSIX and Windows) after it has
been flushed to disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "file_digests"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for writing; rename it to ``path`` when the block succeeds.

    On any exception (``KeyboardInterrupt`` included) the temporary file is deleted and the exception
    propagates; ``path`` is left as it was.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"hello")
    >>> target.read_bytes()
    b'hello'
    """
    target = Path(path)
    # Same folder as the target: os.replace is only atomic within one file system.  Not tempfile.mkstemp:
    # its files are private (0600), while this one becomes an ordinary file that the umask governs.
    temp_name = target.parent / f".{target.name}.{secrets.token_hex(6)}.part"
    fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); folders cannot be opened this way on Windows."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def file_digests(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> dict[str, str]:
    """The SHA-256 and MD5 hex digests of a file, read once in chunks.

    >>> import tempfile, pathlib
    >>> empty = pathlib.Path(tempfile.mkdtemp()) / "empty"
    >>> empty.write_bytes(b"")
    0
    >>> file_digests(empty)["md5"]
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            sha256.update(chunk)
            md5.update(chunk)
    return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest()}
