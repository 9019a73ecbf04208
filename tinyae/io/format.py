"""The checkpoint header: what a file claims to hold, written as JSON and checked before any data is read.

A checkpoint is an ``.npz`` archive (a zip of ``.npy`` members) with one extra member, ``__header__``: a
uint8 array holding UTF-8 JSON such as::

    {"format": "tinyae-checkpoint", "version": 1, "kind": "model",
     "class": "Autoencoder", "module": "tinyae.models.autoencoder",
     "config": {"sizes": [784, 64], ..., "dtype": "float32", "backend": "numpy"},
     "dtype": "float32", "backend": "numpy",
     "arrays": [{"name": "encoder.0.linear.weight", "shape": [784, 64], "dtype": "float32"}, ...]}

``kind`` is ``"model"``, ``"optimizer"`` (which adds ``num_parameters``, ``hyperparameters`` and
``scalars``, the integer step counts) or ``"state_dict"`` (bare named arrays).  The loader reads this
header first and refuses the file unless every field is present, known and well-formed; then it compares
each member against its entry in ``arrays``.

>>> header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": "state_dict",
...           "arrays": [{"name": "w", "shape": [2, 3], "dtype": "float32"}]}
>>> check_header(header, "demo.npz")["arrays"][0]["shape"]
[2, 3]
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = [
    "ALLOWED_DTYPE_KINDS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HEADER_MEMBER",
    "KINDS",
    "MAX_HEADER_BYTES",
    "CheckpointError",
    "array_entry",
    "check_header",
    "decode_header",
    "encode_header",
    "nbytes_of",
]

FORMAT_NAME = "tinyae-checkpoint"
FORMAT_VERSION = 1
HEADER_MEMBER = "__header__"
MAX_HEADER_BYTES = 1 << 20  # a header is a few kilobytes; more means a corrupt or hostile file
KINDS = ("model", "optimizer", "state_dict")
# booleans, signed and unsigned integers, floats, complex: plain numbers only, never objects or strings
ALLOWED_DTYPE_KINDS = "biufc"

# the fields each kind of header has (all required, no others allowed)
_COMMON = {"format", "version", "kind", "arrays"}
_FIELDS = {
    "model": _COMMON | {"class", "module", "config", "dtype", "backend"},
    "optimizer": _COMMON | {"class", "num_parameters", "hyperparameters", "scalars"},
    "state_dict": _COMMON,
}


class CheckpointError(ValueError):
    """A checkpoint file is malformed, corrupted, or does not fit what it is loaded into.

    The message names the file and what is wrong with it.
    """


def array_entry(name: str, array: np.ndarray) -> dict[str, Any]:
    """The header's description of one array: ``{"name", "shape", "dtype"}``."""
    return {"name": name, "shape": [int(n) for n in array.shape], "dtype": array.dtype.name}


def encode_header(header: dict[str, Any]) -> np.ndarray:
    """The header as a uint8 array of UTF-8 JSON (``TypeError`` naming the field that JSON cannot hold)."""
    for field, value in header.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise TypeError(f"checkpoint header field {field!r} is not JSON-serialisable: {error}") from None
    text = json.dumps(header, allow_nan=False, separators=(",", ":"))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def decode_header(raw: bytes, path: str) -> dict[str, Any]:
    """Parse the header's bytes and check them with :func:`check_header`."""
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: the header is not valid UTF-8 JSON ({error})") from None
    return check_header(header, path)


def check_header(header: Any, path: str) -> dict[str, Any]:
    """``header`` unchanged if it is a well-formed header of this format version, else a CheckpointError.

    Checks the format name and version first (so that a file from another version gets that message and
    not a confusing one about fields), then the fields of its kind, then each array entry.
    """
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the header is a JSON {type(header).__name__}, not an object")
    if header.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path}: not a tinyae checkpoint (header format {header.get('format')!r}, "
            f"expected {FORMAT_NAME!r})"
        )
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r}; this tinyae reads version {FORMAT_VERSION}"
        )
    kind = header.get("kind")
    if kind not in KINDS:
        raise CheckpointError(f"{path}: unknown checkpoint kind {kind!r}; expected one of {list(KINDS)}")
    expected = _FIELDS[kind]
    missing = sorted(expected - header.keys())
    unknown = sorted(header.keys() - expected)
    if missing or unknown:
        raise CheckpointError(
            f"{path}: {kind} header has missing field(s) {missing} and unknown field(s) {unknown}"
        )
    _check_arrays(header["arrays"], path)
    if kind == "model":
        _check_type(header, "class", str, path)
        _check_type(header, "module", str, path)
        _check_type(header, "config", (dict, type(None)), path)
        _check_type(header, "dtype", (str, type(None)), path)
        _check_type(header, "backend", (str, type(None)), path)
    elif kind == "optimizer":
        _check_type(header, "class", str, path)
        _check_type(header, "num_parameters", int, path)
        _check_type(header, "hyperparameters", dict, path)
        _check_type(header, "scalars", dict, path)
        bad = [k for k, v in header["scalars"].items() if not _is_int(v)]
        if bad:
            raise CheckpointError(f"{path}: header scalars {bad} are not integers")
    return header


def _check_arrays(entries: Any, path: str) -> None:
    if not isinstance(entries, list):
        raise CheckpointError(f"{path}: header field 'arrays' must be a list, got {type(entries).__name__}")
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{path}: header arrays[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"name", "shape", "dtype"}:
            raise CheckpointError(f"{where} must be an object with exactly 'name', 'shape' and 'dtype'")
        name, shape, dtype = entry["name"], entry["shape"], entry["dtype"]
        if not isinstance(name, str) or not name or name == HEADER_MEMBER or "/" in name:
            raise CheckpointError(f"{where} has an invalid name {name!r}")
        if name in seen:
            raise CheckpointError(f"{where} repeats the name {name!r}")
        seen.add(name)
        if not isinstance(shape, list) or not all(_is_int(n) and n >= 0 for n in shape):
            raise CheckpointError(f"{where} ({name!r}) has an invalid shape {shape!r}")
        if not isinstance(dtype, str) or not _numeric_dtype(dtype):
            raise CheckpointError(
                f"{where} ({name!r}) has dtype {dtype!r}; checkpoints hold plain numbers only "
                "(bool, int, uint, float, complex), never Python objects"
            )


def _numeric_dtype(name: str) -> bool:
    try:
        dtype = np.dtype(name)
    except TypeError:
        return False
    return dtype.kind in ALLOWED_DTYPE_KINDS and not dtype.hasobject


def _check_type(header: dict[str, Any], field: str, kinds: Any, path: str) -> None:
    value = header[field]
    if (isinstance(value, bool) and kinds is int) or not isinstance(value, kinds):
        raise CheckpointError(f"{path}: header field {field!r} has the wrong type ({type(value).__name__})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def nbytes_of(entry: dict[str, Any]) -> int:
    """The number of data bytes an array entry claims (Python ints: no overflow for absurd shapes)."""
    return math.prod(entry["shape"]) * np.dtype(entry["dtype"]).itemsize
