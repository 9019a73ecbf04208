"""The IDX reader and writer: round trips, and a clear error for every way a file can be wrong."""

from __future__ import annotations

import gzip
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyae.data import DatasetError, read_idx, write_idx


def idx_bytes(array: np.ndarray, magic: bytes | None = None) -> bytes:
    """A hand-made IDX file, optionally with a different magic number."""
    head = magic if magic is not None else bytes([0, 0, 8, array.ndim])
    return head + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write(tmp_path: Path, name: str, data: bytes, compress: bool | None = None) -> Path:
    path = tmp_path / name
    if compress if compress is not None else name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)


# --- reading good files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x-images-idx3-ubyte", "x-images-idx3-ubyte.gz"])
def test_reads_raw_and_gzip(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, idx_bytes(IMAGES))
    array = read_idx(path, ndim=3)
    np.testing.assert_array_equal(array, IMAGES)
    assert array.dtype == np.uint8 and array.flags.writeable


def test_compression_is_detected_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    gz_named_raw = write(tmp_path, "raw.gz", idx_bytes(IMAGES), compress=False)
    raw_named_gz = write(tmp_path, "compressed", idx_bytes(IMAGES), compress=True)
    np.testing.assert_array_equal(read_idx(gz_named_raw), IMAGES)
    np.testing.assert_array_equal(read_idx(raw_named_gz), IMAGES)


def test_write_idx_is_deterministic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_idx(tmp_path / "a.gz", IMAGES)
    first = (tmp_path / "a.gz").read_bytes()
    write_idx(tmp_path / "a.gz", IMAGES)
    assert (tmp_path / "a.gz").read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gz"]


def test_write_idx_refuses_other_dtypes(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="uint8"):
        write_idx(tmp_path / "f", np.zeros(3, dtype=np.float32))


@settings(deadline=None)  # example count from the HYPOTHESIS_PROFILE in conftest.py
@given(
    array=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5)),
    compress=st.booleans(),
)
def test_round_trip(array: np.ndarray, compress: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("t.gz" if compress else "t")
        write_idx(path, array)
        back = read_idx(path, ndim=array.ndim)
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


# --- every kind of bad file ---------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nothing-idx1-ubyte: file not found"):
        read_idx(tmp_path / "nothing-idx1-ubyte")


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "t10k-labels-idx1-ubyte", b"")
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte: the file is empty"):
        read_idx(path, ndim=1)


def test_wrong_dimension_count_names_magic(tmp_path: Path) -> None:
    # a labels file (idx1) where an images file (idx3) belongs
    path = write(tmp_path, "t10k-images-idx3-ubyte.gz", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DatasetError) as info:
        read_idx(path, ndim=3)
    assert str(info.value).startswith(str(path))
    assert (
        "t10k-images-idx3-ubyte.gz: header field 'magic' is 0x00000801, expected 0x00000803 for an idx3 "
        in (str(info.value))
    )
    assert "1 dimensions, not 3" in str(info.value)


def test_not_an_idx_file(tmp_path: Path) -> None:
    path = write(tmp_path, "t10k-images-idx3-ubyte", b"<html>Not Found</html>")
    with pytest.raises(DatasetError, match=r"header field 'magic' is 0x3C68746D.*not an IDX file"):
        read_idx(path, ndim=3)


def test_unsupported_data_type(tmp_path: Path) -> None:
    path = write(tmp_path, "floats-idx1", idx_bytes(np.zeros(2, np.uint8), magic=bytes([0, 0, 0x0D, 1])))
    with pytest.raises(DatasetError, match=r"floats-idx1: header field 'magic' is 0x00000D01.*float32"):
        read_idx(path)


def test_zero_dimensions(tmp_path: Path) -> None:
    path = write(tmp_path, "scalar-idx0", bytes([0, 0, 8, 0]))
    with pytest.raises(DatasetError, match=r"header field 'magic' is 0x00000800.*at least one dimension"):
        read_idx(path)


def test_truncated_magic(tmp_path: Path) -> None:
    path = write(tmp_path, "short-idx1", b"\0\0\x08")
    with pytest.raises(
        DatasetError, match=r"short-idx1: truncated: header field 'magic' needs 4 bytes, found 3"
    ):
        read_idx(path)


@pytest.mark.parametrize("name", ["sizes-idx3-ubyte", "sizes-idx3-ubyte.gz"])
def test_truncated_sizes(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, idx_bytes(IMAGES)[:10])
    with pytest.raises(
        DatasetError, match=rf"{name}: truncated: header field 'sizes' needs 12 bytes .* found 6"
    ):
        read_idx(path, ndim=3)


