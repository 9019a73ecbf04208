"""The TensorBoard callback writes event files that parse, with the scalars, images and histograms."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from tinyae import models, optim, train

pytest.importorskip("tensorboardX", reason="TensorBoard logging needs tensorboardX")


def read_events(folder: Path) -> list:
    """Every Event in the folder's event files, read record by record (TFRecord framing)."""
    from tensorboardX.proto import event_pb2

    events = []
    files = sorted(folder.glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    for path in files:
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            payload = data[offset + 12 : offset + 12 + length]  # 8 length + 4 length-crc
            assert len(payload) == length, "truncated record"
            events.append(event_pb2.Event.FromString(payload))
            offset += 12 + length + 4
    return events


def test_tensorboard_writes_scalars_images_and_histograms(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((64, 784), dtype=np.float32)
    model = models.VAE(784, 16, 4)
    adam = optim.Adam(model.parameters(), lr=1e-3)
    board = train.TensorBoard(tmp_path, optimizer=adam, images=x[:4])
    train.fit(
        model,
        adam,
        x,
        2,
        batch_size=32,
        val_data=x[:32],
        callbacks=[board],
        on_batch_end=board.on_batch_end,
        progress=False,
    )
    board.close()
    tags: dict[str, list] = {}
    for event in read_events(tmp_path):
        for value in event.summary.value:
            tags.setdefault(value.tag, []).append((event.step, value))
    for tag in ("loss/train", "loss/val", "parts/kl", "parts/reconstruction", "val_parts/kl", "lr"):
        assert [step for step, _ in tags[tag]] == [1, 2], tag
    assert tags["lr"][0][1].simple_value == pytest.approx(1e-3)
    assert len(tags["step/loss"]) == 4  # 2 epochs of 2 batches
    for tag in ("inputs", "reconstructions"):
        image = tags[tag][-1][1].image
        assert image.height >= 28 and image.width >= 28 and image.encoded_image_string[:4] == b"\x89PNG"
    assert [step for step, _ in tags["reconstructions"]] == [1, 2]
    weight = tags["encoder.0.linear.weight"][-1][1].histo
    assert weight.num == 784 * 16


def test_missing_tensorboardx_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[tensorboard\]"'):
        train.TensorBoard("unused")


def test_plain_install_pulls_no_cuda_tensorboard_or_jupyter() -> None:
    import configparser
    import re

    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parent.parent / "setup.cfg")
    required = [line.strip() for line in config["options"]["install_requires"].splitlines() if line.strip()]
    names = [re.split(r"[<>=!~\[ ;]", line, maxsplit=1)[0].lower() for line in required]
    optional = re.compile(r"cupy|nvidia|cuda|tensorboard|jupyter|ipykernel|nbclient|notebook|pillow|torch")
    assert names and not [name for name in names if optional.search(name)], names
    extras = config["options.extras_require"]
    assert "tensorboardx" in extras["tensorboard"].lower() and "pillow" in extras["tensorboard"].lower()
