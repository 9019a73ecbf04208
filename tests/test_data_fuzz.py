"""Fuzzing the IDX reader: mutated files (bit flips, truncations, overwritten bytes, forged sizes), raw and
gzip, give only ``DatasetError`` or the exact array, never change the file, and never allocate much more
than the expected data (tracemalloc here; a hard address space limit in a child process for forged sizes)."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.memory_limit import HAS_RLIMIT, run_limited
from tinyae.data import DatasetError, read_idx

IMAGES = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
RAW = bytes([0, 0, 8, 3]) + struct.pack(">3I", *IMAGES.shape) + IMAGES.tobytes()
GZ = gzip.compress(RAW, mtime=0)


def edits() -> st.SearchStrategy[list[tuple[str, int, int]]]:
    edit = st.one_of(
        st.tuples(st.just("flip"), st.integers(0, 1 << 16), st.integers(0, 7)),
        st.tuples(st.just("cut"), st.integers(0, 1 << 16), st.just(0)),
        st.tuples(
            st.just("size"), st.integers(0, 2), st.sampled_from([0, 1, 21, 60_000, 3_000_000, 2**32 - 1])
        ),
    )
    return st.lists(edit, min_size=1, max_size=3)


def mutate(data: bytes, changes: list[tuple[str, int, int]], compressed: bool) -> bytes:
    """Flips and cuts act on the bytes as stored; "size" forges a header size field before compressing."""
    raw = bytearray(RAW)
    for kind, field, value in changes:
        if kind == "size":
            raw[4 + 4 * field : 8 + 4 * field] = struct.pack(">I", value)
    out = bytearray(gzip.compress(bytes(raw), mtime=0) if compressed else raw)
    for kind, position, value in changes:
        if not out:
            break
        if kind == "flip":
            out[position % len(out)] ^= 1 << value
        elif kind == "cut":
            del out[position % len(out) :]
    return bytes(out)


def read_checked(path: Path, shape: tuple[int | None, ...] | None, exact: bool = True) -> None:
    """Read ``path``: a DatasetError or (when ``exact``) the original pixels; bounded memory; file unchanged.

    A raw file has no checksum, so a flipped pixel reads as another value: ``exact`` is for gzip files,
    whose CRC catches every flip (the MNIST loader checks raw files against published checksums).
    """
    before = path.read_bytes()
    tracemalloc.start()
    try:
        try:
            array = read_idx(path, ndim=3, what="pixel data", shape=shape)
        except DatasetError as error:
            assert str(error).startswith(str(path) + ":")
        else:
            assert array.shape == IMAGES.shape and array.dtype == np.uint8
            if exact:
                np.testing.assert_array_equal(array, IMAGES)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * IMAGES.nbytes + (2 << 20), f"reading a {len(before)}-byte file allocated {peak} bytes"
    assert path.read_bytes() == before


@given(changes=edits(), compressed=st.booleans(), expected=st.booleans())
def test_mutated_idx_files_give_only_dataset_errors(
    changes: list[tuple[str, int, int]], compressed: bool, expected: bool, tmp_path: Path
) -> None:
    path = tmp_path / ("x-idx3-ubyte.gz" if compressed else "x-idx3-ubyte")
    data = mutate(RAW, changes, compressed)
    path.write_bytes(data)
    # with an expected shape the reader refuses forged counts before decompressing; without one, memory
    # still only grows with the data really there
    read_checked(path, (20, 28, 28) if expected else None, exact=compressed)


@given(position=st.integers(0, len(GZ) - 1), bit=st.integers(0, 7))
def test_a_bit_flip_in_a_gzip_idx_file_never_gives_wrong_pixels(
    position: int, bit: int, tmp_path: Path
) -> None:
    flipped = bytearray(GZ)
    flipped[position] ^= 1 << bit
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(bytes(flipped))
    read_checked(path, (20, 28, 28))


CHILD_IMPORTS = """
import sys
from tinyae.data import DatasetError, read_idx
"""
CHILD = """
for path in sys.argv[1:]:
    try:
        read_idx(path, what="pixel data", shape=(60000, 28, 28))
    except DatasetError as error:
        print("refused", str(error).split(": ", 1)[1].split(";")[0])
    else:
        print("loaded")
"""


@pytest.mark.skipif(not HAS_RLIMIT, reason="needs Linux /proc and RLIMIT_AS")
def test_forged_counts_under_a_memory_limit(tmp_path: Path) -> None:
    # 3,000,000 images claimed (2.35 GB), about 20 MB of zeros really there: raw and gzip
    head = bytes([0, 0, 8, 3]) + struct.pack(">3I", 3_000_000, 28, 28)
    raw = tmp_path / "raw-idx3-ubyte"
    raw.write_bytes(head + bytes(1 << 20))
    packed = tmp_path / "packed-idx3-ubyte.gz"
    with gzip.GzipFile(packed, "wb", mtime=0) as out:
        out.write(head)
        for _ in range(20):
            out.write(bytes(1 << 20))
    result = run_limited(CHILD_IMPORTS, CHILD, [str(raw), str(packed)])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == ["refused header field 'count' is 3000000, expected 60000"] * 2
