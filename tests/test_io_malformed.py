"""Checkpoints that must be refused, each with a CheckpointError naming the file and the problem, and saves
that are interrupted part-way, which must leave the previous checkpoint loadable and no temporary file."""

from __future__ import annotations

import io as stdio
import json
import os
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.lib import format as npy

from tests.test_train_standins import TinyAE
from tinyae import io
from tinyae.io import CheckpointError
from tinyae.io.format import FORMAT_NAME, FORMAT_VERSION, HEADER_MEMBER

W = np.arange(6, dtype=np.float32).reshape(2, 3)


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = stdio.BytesIO()
    npy.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npy_header_only(shape: tuple[int, ...], descr: str = "<f4", data: bytes = b"") -> bytes:
    """A .npy member whose header claims ``shape`` whatever the data that follows."""
    buffer = stdio.BytesIO()
    npy.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


def header(arrays: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    base = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": "state_dict", "arrays": arrays}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()


def header_member(content: dict[str, Any] | bytes) -> bytes:
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    return npy_bytes(np.frombuffer(raw, dtype=np.uint8))


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def entry(name: str = "w", shape: tuple[int, ...] = (2, 3), dtype: str = "float32") -> dict[str, Any]:
    return {"name": name, "shape": list(shape), "dtype": dtype}


def refused(path: Path, pattern: str) -> str:
    """Load ``path`` and return the CheckpointError's message, checking that it names the file."""
    with pytest.raises(CheckpointError, match=pattern) as caught:
        io.load(path)
    message = str(caught.value)
    assert message.startswith(str(path) + ":"), message
    return message


@pytest.fixture
def valid(tmp_path: Path) -> Path:
    path = tmp_path / "ok.npz"
    io.save_state_dict({"w": W}, path)
    return path


# --- files that are not whole -------------------------------------------------------------------------------


def test_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.npz").write_bytes(b"")
    refused(tmp_path / "e.npz", r"the file is empty \(0 bytes\)")


def test_a_truncated_file(valid: Path) -> None:
    data = valid.read_bytes()
    valid.write_bytes(data[: len(data) // 2])
    refused(valid, "not a readable .npz archive: truncated or corrupted")


@pytest.mark.parametrize("size", [6, 50_000], ids=["small", "large"])
def test_a_flipped_bit_fails_the_crc(size: int, tmp_path: Path) -> None:
    # small members are checked while their header is read (zipfile reads ahead), large ones at their end
    values = np.arange(size, dtype=np.float32)
    path = tmp_path / "flip.npz"
    io.save_state_dict({"w": values}, path)
    data = bytearray(path.read_bytes())
    data[data.find(values.tobytes()) + values.nbytes - 3] ^= 0x10
    path.write_bytes(bytes(data))
    refused(path, "member 'w.npy' is corrupted: Bad CRC-32.*flipped bits")


def test_a_flipped_bit_in_the_header_fails_too(valid: Path) -> None:
    data = bytearray(valid.read_bytes())
    data[data.find(b'"kind"') + 2] ^= 0x01
    valid.write_bytes(bytes(data))
    refused(valid, "'__header__.npy' is corrupted: Bad CRC-32")


def test_a_plain_npz_without_our_header(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    with open(path, "wb") as f:
        np.savez(f, w=W)
    refused(path, "no '__header__' member, so not a tinyae checkpoint")


# --- the header ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (header([entry()], version=2), "checkpoint format version 2; this tinyae reads version 1"),
        (header([entry()], version=DROP), "checkpoint format version None"),
        (header([entry()], format="other"), "not a tinyae checkpoint"),
        (header([entry()], kind="weights"), "unknown checkpoint kind 'weights'"),
        (header([entry()], extra=1), r"unknown field\(s\) \['extra'\]"),
        (header([entry()], kind="model"), r"missing field\(s\) \['backend', 'class', 'config'"),
        (header([entry(dtype="object")]), "dtype 'object'; checkpoints hold plain numbers only"),
        (header([entry(shape=(2, -3))]), r"invalid shape \[2, -3\]"),
        (header([entry(), entry()]), "repeats the name 'w'"),
        (header([{"name": "w"}]), "exactly 'name', 'shape' and 'dtype'"),
        (b"not json {", "the header is not valid UTF-8 JSON"),
        (b"[1, 2]", "the header is a JSON list"),
    ],
    ids=[
        "version",
        "no-version",
        "format",
        "kind",
        "unknown-field",
        "missing-field",
        "object-dtype",
        "negative-shape",
        "repeated-name",
        "bad-entry",
        "not-json",
        "not-object",
    ],
)
def test_a_bad_header(content: dict[str, Any] | bytes, pattern: str, tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "h.npz", {f"{HEADER_MEMBER}.npy": header_member(content), "w.npy": npy_bytes(W)}
    )
    refused(path, pattern)


def test_a_header_member_that_is_not_bytes(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "h.npz", {f"{HEADER_MEMBER}.npy": npy_bytes(np.zeros(3, dtype=np.float32))})
    refused(path, "'__header__.npy' has dtype float32, the header says uint8")


def test_a_huge_header_member_is_refused_before_reading(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "h.npz", {f"{HEADER_MEMBER}.npy": npy_header_only((1 << 30,), "|u1")})
    refused(path, "claims 1073741824 bytes, more than the limit")


# --- the members --------------------------------------------------------------------------------------------


def members(arrays: list[dict[str, Any]], **data: bytes) -> dict[str, bytes]:
    return {f"{HEADER_MEMBER}.npy": header_member(header(arrays)), **{f"{k}.npy": v for k, v in data.items()}}


def test_an_unknown_member(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "m.npz", members([entry()], w=npy_bytes(W), extra=npy_bytes(W)))
    refused(path, r"unknown member\(s\) \['extra.npy'\], missing member\(s\) \[\]")


def test_a_missing_member(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "m.npz", members([entry(), entry("b", (3,))], w=npy_bytes(W)))
    refused(path, r"unknown member\(s\) \[\], missing member\(s\) \['b'\]")


def test_a_member_of_another_shape(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "m.npz", members([entry()], w=npy_bytes(W.T.copy())))
    refused(path, r"member 'w.npy' has shape \(3, 2\), the header says \(2, 3\)")


def test_a_member_of_another_dtype(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "m.npz", members([entry()], w=npy_bytes(W.astype(np.float64))))
    refused(path, "member 'w.npy' has dtype float64, the header says float32")


def test_a_pickled_object_array_is_never_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    def no_unpickling(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the loader unpickled something")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    objects = np.array([{"evil": 1}, None], dtype=object)
    path = write_zip(
        tmp_path / "m.npz", members([entry(shape=(2,))], w=npy_bytes(objects, allow_pickle=True))
    )
    refused(path, "member 'w.npy' holds dtype object .*refuses to unpickle")


def test_a_claimed_shape_of_10_to_the_12_is_refused_before_allocating(tmp_path: Path) -> None:
    # header and member agree on the absurd shape; only the member's real size gives the lie away
    huge = (10**12,)
    path = write_zip(
        tmp_path / "m.npz", members([entry(shape=huge)], w=npy_header_only(huge, data=W.tobytes()))
    )
    tracemalloc.start()
    try:
        message = refused(path, r"claims shape \(1000000000000,\) of float32 \(4000000000000 bytes\)")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "truncated or forged" in message and peak < 1 << 20


def test_a_member_with_less_or_more_data_than_its_header_claims(tmp_path: Path) -> None:
    short = write_zip(
        tmp_path / "s.npz", members([entry()], w=npy_header_only((2, 3), data=W.tobytes()[:-4]))
    )
    refused(short, "holds 20 data bytes; truncated or forged")
    long = write_zip(
        tmp_path / "l.npz", members([entry()], w=npy_header_only((2, 3), data=W.tobytes() + b"xx"))
    )
    refused(long, "holds 26 data bytes; truncated or forged")


def test_a_member_that_is_not_npy(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "m.npz", members([entry()], w=b"just some bytes"))
    refused(path, "member 'w.npy' has no valid .npy header")


# --- interrupted saves --------------------------------------------------------------------------------------


@pytest.mark.parametrize("interruption", [OSError("No space left on device"), KeyboardInterrupt()])
def test_an_interrupted_save_keeps_the_previous_checkpoint(
    interruption: BaseException, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ae.npz"
    model = TinyAE(batch_norm=True)
    io.save(model, path)
    saved = model.encoder.weight.numpy().copy()
    model.encoder.weight.data = model.encoder.weight.data + 1.0

    real_write = npy.write_array
    calls = []

    def write_then_fail(file: Any, array: np.ndarray, *args: Any, **kwargs: Any) -> None:
        calls.append(array.shape)
        if len(calls) == 3:  # the header and one array are written, the next one half
            file.write(array.tobytes()[: array.nbytes // 2])
            raise interruption
        real_write(file, array, *args, **kwargs)

    monkeypatch.setattr(npy, "write_array", write_then_fail)
    with pytest.raises(type(interruption)):
        io.save(model, path)
    monkeypatch.undo()
    assert len(calls) == 3
    assert os.listdir(tmp_path) == ["ae.npz"]  # no temporary file left behind
    np.testing.assert_array_equal(io.load(path).encoder.weight.numpy(), saved)


def test_a_failed_rename_leaves_no_temporary_file(
    valid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any) -> None:
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        io.save_state_dict({"w": W + 1}, valid)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ok.npz"]
    np.testing.assert_array_equal(io.load_state_dict(valid)["w"], W)
