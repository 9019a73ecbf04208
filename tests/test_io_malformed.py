"""Checkpoints that must be refused, each with a CheckpointError naming the file and the problem: damaged
files, forged headers and sizes, files that are not files at all, and arguments that are not paths."""

from __future__ import annotations

import json
import os
import struct
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save as safetensors_bytes

from tests.test_train_standins import TinyAE
from tinyae import io
from tinyae.io import CheckpointError
from tinyae.io.container import DIGEST_KEY, HEADER_KEY
from tinyae.io.format import FORMAT_NAME, FORMAT_VERSION

W = np.arange(6, dtype=np.float32).reshape(2, 3)
DROP = object()


def header(names: list[Any], **changes: Any) -> dict[str, Any]:
    base = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": "state_dict", "arrays": names}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


def write_file(path: Path, arrays: dict[str, np.ndarray], content: dict[str, Any] | str | None) -> Path:
    """A safetensors file with ``content`` as tinyae's header (None: no tinyae metadata at all)."""
    metadata = None
    if content is not None:
        text = content if isinstance(content, str) else json.dumps(content)
        metadata = {HEADER_KEY: text, DIGEST_KEY: "0" * 64}
    path.write_bytes(safetensors_bytes(arrays, metadata=metadata))
    return path


def refused(path: Any, pattern: str) -> str:
    """Load ``path`` and return the CheckpointError's message, checking that it names the file."""
    with pytest.raises(CheckpointError, match=pattern) as caught:
        io.load(path)
    message = str(caught.value)
    assert message.startswith(os.fspath(path) + ":"), message
    return message


@pytest.fixture
def valid(tmp_path: Path) -> Path:
    path = tmp_path / "ok.safetensors"
    io.save_state_dict({"w": W}, path)
    return path


# --- files that are not whole -------------------------------------------------------------------------------


def test_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.safetensors").write_bytes(b"")
    refused(tmp_path / "e.safetensors", r"the file is empty \(0 bytes\)")


@pytest.mark.parametrize("keep", [3, 8, 60, -1], ids=["3-bytes", "8-bytes", "in-header", "last-byte"])
def test_a_truncated_file(keep: int, valid: Path) -> None:
    data = valid.read_bytes()
    valid.write_bytes(data[:keep])
    refused(valid, "too short|truncated")


def test_a_flipped_bit_in_the_data_fails_the_digest(tmp_path: Path) -> None:
    values = np.arange(50_000, dtype=np.float32)
    path = tmp_path / "flip.safetensors"
    io.save_state_dict({"w": values}, path)
    data = bytearray(path.read_bytes())
    data[data.find(values.tobytes()) + values.nbytes - 3] ^= 0x10  # a valid file with one wrong number
    path.write_bytes(bytes(data))
    refused(path, "SHA-256 of header and data does not match.*flipped bits")


def test_a_flipped_bit_in_the_tinyae_header_fails_too(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    io.save(TinyAE(), path)
    data = bytearray(path.read_bytes())
    data[data.find(b"TinyAE") + 1] ^= 0x01  # the class name, still valid JSON
    path.write_bytes(bytes(data))
    refused(path, "SHA-256 of header and data does not match")


def test_trailing_bytes(valid: Path) -> None:
    valid.write_bytes(valid.read_bytes() + b"xx")
    refused(valid, "not a readable safetensors file")


def test_a_plain_safetensors_file_without_our_header(tmp_path: Path) -> None:
    path = write_file(tmp_path / "plain.safetensors", {"w": W}, None)
    refused(path, "no tinyae header in the safetensors metadata")


def test_an_old_npz_checkpoint_is_named_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    with open(path, "wb") as f:
        np.savez(f, w=W)
    refused(path, "safetensors header claims .* bytes|not a readable safetensors")


# --- the header ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (header(["w"], version=1), "checkpoint format version 1; this tinyae reads version 2"),
        (header(["w"], version=DROP), "checkpoint format version None"),
        (header(["w"], format="other"), "not a tinyae checkpoint"),
        (header(["w"], kind="weights"), "unknown checkpoint kind 'weights'"),
        (header(["w"], extra=1), r"unknown field\(s\) \['extra'\]"),
        (header(["w"], kind="model"), r"missing field\(s\) \['backend', 'class', 'config'"),
        (header(["w", "w"]), r"repeats the name\(s\) \['w'\]"),
        (header(["a/b"]), "invalid array name 'a/b'"),
        (header([""]), "invalid array name '': it is empty"),
        (header([3]), "array names must be strings"),
        (header("w"), "field 'arrays' must be a list"),
        (header(["w"], kind="optimizer", **{"class": "Adam"}), r"missing field\(s\) \['hyperparameters'"),
        ("not json {", "the header is not valid JSON"),
        ('{"x": NaN}', "the header is not valid JSON"),
        ("[1, 2]", "the header is a JSON list"),
    ],
    ids=[
        "version",
        "no-version",
        "format",
        "kind",
        "unknown-field",
        "missing-field",
        "repeated-name",
        "slash",
        "empty-name",
        "int-name",
        "arrays-not-list",
        "optimizer-fields",
        "not-json",
        "nan",
        "not-object",
    ],
)
def test_a_bad_header(content: dict[str, Any] | str, pattern: str, tmp_path: Path) -> None:
    refused(write_file(tmp_path / "h.safetensors", {"w": W}, content), pattern)


