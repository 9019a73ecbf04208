"""Fuzzing the checkpoint loader: mutated files (bit flips, truncations, overwritten bytes, forged sizes)
give only ``CheckpointError`` or the exact saved values, never wrong numbers, never change a file, and
never allocate much more than the file's size plus the model it names (tracemalloc here; a hard address
space limit in a child process for the forged sizes)."""

from __future__ import annotations

import json
import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyae
from tests.memory_limit import HAS_RLIMIT, run_limited
from tests.test_train_standins import TinyAE
from tinyae import io, optim
from tinyae.io import CheckpointError
from tinyae.io.container import write_container


def checkpoint_bytes(folder: Path) -> tuple[bytes, dict[str, np.ndarray]]:
    tinyae.manual_seed(3)
    model = TinyAE(batch_norm=True)
    opt = optim.Adam(model.parameters())
    opt.zero_grad()
    model.loss(tinyae.tensor(np.random.default_rng(0).random((4, 6), dtype=np.float32)))[0].backward()
    opt.step()
    path = folder / "seed.safetensors"
    io.save(model, path, optimizer=opt)
    return path.read_bytes(), io.load_state_dict(path)


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, np.ndarray]]:
    return checkpoint_bytes(tmp_path_factory.mktemp("seed"))


def mutations() -> st.SearchStrategy[list[tuple[str, int, int]]]:
    """A few edits: ("flip", position, bit), ("cut", position, 0), ("set", position, byte),
    ("u64", position, value) writing a little-endian 64-bit size."""
    edit = st.one_of(
        st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(0, 7)),
        st.tuples(st.just("cut"), st.integers(0, 1 << 20), st.just(0)),
        st.tuples(st.just("set"), st.integers(0, 1 << 20), st.integers(0, 255)),
        st.tuples(
            st.just("u64"), st.integers(0, 1 << 20), st.sampled_from([0, 1, 2**31, 2**40, 2**63, 2**64 - 1])
        ),
    )
    return st.lists(edit, min_size=1, max_size=4)


def mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, position, value in edits:
        if not out:
            break
        at = position % len(out)
        if kind == "flip":
            out[at] ^= 1 << value
        elif kind == "cut":
            del out[at:]
        elif kind == "set":
            out[at] = value
        else:
            out[at : at + 8] = struct.pack("<Q", value)
    return bytes(out)


def load_checked(path: Path, expected: dict[str, np.ndarray], limit: int) -> None:
    """Load ``path``: a CheckpointError, or exactly ``expected``; memory under ``limit``; file unchanged."""
    before = path.read_bytes()
    listing = sorted(os.listdir(path.parent))
    tracemalloc.start()
    try:
        try:
            arrays = io.load_state_dict(path)
        except CheckpointError as error:
            assert str(error).startswith(str(path) + ":")
        else:
            assert list(arrays) == list(expected)
            for name, value in expected.items():
                np.testing.assert_array_equal(arrays[name], value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"loading a {len(before)}-byte file allocated {peak} bytes"
    assert path.read_bytes() == before and sorted(os.listdir(path.parent)) == listing


@given(edits=mutations())
def test_mutated_checkpoints_give_only_checkpoint_errors(
    original: tuple[bytes, dict[str, np.ndarray]], edits: list[tuple[str, int, int]], tmp_path: Path
) -> None:
    data, arrays = original
    path = tmp_path / f"m{abs(hash(tuple(edits))) % 10**9}.safetensors"
    path.write_bytes(mutate(data, edits))
    load_checked(path, arrays, limit=4 * len(data) + (1 << 20))
    path.unlink()


@given(position=st.integers(0, 1 << 16), bit=st.integers(0, 7))
def test_every_single_bit_flip_is_caught(
    original: tuple[bytes, dict[str, np.ndarray]], position: int, bit: int, tmp_path: Path
) -> None:
    data, _ = original
    flipped = bytearray(data)
    flipped[position % len(data)] ^= 1 << bit
    path = tmp_path / f"f{position}-{bit}.safetensors"
    path.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError):
        # safetensors pads its header with spaces; a flip there can leave valid JSON, caught by the digest
        io.load_state_dict(path)
    assert path.read_bytes() == bytes(flipped)
    path.unlink()


@given(
    shape=st.lists(st.integers(0, 2**40), min_size=1, max_size=3),
    dtype=st.sampled_from(["F32", "F64", "I64", "U8", "BOOL", "F16"]),
)
def test_forged_array_sizes_are_refused_without_allocating(
    original: tuple[bytes, dict[str, np.ndarray]], shape: list[int], dtype: str, tmp_path: Path
) -> None:
    data, arrays = original
    length = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8 : 8 + length])
    name = next(k for k in meta if k != "__metadata__")
    meta[name]["shape"], meta[name]["dtype"] = shape, dtype
    text = json.dumps(meta).encode()
    path = tmp_path / "forged.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length :])
    load_checked(path, arrays, limit=4 * len(data) + (1 << 20))


# --- a hard memory limit: a child process with RLIMIT_AS ---------------------------------------------------

CHILD_IMPORTS = """
import sys
import tinyae
from tests.test_train_standins import TinyAE  # registers the class
from tinyae import io
from tinyae.io import CheckpointError
"""
CHILD = """
for path in sys.argv[1:]:
    try:
        io.load(path)
    except CheckpointError as error:
        print("refused", path, str(error)[:60].replace("\\n", " "))
    else:
        print("loaded", path)
"""


@pytest.mark.skipif(not HAS_RLIMIT, reason="needs Linux /proc and RLIMIT_AS")
def test_forged_sizes_under_a_memory_limit(
    original: tuple[bytes, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    data, _ = original
    length = int.from_bytes(data[:8], "little")
    files = []
    # an array claiming 2**34 float32 values (64 GiB)
    meta = json.loads(data[8 : 8 + length])
    name = next(k for k in meta if k != "__metadata__")
    meta[name]["shape"] = [2**34]
    text = json.dumps(meta).encode()
    files.append(tmp_path / "array.safetensors")
    files[-1].write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length :])
    # a header length of 2**40
    files.append(tmp_path / "header.safetensors")
    files[-1].write_bytes(struct.pack("<Q", 2**40) + data[8:])
    # a consistent checkpoint (digest and all) whose config asks for 100,000 x 100,000
    (tmp_path / "seed.safetensors").write_bytes(data)
    header, arrays = io.read_checkpoint(tmp_path / "seed.safetensors")
    del header["arrays"]
    header["config"]["n_in"] = header["config"]["n_hidden"] = 100_000
    files.append(tmp_path / "config.safetensors")
    write_container(files[-1], header, arrays)
    # and the genuine file, which must load under the same limit
    files.append(tmp_path / "genuine.safetensors")
    files[-1].write_bytes(data)
    result = run_limited(CHILD_IMPORTS, CHILD, [str(f) for f in files])
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["refused", "refused", "refused", "loaded"], lines
