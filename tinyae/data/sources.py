"""Where dataset files come from: the known files and checksums, the folders searched, the mirrors.

For each split the loader needs an images file and a labels file.  It takes the first folder that holds
both, in this order:

1. the ``data_dir`` argument;
2. ``$TINYAE_DATA/<name>`` (``<name>`` is ``mnist`` or ``fashion-mnist``);
3. the user cache, ``$XDG_CACHE_HOME/tinyae/<name>`` (``~/.cache/tinyae/<name>`` by default);
4. the system folder ``/usr/share/datasets/<name>``, where Debian's ``dataset-fashion-mnist`` package
   installs the four Fashion-MNIST files under their usual names.

Each file may be gzip-compressed (``train-images-idx3-ubyte.gz``), unpacked (``train-images-idx3-ubyte``)
or unpacked with the dotted name some archives use (``train-images.idx3-ubyte``).  When no folder has
them, the missing files are downloaded into the user cache, verified against the checksums below.

Local files are checked for structure (see :mod:`tinyae.data.idx`) but not against these checksums:
repackaged copies are legitimate and differ in their compressed bytes (Debian's Fashion-MNIST files, for
one, are recompressed without the original gzip file name).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tinyae.data.download import download_file
from tinyae.data.errors import DatasetError

__all__ = [
    "FASHION_MNIST",
    "MNIST",
    "SYSTEM_DATA_DIR",
    "DatasetSpec",
    "RemoteFile",
    "cache_dir",
    "locate",
    "search_folders",
]

SYSTEM_DATA_DIR = Path("/usr/share/datasets")
_PREFIX = {"train": "train", "test": "t10k"}  # file name prefix of each file pair


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file: its name, size in bytes and published checksums (None where unknown)."""

    name: str
    size: int | None
    sha256: str | None
    md5: str | None


@dataclass(frozen=True)
class DatasetSpec:
    """An MNIST-format dataset: its folder name, mirrors, files and expected sizes."""

    name: str  # folder name under $TINYAE_DATA and the cache
    title: str  # for messages
    mirrors: tuple[str, ...]  # base addresses; a file's URL is mirror + file name
    files: tuple[RemoteFile, ...]
    train_count: int
    test_count: int
    image_shape: tuple[int, int] = (28, 28)
    num_classes: int = 10
    hint: str = ""  # one more way to get the files, for the "not found" message

    def stems(self, part: str) -> tuple[str, str]:
        """File names without ``.gz`` of the images and labels of ``part`` (``"train"`` or ``"test"``)."""
        prefix = _PREFIX[part]
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def count(self, part: str) -> int:
        """How many samples the ``part`` files hold."""
        return self.train_count if part == "train" else self.test_count

    def remote(self, stem: str) -> RemoteFile:
        """The downloadable (gzip) file for ``stem``."""
        for remote in self.files:
            if remote.name == f"{stem}.gz":
                return remote
        raise DatasetError(f"{stem}.gz: no download address or checksum is known for {self.title}")


# Checksums of the gzip files as the mirrors serve them.  The MD5s are the ones the datasets' authors
# publish; the SHA-256s are the ones recorded by TensorFlow Datasets and other widely used loaders (all
# agree).  The two MNIST test files were checked against the copies in the shared data folder.
MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    files=(
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            9912422,
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            28881,
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "d53e105ee54ea40749a09fcbcd1e9432",
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            1648877,
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "9fb629c4189551a2d022fa330f9573f3",
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            4542,
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ),
    ),
    train_count=60000,
    test_count=10000,
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    files=(
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            26421880,
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            29515,
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "25c81989df183df01b3e8a0aad5dffbe",
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            4422102,
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "bef4ecab320f06d8554ea6380940ec79",
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            5148,
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ),
    ),
    train_count=60000,
    test_count=10000,
    hint="On Debian or Ubuntu, `sudo apt install dataset-fashion-mnist` puts them in the system folder.",
)


def cache_dir(spec: DatasetSpec) -> Path:
    """The user cache folder for ``spec``: ``$XDG_CACHE_HOME/tinyae/<name>``, else ``~/.cache/...``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # the XDG spec ignores relative paths
    return base / "tinyae" / spec.name


def search_folders(
    spec: DatasetSpec, data_dir: str | os.PathLike[str] | None
) -> list[tuple[str, Path | None]]:
    """The places searched, in order, as ``(description, folder)``; folder is None when not configured."""
    env = os.environ.get("TINYAE_DATA")
    return [
        ("data_dir argument", None if data_dir is None else Path(data_dir)),
        (f"$TINYAE_DATA/{spec.name}", Path(env) / spec.name if env else None),
        ("user cache", cache_dir(spec)),
        ("system datasets folder", SYSTEM_DATA_DIR / spec.name),
    ]


def locate(
    spec: DatasetSpec, part: str, data_dir: str | os.PathLike[str] | None = None, download: bool = True
) -> tuple[Path, Path]:
    """Paths of the images and labels files of ``part`` (``"train"`` or ``"test"``), downloading if needed.

    Examples
    --------
    >>> images, labels = locate(MNIST, "test", download=False)  # doctest: +SKIP
    >>> images.name  # doctest: +SKIP
    't10k-images-idx3-ubyte.gz'
    """
    stems = spec.stems(part)
    tried = []
    for label, folder in search_folders(spec, data_dir):
        if folder is None:
            tried.append(f"{label}: not set")
            continue
        found = [_find(folder, stem) for stem in stems]
        if found[0] is not None and found[1] is not None:
            return found[0], found[1]
        missing = ", ".join(stem for stem, path in zip(stems, found, strict=True) if path is None)
        why = "folder does not exist" if not folder.is_dir() else f"no {missing}"
        tried.append(f"{label}: {folder} ({why})")
    if not download:
        raise DatasetError(_not_found(spec, part, tried, "Downloading was turned off (download=False)."))

    cache = cache_dir(spec)
    paths = []
    for stem in stems:
        path = _find(cache, stem)
        if path is None:
            remote = spec.remote(stem)
            urls = [mirror.rstrip("/") + "/" + remote.name for mirror in spec.mirrors]
            try:
                path = download_file(
                    urls, cache / remote.name, sha256=remote.sha256, md5=remote.md5, size=remote.size
                )
            except DatasetError as error:
                raise DatasetError(_not_found(spec, part, tried, f"Downloading failed: {error}")) from None
        paths.append(path)
    return paths[0], paths[1]


def _find(folder: Path, stem: str) -> Path | None:
    """The first existing spelling of ``stem`` in ``folder``: gzip, unpacked, or dotted unpacked."""
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def _not_found(spec: DatasetSpec, part: str, tried: list[str], download_note: str) -> str:
    images, labels = spec.stems(part)
    lines = [
        f"{spec.title} {part} files not found: {images}(.gz) and {labels}(.gz) are needed. Looked in:",
        *(f"  - {place}" for place in tried),
        download_note,
        "To supply them, download the files from one of these addresses:",
        *(f"    {mirror}" for mirror in spec.mirrors),
        f"and put them (gzip-compressed or unpacked) in {cache_dir(spec)}, or in a folder named "
        f"{spec.name} inside the folder that TINYAE_DATA names, or name their folder: "
        f"`tinyae train ae --data {'fashion' if 'fashion' in spec.name else 'mnist'} --data-dir FOLDER`, "
        "or pass data_dir=FOLDER in Python (load_dataset, load_mnist).",
    ]
    if spec.hint:
        lines.append(spec.hint)
    return "\n".join(lines)