def test_arrays_that_do_not_match_the_header(tmp_path: Path) -> None:
    path = write_file(tmp_path / "m.safetensors", {"w": W, "extra": W}, header(["w", "b"]))
    refused(path, r"do not match the header: unknown \['extra'\], missing \['b'\]")


def test_a_header_length_of_10_to_the_12_is_refused_before_reading(valid: Path) -> None:
    data = valid.read_bytes()
    valid.write_bytes(struct.pack("<Q", 10**12) + data[8:])
    refused(valid, r"header claims 1000000000000 bytes but the file has")


def test_a_large_header_is_refused_even_when_the_file_holds_it(tmp_path: Path) -> None:
    path = write_file(tmp_path / "big.safetensors", {"w": W}, header(["w"], pad="x" * (2 << 20)))
    refused(path, "more than the limit of 1048576")


def test_an_array_claiming_more_bytes_than_the_file_has_is_refused_without_allocating(tmp_path: Path) -> None:
    # rewrite the safetensors header by hand: shape 10**12 for a 24-byte array
    path = tmp_path / "forged.safetensors"
    write_file(path, {"w": W}, header(["w"]))
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8 : 8 + length])
    meta["w"]["shape"] = [10**12]
    text = json.dumps(meta).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length :])
    tracemalloc.start()
    try:
        refused(path, "not a readable safetensors file")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


# --- a config that asks for far more than the file holds ----------------------------------------------------


def test_a_forged_config_of_100000_by_100000_is_refused_before_building(tmp_path: Path) -> None:
    path = tmp_path / "ae.safetensors"
    model = TinyAE()
    io.save(model, path)
    header_, arrays = io.read_checkpoint(path)
    header_["config"]["n_in"] = header_["config"]["n_hidden"] = 100_000
    # a consistent forgery: the digest is recomputed, so only the size check stands in the way
    from tinyae.io.container import write_container

    del header_["arrays"]
    write_container(path, header_, arrays)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        refused(path, r"config asks for about 10000200000 values but the file stores 45.*into=model")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20 and time.perf_counter() - start < 5


def test_a_config_that_does_not_match_the_arrays_is_refused(tmp_path: Path) -> None:
    from tinyae.io.container import write_container

    path = tmp_path / "ae.safetensors"
    io.save(TinyAE(), path)
    header_, arrays = io.read_checkpoint(path)
    del header_["arrays"]
    header_["config"]["n_hidden"] = 5  # small enough to build: the shape comparison catches it
    write_container(path, header_, arrays)
    refused(path, "(?s)does not fit TinyAE.*size mismatch for encoder.weight")


def test_a_config_that_the_class_refuses(tmp_path: Path) -> None:
    from tinyae.io.container import write_container

    path = tmp_path / "ae.safetensors"
    io.save(TinyAE(), path)
    header_, arrays = io.read_checkpoint(path)
    del header_["arrays"]
    header_["config"]["colour"] = "red"
    write_container(path, header_, arrays)
    refused(path, r"cannot rebuild TinyAE\(\*\*config\)")


# --- things that are not checkpoint files -------------------------------------------------------------------


def test_a_fifo_is_named_and_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    refused(fifo, r"is a fifo \(named pipe\), not a checkpoint file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")
def test_dev_zero_is_named_as_a_device() -> None:
    refused("/dev/zero", "is a character device, not a checkpoint file")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="no /proc on this system")
def test_a_proc_file_is_named_for_what_it_is() -> None:
    refused("/proc/self/status", r"reports 0 bytes but has content \(like those in /proc")


def test_a_folder(tmp_path: Path) -> None:
    refused(tmp_path, "is a folder, not a checkpoint file")


def test_a_missing_file_is_the_file_systems_own_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "nothing.safetensors")


@pytest.mark.parametrize("function", [io.load, io.load_state_dict, io.read_checkpoint])
@pytest.mark.parametrize("argument", [12, None, b"bytes.safetensors", ""])
def test_an_argument_that_is_not_a_path_names_the_argument(function: Any, argument: Any) -> None:
    with pytest.raises(TypeError, match=r"\(path=\.\.\.\) (needs a|got an invalid path)"):
        function(argument)
