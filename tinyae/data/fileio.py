"""Writing files so that a reader never sees half of one: temporary file, fsync, rename.

A crash, a full disk or Ctrl-C part-way through leaves either the old file or no file, never a partial
one, because the data only gets its real name (``os.replace``, atomic on POSIX and Windows) after it has
been flushed to disk.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows: no flock, so stale temporary files are left alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["atomic_write", "file_digests", "remove_stale_temporaries", "special_kind", "temporary_name"]

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a fifo (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_kind(path: str | os.PathLike[str], follow: bool = False) -> str | None:
    """What ``path`` is when it exists and is not a regular file (``"a fifo (named pipe)"``), else None.

    Without ``follow`` a symbolic link is reported as one (a save would replace the link, not its target).
    """
    try:
        mode = (os.stat if follow else os.lstat)(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), None)


def temporary_name(target: Path) -> Path:
    """A short temporary name beside ``target``: ``.<16 hex of the name's hash>.<12 random hex>.part``.

    Short, so that a target name of up to 255 characters (``NAME_MAX``) still works; the hash ties the
    temporary file to its target, so the next save to the same place can find and remove leftovers.
    """
    return target.parent / f".{_tag(target)}.{secrets.token_hex(6)}.part"


def _tag(target: Path) -> str:
    return hashlib.sha256(os.fsencode(target.name)).hexdigest()[:16]


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that killed writes to ``target`` left behind; return what was removed.

    A writer holds an exclusive ``flock`` on its temporary file until it is renamed, so a file that can be
    locked belongs to a process that died (SIGKILL, power loss).  Where ``flock`` is missing (Windows)
    nothing is removed.
    """
    target = Path(target)
    if fcntl is None:
        return []
    patterns = (f".{_tag(target)}.*.part", f".{glob.escape(target.name)}.*.part")  # the second: tinyae < 0.3
    removed = []
    for pattern in patterns:
        for candidate in target.parent.glob(pattern):
            if _unlink_if_unlocked(candidate):
                removed.append(candidate)
    return removed


def _unlink_if_unlocked(candidate: Path) -> bool:
    try:
        fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False  # gone already, a symbolic link, or not ours to read
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # locked: a save in progress
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(candidate)
        return True
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for writing; rename it to ``path`` when the block succeeds.

    On any exception (``KeyboardInterrupt`` included) the temporary file is deleted and the exception
    propagates; ``path`` is left as it was.  Leftovers of earlier writes that were killed are removed
    first (:func:`remove_stale_temporaries`).  A ``path`` that exists and is not a regular file (a fifo, a
    device, a symbolic link, a folder) is refused with ``FileExistsError``, never replaced.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"hello")
    >>> target.read_bytes()
    b'hello'
    """
    target = Path(path)
    kind = special_kind(target)
    if kind is not None:
        raise FileExistsError(
            errno.EEXIST, f"{kind}; refusing to replace it with a regular file", os.fspath(target)
        )
    remove_stale_temporaries(target)
    # Same folder as the target: os.replace is only atomic within one file system.  Not tempfile.mkstemp:
    # its files are private (0600), while this one becomes an ordinary file that the umask governs.
    temp_name = temporary_name(target)
    fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # "in use" for remove_stale_temporaries
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            if fcntl is not None:  # rename before closing: the lock covers the file until it has its name
                os.replace(temp_name, target)
        if fcntl is None:  # Windows cannot rename an open file
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
