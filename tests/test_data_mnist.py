"""load_mnist / load_fashion_mnist on local files: search order, file-name variants, splits, and the
errors for files that do not fit together.  Real-data tests read TINYAE_DATA and skip without it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

import tinyae.data.mnist as mnist_module
from tinyae.data import DatasetError, load_fashion_mnist, load_mnist, sources, write_idx

REAL_DATA = os.environ.get("TINYAE_DATA")  # read before the fixtures below clear it
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
TRAIN, TEST = 12, 4  # sizes of the look-alike files


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real home, cache, data folder or system folder, no downloads, and a small MNIST look-alike."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYAE_DATA", raising=False)
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIR", tmp_path / "system")
    small = dataclasses.replace(sources.MNIST, mirrors=(), train_count=TRAIN, test_count=TEST)
    monkeypatch.setattr(mnist_module, "MNIST", small)


def make_files(
    folder: Path, part: str = "both", style: str = "gz", n: int | None = None, **bad: object
) -> Path:
    """Write look-alike MNIST files: labels 0..9 cycling, pixels = sample index (so rows are traceable).

    style: "gz" (train-images-idx3-ubyte.gz), "raw" (train-images-idx3-ubyte) or "dotted"
    (train-images.idx3-ubyte).  ``bad`` overrides: images=array, labels=array for one part.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", TRAIN), ("t10k", TEST)):
        if part not in ("both", prefix):
            continue
        count = n if n is not None else count
        images = np.broadcast_to(np.arange(count, dtype=np.uint8)[:, None, None], (count, 28, 28))
        labels = np.arange(count, dtype=np.uint8) % 10
        for kind, array in (("images", bad.get("images", images)), ("labels", bad.get("labels", labels))):
            name = f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
            name = {"gz": name + ".gz", "raw": name, "dotted": name.replace("-idx", ".idx")}[style]
            write_idx(folder / name, np.ascontiguousarray(array))
    return folder


# --- splits and formats -------------------------------------------------------------------------------------


def test_splits_from_data_dir(tmp_path: Path) -> None:
    folder = make_files(tmp_path / "mine")
    train_x, train_y = load_mnist("train", data_dir=folder, validation=3)
    val_x, val_y = load_mnist("validation", data_dir=folder, validation=3)
    test_x, test_y = load_mnist("test", data_dir=folder, validation=3)
    assert (len(train_x), len(val_x), len(test_x)) == (9, 3, 4)
    # validation is the last `validation` samples of the training file, a fixed split
    assert val_x[:, 0].tolist() == pytest.approx([9 / 255, 10 / 255, 11 / 255])
    assert train_y.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8] and val_y.tolist() == [9, 0, 1]
    assert train_x.shape == (9, 784) and train_x.dtype == np.float32 and test_y.dtype == np.int64
    assert train_x.min() >= 0.0 and train_x.max() <= 1.0


def test_unflattened_unnormalized(tmp_path: Path) -> None:
    folder = make_files(tmp_path / "mine")
    images, labels = load_mnist("validation", data_dir=folder, validation=2, flatten=False, normalize=False)
    assert images.shape == (2, 28, 28) and images.dtype == np.uint8 and images[1, 5, 5] == 11
    assert labels.dtype == np.int64


def test_validation_zero_gives_the_whole_training_file(tmp_path: Path) -> None:
    folder = make_files(tmp_path / "mine")
    assert len(load_mnist("train", data_dir=folder, validation=0)[0]) == TRAIN
    with pytest.raises(ValueError, match="empty with validation=0"):
        load_mnist("validation", data_dir=folder, validation=0)


@pytest.mark.parametrize("style", ["raw", "dotted"])
def test_unpacked_file_names(tmp_path: Path, style: str) -> None:
    folder = make_files(tmp_path / "mine", part="t10k", style=style)
    assert load_mnist("test", data_dir=folder)[1].tolist() == [0, 1, 2, 3]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'validation', 'test'\)"):
        load_mnist("valid")
    for validation in (-1, TRAIN, 2.5, True):
        with pytest.raises(ValueError, match="validation must be an integer from 0 to 11"):
            load_mnist("train", validation=validation)  # type: ignore[arg-type]


# --- where the files are found ------------------------------------------------------------------------------


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # each place holds test files with a different size of the first image, to tell them apart
    places = {
        "data_dir": tmp_path / "mine",
        "env": tmp_path / "env" / "mnist",
        "cache": tmp_path / "cache" / "tinyae" / "mnist",
        "system": tmp_path / "system" / "mnist",
    }
    for value, folder in enumerate(places.values(), start=1):
        make_files(folder, part="t10k", images=np.full((TEST, 28, 28), value, np.uint8))
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path / "env"))

    def first_pixel(**kwargs: object) -> int:
        return int(load_mnist("test", download=False, normalize=False, **kwargs)[0][0, 0])  # type: ignore[arg-type]

    assert first_pixel(data_dir=places["data_dir"]) == 1
    assert first_pixel() == 2
    monkeypatch.delenv("TINYAE_DATA")
    assert first_pixel() == 3
    for path in places["cache"].iterdir():
        path.unlink()
    assert first_pixel() == 4


def test_a_folder_with_only_one_of_the_two_files_is_skipped(tmp_path: Path) -> None:
    make_files(tmp_path / "mine", part="t10k")
    (tmp_path / "mine" / "t10k-labels-idx1-ubyte.gz").unlink()
    make_files(tmp_path / "cache" / "tinyae" / "mnist", part="t10k")
    images, _ = load_mnist("test", data_dir=tmp_path / "mine", download=False)
    assert len(images) == TEST  # from the cache, a complete pair


