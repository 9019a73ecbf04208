"""Downloads, against a loopback HTTP server only: verified files, mirror fallback, and no partial file
left behind after an interrupted transfer, a wrong checksum, a wrong size or Ctrl-C."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import tinyae.data.mnist as mnist_module
from tinyae.data import DatasetError, load_mnist, sources, write_idx
from tinyae.data import download as download_module
from tinyae.data.download import download_file

PAYLOAD = gzip.compress(bytes(range(256)) * 300, mtime=0)  # 76,800 bytes before compression
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class Server:
    """Serves ``routes[path] = (body, mode)``; mode "ok", "short" (half the announced bytes, then close),
    "flood" (no length announced, then the body 1,000 times), "drip" (one byte every 0.05 s) or "404".
    Counts the requests it gets."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                server.requests.append(self.path)
                body, mode = server.routes.get(self.path, (b"", "404"))
                if mode == "404":
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                if mode != "flood":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if mode == "flood":
                        for _ in range(1000):
                            self.wfile.write(body)
                    elif mode == "drip":
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(0.05)
                except OSError:  # the client hung up, as it should
                    return
                self.wfile.write(body if mode == "ok" else body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real home, cache, data folder or proxy; short timeouts."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYAE_DATA", raising=False)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIR", tmp_path / "system")
    monkeypatch.setattr(download_module, "TIMEOUT_S", 5.0)


def closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens (like being offline)."""
    probe = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    return f"http://127.0.0.1:{port}"


def test_download_verifies_and_writes(server: Server, tmp_path: Path) -> None:
    server.routes["/f.gz"] = (PAYLOAD, "ok")
    dest = tmp_path / "cache" / "f.gz"
    assert download_file([f"{server.url}/f.gz"], dest, sha256=SHA256, md5=MD5, size=len(PAYLOAD)) == dest
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in dest.parent.iterdir()] == ["f.gz"]


def test_next_mirror_after_a_failure(server: Server, tmp_path: Path) -> None:
    server.routes["/good/f.gz"] = (PAYLOAD, "ok")
    dest = tmp_path / "f.gz"
    download_file([f"{server.url}/missing/f.gz", f"{server.url}/good/f.gz"], dest, sha256=SHA256)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == ["/missing/f.gz", "/good/f.gz"]


def assert_nothing_written(folder: Path) -> None:
    assert not folder.exists() or list(folder.iterdir()) == []


def test_interrupted_transfer_leaves_nothing(server: Server, tmp_path: Path) -> None:
    server.routes["/f.gz"] = (PAYLOAD, "short")
    folder = tmp_path / "cache"
    with pytest.raises(DatasetError) as info:
        download_file([f"{server.url}/f.gz"], folder / "f.gz", sha256=SHA256)
    message = str(info.value)
    assert message.startswith("f.gz: download failed from every mirror")
    assert (
        f"{server.url}/f.gz: interrupted: received {len(PAYLOAD) // 2} of the {len(PAYLOAD)} bytes" in message
    )
    assert_nothing_written(folder)


@pytest.mark.parametrize("kind", ["sha256", "md5"])
def test_wrong_checksum_leaves_nothing(server: Server, tmp_path: Path, kind: str) -> None:
    changed = PAYLOAD[:100] + bytes([PAYLOAD[100] ^ 1]) + PAYLOAD[101:]  # same length, one bit flipped
    server.routes["/f.gz"] = (changed, "ok")
    sha256, md5 = (SHA256, None) if kind == "sha256" else (None, MD5)
    with pytest.raises(
        DatasetError, match=rf"(?s)f.gz: download failed.*checksum mismatch: {kind} is [0-9a-f]+, "
    ):
        download_file([f"{server.url}/f.gz"], tmp_path / "c" / "f.gz", sha256=sha256, md5=md5)
    assert_nothing_written(tmp_path / "c")


def test_wrong_size_leaves_nothing(server: Server, tmp_path: Path) -> None:
    server.routes["/f.gz"] = (PAYLOAD, "ok")
    with pytest.raises(
        DatasetError, match=rf"wrong size: the server announces {len(PAYLOAD)} bytes, expected 10"
    ):
        download_file([f"{server.url}/f.gz"], tmp_path / "c" / "f.gz", size=10)
    assert_nothing_written(tmp_path / "c")


def test_every_mirror_failing_is_listed(server: Server, tmp_path: Path) -> None:
    offline = closed_port_url()
    with pytest.raises(DatasetError) as info:
        download_file([f"{offline}/f.gz", f"{server.url}/f.gz", "ftp://example.org/f.gz"], tmp_path / "f.gz")
    message = str(info.value)
    assert f"{offline}/f.gz: unreachable" in message
    assert f"{server.url}/f.gz: HTTP 404" in message
    assert "ftp://example.org/f.gz: only http and https" in message
    assert not (tmp_path / "f.gz").exists()


def test_ctrl_c_during_download_leaves_nothing(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/f.gz"] = (PAYLOAD, "ok")

    def interrupt(self: object, n: int = 1) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(download_module.tqdm, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        download_file([f"{server.url}/f.gz"], tmp_path / "c" / "f.gz", sha256=SHA256)
    assert_nothing_written(tmp_path / "c")


def test_a_server_sending_far_more_than_expected_is_cut_off(server: Server, tmp_path: Path) -> None:
    server.routes["/f.gz"] = (PAYLOAD, "flood")  # 77 MB for a file of 77 kB, with no length announced
    start = time.monotonic()
    with pytest.raises(DatasetError, match=r"the server sent more than \d+ bytes, more than expected"):
        download_file([f"{server.url}/f.gz"], tmp_path / "c" / "f.gz", size=len(PAYLOAD))
    assert time.monotonic() - start < 5
    assert not (tmp_path / "c").exists()  # no partial file and no empty cache folder


def test_a_dripping_server_meets_the_overall_deadline(server: Server, tmp_path: Path) -> None:
    server.routes["/f.gz"] = (PAYLOAD[:200], "drip")  # a byte every 0.05 s: never idle for the timeout
    start = time.monotonic()
    with pytest.raises(DatasetError, match=r"too slow: \d+ bytes after the deadline of 0.5 s"):
        download_file([f"{server.url}/f.gz"], tmp_path / "c" / "f.gz", timeout=2, deadline=0.5)
    assert time.monotonic() - start < 3
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    "url", ["http://[::1/f.gz", "http://127.0.0.1:port/f.gz", "http://exa mple.org/f.gz", "not a url"]
)
def test_a_malformed_address_is_a_dataset_error(url: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"malformed address|only http and https"):
        download_file([url], tmp_path / "c" / "f.gz")
    assert not (tmp_path / "c").exists()


def test_addresses_must_be_a_sequence_of_strings(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"urls=\.\.\.\) needs a sequence of address strings"):
        download_file("http://127.0.0.1/f.gz", tmp_path / "f.gz")


def test_a_destination_that_is_not_a_regular_file_is_left_alone(server: Server, tmp_path: Path) -> None:
    server.routes["/f.gz"] = (PAYLOAD, "ok")
    os.mkfifo(tmp_path / "f.gz")
    with pytest.raises(DatasetError, match=r"f.gz: is a fifo \(named pipe\); a download will not replace it"):
        download_file([f"{server.url}/f.gz"], tmp_path / "f.gz")
    assert (tmp_path / "f.gz").is_fifo() and server.requests == []


# --- the whole path: load_mnist finds nothing locally, downloads into the cache, reads it -------------------


def tiny_mnist(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Serve a 12-train / 4-test MNIST look-alike and make load_mnist use it (counts, checksums, mirror)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(12, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([7, 2, 1, 0], dtype=np.uint8),
    }
    bodies = {}
    tmp_path.mkdir()
    for name, array in arrays.items():
        write_idx(tmp_path / name, array)
        bodies[name] = (tmp_path / name).read_bytes()
        server.routes[f"/mnist/{name}"] = (bodies[name], "ok")
    files = tuple(
        sources.RemoteFile(name, len(body), hashlib.sha256(body).hexdigest(), hashlib.md5(body).hexdigest())
        for name, body in bodies.items()
    )
    spec = dataclasses.replace(
        sources.MNIST, mirrors=(f"{server.url}/mnist/",), files=files, train_count=12, test_count=4
    )
    monkeypatch.setattr(mnist_module, "MNIST", spec)
    return bodies


def test_load_mnist_downloads_into_the_user_cache(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = tiny_mnist(server, tmp_path / "served", monkeypatch)
    images, labels = load_mnist("validation", validation=2)
    assert images.shape == (2, 784) and images.dtype == np.float32 and labels.tolist() == [0, 1]
    cache = tmp_path / "cache" / "tinyae" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    assert (cache / "train-images-idx3-ubyte.gz").read_bytes() == bodies["train-images-idx3-ubyte.gz"]
    # the next load is served from the cache, with no request
    count = len(server.requests)
    train, _ = load_mnist("train", validation=2)
    assert len(train) == 10 and len(server.requests) == count


def test_cache_under_home_without_xdg(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny_mnist(server, tmp_path / "served", monkeypatch)
    monkeypatch.delenv("XDG_CACHE_HOME")
    _, labels = load_mnist("test")
    assert labels.tolist() == [7, 2, 1, 0]
    assert (tmp_path / "home" / ".cache" / "tinyae" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_bad_download_during_load_mnist_names_places_and_mirror(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = tiny_mnist(server, tmp_path / "served", monkeypatch)
    body = bodies["t10k-images-idx3-ubyte.gz"]
    server.routes["/mnist/t10k-images-idx3-ubyte.gz"] = (body, "short")
    with pytest.raises(DatasetError) as info:
        load_mnist("test")
    message = str(info.value)
    assert "MNIST test files not found" in message
    assert f"user cache: {tmp_path / 'cache' / 'tinyae' / 'mnist'}" in message
    assert "t10k-images-idx3-ubyte.gz: download failed from every mirror" in message
    assert f"interrupted: received {len(body) // 2} of the {len(body)} bytes" in message
    assert_nothing_written(tmp_path / "cache" / "tinyae" / "mnist")


def test_offline_with_nothing_found_lists_every_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline = closed_port_url()
    spec = dataclasses.replace(sources.MNIST, mirrors=(f"{offline}/a/", f"{offline}/b/"))
    monkeypatch.setattr(mnist_module, "MNIST", spec)
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetError) as info:
        load_mnist("train", data_dir=tmp_path / "mine")
    message = str(info.value)
    for place in (
        f"data_dir argument: {tmp_path / 'mine'} (folder does not exist)",
        f"$TINYAE_DATA/mnist: {tmp_path / 'data' / 'mnist'} (folder does not exist)",
        f"user cache: {tmp_path / 'cache' / 'tinyae' / 'mnist'}",
        f"system datasets folder: {tmp_path / 'system' / 'mnist'}",
        f"{offline}/a/train-images-idx3-ubyte.gz: unreachable",
        f"{offline}/b/train-images-idx3-ubyte.gz: unreachable",
        "pass data_dir=",
    ):
        assert place in message
