"""The one exception the dataset layer raises for bad, missing or unreachable data files."""

from __future__ import annotations

from os import PathLike

__all__ = ["DatasetError", "file_error"]


class DatasetError(ValueError):
    """A dataset file is missing, corrupted, truncated, of the wrong size, or could not be downloaded.

    The message always starts with the file it is about and names the field or check that failed, so
    that it can be acted on without a debugger:

    ``t10k-images-idx3-ubyte.gz: header field 'magic' is 0x00000802, expected 0x00000803 for an idx3
    ubyte file``
    """


def file_error(path: str | PathLike[str], message: str) -> DatasetError:
    """A :class:`DatasetError` whose message is ``"<path>: <message>"``."""
    return DatasetError(f"{path}: {message}")