@pytest.mark.parametrize("name", ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"])
def test_truncated_pixel_data(tmp_path: Path, name: str) -> None:
    images = np.zeros((10, 28, 28), np.uint8)
    path = write(tmp_path, name, idx_bytes(images)[: 16 + 1234])
    with pytest.raises(DatasetError) as info:
        read_idx(path, ndim=3, what="pixel data")
    assert f"{name}: truncated: expected 7840 bytes of pixel data for shape (10, 28, 28), found 1234" in str(
        info.value
    )


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    compressed = gzip.compress(idx_bytes(np.arange(5000, dtype=np.uint32).astype(np.uint8)), mtime=0)
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(
        DatasetError, match=r"labels-idx1-ubyte.gz: truncated: the compressed stream ends early"
    ):
        read_idx(path, ndim=1, what="label data")


def test_corrupted_gzip_stream(tmp_path: Path) -> None:
    compressed = bytearray(gzip.compress(idx_bytes(IMAGES), mtime=0))
    compressed[-6] ^= 0xFF  # a bit flip in the stored length/CRC trailer
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(DatasetError, match=r"images-idx3-ubyte.gz: the gzip stream is corrupted"):
        read_idx(path, ndim=3)


@pytest.mark.parametrize("name", ["long-idx3", "long-idx3.gz"])
def test_trailing_bytes_mean_sizes_do_not_match(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, idx_bytes(IMAGES) + b"\0\0\0")
    with pytest.raises(DatasetError, match=rf"{name}: longer than its header says.*'sizes' \(2, 3, 4\)"):
        read_idx(path, ndim=3)


def test_huge_size_claim_is_refused_without_allocating(tmp_path: Path) -> None:
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    path = write(tmp_path, "huge-idx3", header + b"\0" * 100)
    with pytest.raises(DatasetError, match=r"huge-idx3: truncated: expected \d+ bytes of data .* found 100"):
        read_idx(path, ndim=3)
    gz = write(tmp_path, "huge-idx3.gz", header + b"\0" * 100)
    with pytest.raises(DatasetError, match=r"huge-idx3.gz: truncated: expected \d+ bytes .* found 100"):
        read_idx(gz, ndim=3)


# --- sizes checked against the expected ones before any data is read ---------------------------------------


def test_a_gzip_claiming_3_million_images_is_refused_before_decompressing(tmp_path: Path) -> None:
    import time
    import tracemalloc

    # 10 MB of zeros compress to about 10 kB; the header claims 3,000,000 images (2.35 GB)
    head = bytes([0, 0, 8, 3]) + struct.pack(">3I", 3_000_000, 28, 28)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.GzipFile(path, "wb", mtime=0) as out:
        out.write(head)
        for _ in range(10):
            out.write(bytes(1 << 20))
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DatasetError, match="header field 'count' is 3000000, expected 60000"):
            read_idx(path, what="pixel data", shape=(60_000, 28, 28))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20 and time.perf_counter() - start < 1


@pytest.mark.parametrize(
    ("shape", "field"), [((2, 3, 5), "columns"), ((2, 4, 4), "rows"), ((None, 3, 9), "columns")]
)
def test_expected_shape_names_the_field(tmp_path: Path, shape: tuple[int | None, ...], field: str) -> None:
    path = write(tmp_path, "x-idx3-ubyte.gz", idx_bytes(IMAGES))
    with pytest.raises(DatasetError, match=rf"header field '{field}' is \d+, expected \d+"):
        read_idx(path, shape=shape)
    np.testing.assert_array_equal(read_idx(path, shape=(None, 3, 4)), IMAGES)
    with pytest.raises(ValueError, match="ndim=1 but shape"):
        read_idx(path, ndim=1, shape=(2, 3, 4))


def test_idx_shape_reads_only_the_header(tmp_path: Path) -> None:
    from tinyae.data.idx import idx_shape

    data = idx_bytes(IMAGES)
    path = write(tmp_path, "x-idx3-ubyte", data[:20])  # truncated data: the header alone is whole
    assert idx_shape(path, ndim=3) == (2, 3, 4)
    with pytest.raises(DatasetError, match="this file has 3 dimensions, not 1"):
        idx_shape(path, ndim=1)


def test_a_fifo_is_named_without_hanging(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(DatasetError, match=r"pipe: is a fifo \(named pipe\), not a regular file"):
        read_idx(tmp_path / "pipe")
