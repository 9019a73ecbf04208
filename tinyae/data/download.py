"""Downloading one file from a list of mirrors, verified, with nothing partial ever left behind.

The bytes are streamed into a temporary file in the destination folder while their SHA-256 and MD5 are
computed; only a complete transfer whose checksums match gets renamed to the real name.  A dropped
connection, a short body, a wrong checksum or Ctrl-C deletes the temporary file, and a folder created for
the download is removed again when nothing could be put in it.

What a server says is not trusted: a transfer stops as soon as it passes the expected size (or the size
announced, or :data:`MAX_BYTES` when neither is known) by more than one block, and as soon as it has taken
longer than its deadline, even when bytes keep trickling in.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from tinyae.data.errors import DatasetError, file_error
from tinyae.data.fileio import atomic_write, special_kind

__all__ = ["DEADLINE_S", "MAX_BYTES", "TIMEOUT_S", "download_file"]

TIMEOUT_S = 30.0  # seconds without data before a mirror counts as unreachable
DEADLINE_S = 900.0  # seconds one mirror may take in all (MNIST's largest file is 9.9 MB)
MAX_BYTES = 1 << 28  # the cap when neither the caller nor the server states a size
_CHUNK = 1 << 16


class _MirrorError(Exception):
    """One mirror did not deliver a verified copy; the next one gets a try."""


def download_file(
    urls: Sequence[str],
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    md5: str | None = None,
    size: int | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
) -> Path:
    """Download ``dest`` from the first of ``urls`` that delivers a complete, verified copy.

    Parameters
    ----------
    urls : sequence of str
        Full ``http(s)://`` addresses of the same file, tried in order.
    dest : path-like
        Where the file goes; its folder is created when missing.
    sha256, md5 : str, optional
        Expected hex digests; every one given must match.
    size : int, optional
        Expected size in bytes (also the progress bar's total when the server sends no length).
    timeout : float, optional
        Seconds to wait for a connection or for the next block of data; :data:`TIMEOUT_S` when None.
    deadline : float, optional
        Seconds one mirror may take for the whole transfer; :data:`DEADLINE_S` when None.

    Returns
    -------
    pathlib.Path
        ``dest``, now complete and verified.

    Raises
    ------
    DatasetError
        Naming the file and, for every mirror, why it failed.  ``dest`` is not created.

    Examples
    --------
    >>> download_file(["https://example.org/a.gz"], "cache/a.gz", sha256="...")  # doctest: +SKIP
    PosixPath('cache/a.gz')
    """
    if isinstance(urls, (str, bytes)) or not all(isinstance(url, str) for url in urls):
        raise TypeError(f"download_file(urls=...) needs a sequence of address strings, got {urls!r}")
    dest = Path(dest)
    if not urls:
        raise file_error(dest.name, "no download address is known for this file")
    kind = special_kind(dest)
    if kind is not None:
        raise file_error(dest, f"is {kind}; a download will not replace it")
    created = _missing_folders(dest.parent)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise file_error(dest.name, f"cannot create the folder {dest.parent} ({error.strerror})") from None
    failures = []
    limits = (TIMEOUT_S if timeout is None else timeout, DEADLINE_S if deadline is None else deadline)
    try:
        for url in urls:
            try:
                _fetch(url, dest, sha256, md5, size, *limits)
                return dest
            except _MirrorError as failure:
                failures.append(f"{url}: {failure}")
    finally:
        if not dest.exists():  # failed or interrupted: take back the folders made for it, when empty
            for folder in created:
                with contextlib.suppress(OSError):
                    folder.rmdir()
    raise DatasetError(
        f"{dest.name}: download failed from every mirror (nothing was written to {dest.parent}):\n    "
        + "\n    ".join(failures)
    )


def _missing_folders(folder: Path) -> list[Path]:
    """The folders from ``folder`` up that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def _fetch(
    url: str,
    dest: Path,
    sha256: str | None,
    md5: str | None,
    size: int | None,
    timeout: float,
    deadline: float,
) -> None:
    request = _request(url)
    digests = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False)}
    stop_at = time.monotonic() + deadline
    # atomic_write deletes its temporary file when anything below raises
    with atomic_write(dest) as out:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                announced = _content_length(response)
                if size is not None and announced is not None and announced != size:
                    raise _MirrorError(f"wrong size: the server announces {announced} bytes, expected {size}")
                expected = size if size is not None else announced
                limit = (expected if expected is not None else MAX_BYTES) + _CHUNK
                received = _copy(response, out, digests, dest.name, expected, limit, stop_at, deadline)
        except urllib.error.HTTPError as error:
            raise _MirrorError(f"HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise _MirrorError(f"unreachable ({error.reason})") from None
        except (ValueError, http.client.InvalidURL) as error:  # what _request could not foresee
            raise _MirrorError(f"malformed address ({error})") from None
        except (OSError, http.client.HTTPException) as error:
            raise _MirrorError(f"transfer failed ({error!r})") from None
        if announced is not None and received != announced:
            raise _MirrorError(f"interrupted: received {received} of the {announced} bytes announced")
        if size is not None and received != size:
            raise _MirrorError(f"wrong size: received {received} bytes, expected {size}")
        for name, expected_digest in (("sha256", sha256), ("md5", md5)):
            actual = digests[name].hexdigest()
            if expected_digest is not None and actual != expected_digest.lower():
                raise _MirrorError(f"checksum mismatch: {name} is {actual}, expected {expected_digest}")


def _request(url: str) -> urllib.request.Request:
    """A GET request for ``url``, or a :class:`_MirrorError` saying what is wrong with the address."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as error:
        raise _MirrorError(f"malformed address ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise _MirrorError("only http and https addresses are supported")
    if not parts.hostname or any(c.isspace() or not c.isprintable() for c in url):
        raise _MirrorError("malformed address (no host name, or a space or control character in it)")
    return urllib.request.Request(url, headers={"User-Agent": "tinyae-data"})


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _copy(
    response: http.client.HTTPResponse,
    out: BinaryIO,
    digests: dict[str, Any],
    name: str,
    total: int | None,
    limit: int,
    stop_at: float,
    deadline: float,
) -> int:
    """Stream the body into ``out``, hashing as it goes; return the number of bytes received.

    Stops with a :class:`_MirrorError` past ``limit`` bytes or past the monotonic time ``stop_at``.
    ``read1`` returns what has arrived instead of waiting for a full block, so a server that drips bytes
    is caught by the deadline (within one ``timeout``) rather than holding the read.
    """
    received = 0
    # disable=None: the bar shows on a terminal and stays out of logs and CI output
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=None) as bar:
        while True:
            try:
                chunk = response.read1(_CHUNK)
            except http.client.IncompleteRead as error:  # a chunked body cut short ends up here
                received += len(error.partial)
                raise _MirrorError(f"interrupted: the connection closed after {received} bytes") from None
            if not chunk:
                return received
            received += len(chunk)
            if received > limit:
                raise _MirrorError(
                    f"the server sent more than {limit} bytes, more than expected; stopped and discarded"
                )
            if time.monotonic() > stop_at:
                raise _MirrorError(
                    f"too slow: {received} bytes after the deadline of {deadline:g} s; stopped and discarded"
                )
            out.write(chunk)
            for digest in digests.values():
                digest.update(chunk)
            bar.update(len(chunk))
