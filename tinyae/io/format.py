"""The checkpoint header: what a file claims to hold, written as JSON and checked before any data is read.

A checkpoint is a `safetensors <https://huggingface.co/docs/safetensors>`_ file: named arrays behind a
bounded JSON header, no code.  tinyae keeps its own header as JSON text in the safetensors metadata,
under the key ``"tinyae"``::

    {"format": "tinyae-checkpoint", "version": 2, "kind": "model",
     "class": "Autoencoder", "module": "tinyae.models.autoencoder",
     "config": {"sizes": [784, 64], ..., "dtype": "float32", "backend": "numpy"},
     "dtype": "float32", "backend": "numpy", "optimizer": null,
     "arrays": ["encoder.0.linear.weight", ...]}

``kind`` is ``"model"``, ``"optimizer"`` (with ``class``, ``num_parameters``, ``hyperparameters`` and
``scalars``, the integer step counts) or ``"state_dict"`` (bare named arrays).  A model may carry its
optimizer: then ``optimizer`` holds those four fields and the optimizer's arrays are stored under
``"optimizer/<name>"``.  ``arrays`` lists the names in the order they were saved.  A SHA-256 of the header
and every array (metadata key ``"tinyae.sha256"``) catches flipped bits, which safetensors alone does not.

>>> header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": "state_dict", "arrays": ["w"]}
>>> check_header(header, "demo.safetensors")["arrays"]
['w']
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "KINDS",
    "MAX_HEADER_BYTES",
    "OPTIMIZER_PREFIX",
    "CheckpointError",
    "check_header",
    "check_name",
    "decode_header",
    "encode_header",
]

FORMAT_NAME = "tinyae-checkpoint"
FORMAT_VERSION = 2  # 1 was the .npz container, which this version no longer reads
MAX_HEADER_BYTES = 1 << 20  # a header is a few kilobytes; more means a corrupt or hostile file
MAX_NAME_CHARS = 1024
KINDS = ("model", "optimizer", "state_dict")
OPTIMIZER_PREFIX = "optimizer/"  # where a model checkpoint keeps its optimizer's arrays

_COMMON = {"format", "version", "kind", "arrays"}
_OPTIMIZER_FIELDS = {"class", "num_parameters", "hyperparameters", "scalars"}
_FIELDS = {
    "model": _COMMON | {"class", "module", "config", "dtype", "backend", "optimizer"},
    "optimizer": _COMMON | _OPTIMIZER_FIELDS,
    "state_dict": _COMMON,
}


class CheckpointError(ValueError):
    """A checkpoint file is malformed, corrupted, or does not fit what it is loaded into.

    The message names the file and what is wrong with it.
    """


def check_name(name: Any, path: str, prefix_ok: bool = False) -> str:
    """``name`` if it can be an array's name in a checkpoint, else a CheckpointError saying why.

    Names are non-empty strings of printable characters without ``/`` (reserved for the optimizer's
    arrays in a model checkpoint, ``"optimizer/0.exp_avg"``, when ``prefix_ok``).
    """
    if not isinstance(name, str):
        raise CheckpointError(f"{path}: array names must be strings, got {type(name).__name__} {name!r}")
    plain = name[len(OPTIMIZER_PREFIX) :] if prefix_ok and name.startswith(OPTIMIZER_PREFIX) else name
    reason = ""
    if not plain:
        reason = "it is empty"
    elif len(name) > MAX_NAME_CHARS:
        reason = f"it has {len(name)} characters, more than {MAX_NAME_CHARS}"
    elif "/" in plain:
        reason = "'/' is reserved (the optimizer's arrays are stored as 'optimizer/<name>')"
    elif not name.isprintable():
        reason = "it holds a control character (NUL, newline, ...)"
    elif name == "__metadata__":
        reason = "safetensors reserves that name"
    if reason:
        raise CheckpointError(f"{path}: invalid array name {name!r}: {reason}")
    return name


def encode_header(header: dict[str, Any]) -> str:
    """The header as compact JSON text (``TypeError`` naming the field that JSON cannot hold)."""
    for field, value in header.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise TypeError(f"checkpoint header field {field!r} is not JSON-serialisable: {error}") from None
    return json.dumps(header, allow_nan=False, separators=(",", ":"))


def decode_header(text: Any, path: str) -> dict[str, Any]:
    """Parse the header's JSON text and check it with :func:`check_header`."""
    if not isinstance(text, str):
        raise CheckpointError(
            f"{path}: no tinyae header in the safetensors metadata, so not a tinyae checkpoint"
        )
    try:
        header = json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, RecursionError, ValueError) as error:
        raise CheckpointError(f"{path}: the header is not valid JSON ({error})") from None
    return check_header(header, path)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def check_header(header: Any, path: str) -> dict[str, Any]:
    """``header`` unchanged if it is a well-formed header of this format version, else a CheckpointError.

    Checks the format name and version first (so that a file from another version gets that message and
    not a confusing one about fields), then the fields of its kind, then the array names.
    """
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the header is a JSON {type(header).__name__}, not an object")
    if header.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path}: not a tinyae checkpoint (header format {header.get('format')!r}, "
            f"expected {FORMAT_NAME!r})"
        )
    version = header.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r}; this tinyae reads version {FORMAT_VERSION}"
        )
    kind = header.get("kind")
    if kind not in KINDS:
        raise CheckpointError(f"{path}: unknown checkpoint kind {kind!r}; expected one of {list(KINDS)}")
    _check_fields(header, _FIELDS[kind], f"{path}: {kind} header")
    _check_arrays(header["arrays"], path, prefix_ok=kind == "model")
    if kind == "model":
        _check_type(header, "class", str, path)
        _check_type(header, "module", str, path)
        _check_type(header, "config", (dict, type(None)), path)
        _check_type(header, "dtype", (str, type(None)), path)
        _check_type(header, "backend", (str, type(None)), path)
        _check_type(header, "optimizer", (dict, type(None)), path)
        if header["optimizer"] is not None:
            _check_optimizer(header["optimizer"], f"{path}: header field 'optimizer'", nested=True)
    elif kind == "optimizer":
        _check_optimizer(header, f"{path}: header", nested=False)
    return header


