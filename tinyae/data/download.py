"""Downloading one file from a list of mirrors, verified, with nothing partial ever left behind.

The bytes are streamed into a temporary file in the destination folder while their SHA-256 and MD5 are
computed; only a complete transfer whose checksums match gets renamed to the real name.  A dropped
connection, a short body, a wrong checksum or Ctrl-C deletes the temporary file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from tinyae.data.errors import DatasetError, file_error
from tinyae.data.fileio import atomic_write

__all__ = ["TIMEOUT_S", "download_file"]

TIMEOUT_S = 30.0  # seconds without data before a mirror counts as unreachable
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
    dest = Path(dest)
    if not urls:
        raise file_error(dest.name, "no download address is known for this file")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise file_error(dest.name, f"cannot create the folder {dest.parent} ({error.strerror})") from None
    failures = []
    for url in urls:
        try:
            _fetch(url, dest, sha256, md5, size, TIMEOUT_S if timeout is None else timeout)
            return dest
        except _MirrorError as failure:
            failures.append(f"{url}: {failure}")
    raise DatasetError(
        f"{dest.name}: download failed from every mirror (nothing was written to {dest.parent}):\n    "
        + "\n    ".join(failures)
    )


def _fetch(
    url: str, dest: Path, sha256: str | None, md5: str | None, size: int | None, timeout: float
) -> None:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise _MirrorError("only http and https addresses are supported")
    request = urllib.request.Request(url, headers={"User-Agent": "tinyae-data"})
    digests = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False)}
    # atomic_write deletes its temporary file when anything below raises
    with atomic_write(dest) as out:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                announced = _content_length(response)
                received = _copy(response, out, digests, dest.name, announced or size)
        except urllib.error.HTTPError as error:
            raise _MirrorError(f"HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise _MirrorError(f"unreachable ({error.reason})") from None
        except (OSError, http.client.HTTPException) as error:
            raise _MirrorError(f"transfer failed ({error!r})") from None
        if announced is not None and received != announced:
            raise _MirrorError(f"interrupted: received {received} of the {announced} bytes announced")
        if size is not None and received != size:
            raise _MirrorError(f"wrong size: received {received} bytes, expected {size}")
        for name, expected in (("sha256", sha256), ("md5", md5)):
            actual = digests[name].hexdigest()
            if expected is not None and actual != expected.lower():
                raise _MirrorError(f"checksum mismatch: {name} is {actual}, expected {expected}")


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _copy(
    response: http.client.HTTPResponse, out: BinaryIO, digests: dict[str, Any], name: str, total: int | None
) -> int:
    """Stream the body into ``out``, hashing as it goes; return the number of bytes received."""
    received = 0
    # disable=None: the bar shows on a terminal and stays out of logs and CI output
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=None) as bar:
        while True:
            try:
                chunk = response.read(_CHUNK)
            except http.client.IncompleteRead as error:  # a chunked body cut short ends up here
                received += len(error.partial)
                raise _MirrorError(f"interrupted: the connection closed after {received} bytes") from None
            if not chunk:
                return received
            out.write(chunk)
            for digest in digests.values():
                digest.update(chunk)
            received += len(chunk)
            bar.update(len(chunk))