def test_nothing_found_offline_lists_every_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_files(tmp_path / "mine", part="t10k")  # a test pair, but the train pair is asked for
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetError) as info:
        load_mnist("train", data_dir=tmp_path / "mine", download=False, validation=2)
    message = str(info.value)
    for line in (
        "MNIST train files not found: train-images-idx3-ubyte(.gz) and train-labels-idx1-ubyte(.gz)",
        f"  - data_dir argument: {tmp_path / 'mine'} (no train-images-idx3-ubyte, train-labels-idx1-ubyte)",
        f"  - $TINYAE_DATA/mnist: {tmp_path / 'env' / 'mnist'} (folder does not exist)",
        f"  - user cache: {tmp_path / 'cache' / 'tinyae' / 'mnist'} (folder does not exist)",
        f"  - system datasets folder: {tmp_path / 'system' / 'mnist'} (folder does not exist)",
        "Downloading was turned off (download=False).",
        "pass data_dir=FOLDER",
    ):
        assert line in message
    monkeypatch.delenv("TINYAE_DATA")
    with pytest.raises(DatasetError, match=r"\$TINYAE_DATA/mnist: not set"):
        load_mnist("train", download=False, validation=2)


def test_fashion_message_mentions_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="apt install dataset-fashion-mnist"):
        load_fashion_mnist("test", download=False)


# --- files that do not fit ----------------------------------------------------------------------------------


def test_labels_and_images_count_mismatch(tmp_path: Path) -> None:
    folder = make_files(tmp_path / "mine", part="t10k", labels=np.zeros(TEST - 1, np.uint8))
    with pytest.raises(DatasetError) as info:
        load_mnist("test", data_dir=folder)
    assert str(info.value) == (
        f"{folder / 't10k-labels-idx1-ubyte.gz'}: header field 'count' is 3, but t10k-images-idx3-ubyte.gz "
        "holds 4 images; the images and labels files do not belong together"
    )


def test_wrong_count(tmp_path: Path) -> None:
    folder = make_files(tmp_path / "mine", part="t10k", n=TEST + 1)
    with pytest.raises(DatasetError) as info:
        load_mnist("test", data_dir=folder)
    assert str(info.value) == (
        f"{folder / 't10k-images-idx3-ubyte.gz'}: header field 'count' is 5, "
        "expected 4 for the MNIST test set"
    )


@pytest.mark.parametrize(
    ("shape", "field", "value"), [((TEST, 32, 28), "rows", 32), ((TEST, 28, 27), "columns", 27)]
)
def test_wrong_image_size(tmp_path: Path, shape: tuple[int, ...], field: str, value: int) -> None:
    folder = make_files(tmp_path / "mine", part="t10k", images=np.zeros(shape, np.uint8))
    with pytest.raises(
        DatasetError,
        match=rf"t10k-images-idx3-ubyte.gz: header field '{field}' is {value}, expected 28 for MNIST images",
    ):
        load_mnist("test", data_dir=folder)


def test_label_out_of_range(tmp_path: Path) -> None:
    folder = make_files(tmp_path / "mine", part="t10k", labels=np.array([1, 2, 12, 3], np.uint8))
    with pytest.raises(
        DatasetError, match=r"t10k-labels-idx1-ubyte.gz: label data holds the value 12 at index 2"
    ):
        load_mnist("test", data_dir=folder)


def test_swapped_files_name_the_magic(tmp_path: Path) -> None:
    folder = make_files(tmp_path / "mine", part="t10k")
    images, labels = folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"
    images.rename(tmp_path / "swap")
    labels.rename(images)
    (tmp_path / "swap").rename(labels)
    with pytest.raises(
        DatasetError,
        match=r"t10k-images-idx3-ubyte.gz: header field 'magic' is 0x00000801, expected 0x00000803",
    ):
        load_mnist("test", data_dir=folder)


def test_truncated_file_is_never_silent(tmp_path: Path) -> None:
    folder = make_files(tmp_path / "mine", part="t10k", style="raw")
    path = folder / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(
        DatasetError, match=r"t10k-images-idx3-ubyte: truncated: expected 3136 bytes of pixel data"
    ):
        load_mnist("test", data_dir=folder)


# --- real data ----------------------------------------------------------------------------------------------


def real_mnist_dir() -> Path:
    if not REAL_DATA:
        pytest.skip("TINYAE_DATA is not set (point it at a folder holding mnist/t10k-*-ubyte.gz)")
    folder = Path(REAL_DATA) / "mnist"
    if not all((folder / f"{n}.gz").is_file() for n in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")):
        pytest.skip(f"the MNIST test files are not in {folder}")
    return folder


@pytest.mark.slow
def test_real_mnist_test_split(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = real_mnist_dir()
    monkeypatch.setattr(mnist_module, "MNIST", sources.MNIST)  # the real sizes
    monkeypatch.setenv("TINYAE_DATA", str(folder.parent))
    images, labels = load_mnist("test", download=False)
    assert images.shape == (10000, 784) and images.dtype == np.float32
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert images.min() == 0.0 and images.max() == 1.0


@pytest.mark.slow
def test_real_fashion_mnist_from_the_debian_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (DEBIAN_FASHION / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"Debian's dataset-fashion-mnist is not installed ({DEBIAN_FASHION} has no files)")
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIR", DEBIAN_FASHION.parent)
    images, labels = load_fashion_mnist("test", download=False, flatten=False)
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == [1000] * 10
    _, val_labels = load_fashion_mnist("validation", download=False)
    assert len(val_labels) == 5000