def _check_fields(header: dict[str, Any], expected: set[str], where: str) -> None:
    missing = sorted(expected - header.keys())
    unknown = sorted(header.keys() - expected)
    if missing or unknown:
        raise CheckpointError(f"{where} has missing field(s) {missing} and unknown field(s) {unknown}")


def _check_optimizer(fields: dict[str, Any], where: str, nested: bool) -> None:
    if nested:
        _check_fields(fields, _OPTIMIZER_FIELDS, where)
    for field, kinds in (
        ("class", str),
        ("num_parameters", int),
        ("hyperparameters", dict),
        ("scalars", dict),
    ):
        _check_type(fields, field, kinds, where)
    if fields["num_parameters"] < 0:
        raise CheckpointError(f"{where}: num_parameters is negative ({fields['num_parameters']})")
    bad = [k for k, v in fields["scalars"].items() if not _is_int(v)]
    if bad:
        raise CheckpointError(f"{where}: scalars {bad} are not integers")


def _check_arrays(names: Any, path: str, prefix_ok: bool) -> None:
    if not isinstance(names, list):
        raise CheckpointError(f"{path}: header field 'arrays' must be a list, got {type(names).__name__}")
    for name in names:
        check_name(name, path, prefix_ok)
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise CheckpointError(f"{path}: header field 'arrays' repeats the name(s) {repeated}")


def _check_type(header: dict[str, Any], field: str, kinds: Any, where: str) -> None:
    value = header[field]
    if (isinstance(value, bool) and kinds is int) or not isinstance(value, kinds):
        raise CheckpointError(f"{where}: field {field!r} has the wrong type ({type(value).__name__})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
