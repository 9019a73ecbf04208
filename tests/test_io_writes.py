"""Saves that lose nothing: names that could not be loaded back are refused before writing, special files
are never replaced, long names work, interrupted or killed saves leave the old file and no leftovers, and a
model is saved with its optimizer in one file so that a resumed run never mixes steps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinyae
from tests.test_io_checkpoint import steps
from tests.test_train_standins import TinyAE
from tinyae import io, optim
from tinyae.data import fileio
from tinyae.io import CheckpointError

W = np.arange(6, dtype=np.float32).reshape(2, 3)


# --- names load would refuse --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("enc/w", "'/' is reserved"),
        ("", "it is empty"),
        ("a\0b", "control character"),
        ("line\nbreak", "control character"),
        ("__metadata__", "safetensors reserves"),
        ("x" * 2000, "more than 1024"),
        (7, "must be strings"),
    ],
    ids=["slash", "empty", "nul", "newline", "metadata", "too-long", "int"],
)
def test_save_state_dict_refuses_names_before_writing(name: Any, pattern: str, tmp_path: Path) -> None:
    path = tmp_path / "s.safetensors"
    io.save_state_dict({"w": W}, path)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match=pattern):
        io.save_state_dict({"w": W, name: W}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["s.safetensors"]


def test_a_header_over_the_limit_is_refused_before_writing(tmp_path: Path) -> None:
    many = {f"{'layer' * 20}.{i}": np.zeros(1, np.float32) for i in range(20_000)}
    with pytest.raises(CheckpointError, match="more than the 1048576 a checkpoint may have"):
        io.save_state_dict(many, tmp_path / "big.safetensors")
    assert os.listdir(tmp_path) == []


def test_every_name_save_accepts_loads_back(tmp_path: Path) -> None:
    names = ["encoder.0.weight", "ünïcode", "with space", "optimizer", "0", "a.b.c" * 100]
    io.save_state_dict({n: W for n in names}, tmp_path / "s.safetensors")
    assert list(io.load_state_dict(tmp_path / "s.safetensors")) == names


# --- targets that are not regular files ---------------------------------------------------------------------


def test_save_refuses_a_fifo_and_leaves_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match=r"is a fifo \(named pipe\); save refuses to replace it"):
        io.save(TinyAE(), fifo)
    assert fifo.is_fifo()


def test_save_refuses_a_symlink_and_leaves_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.safetensors"
    io.save_state_dict({"w": W}, target)
    before = target.read_bytes()
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    with pytest.raises(CheckpointError, match="is a symbolic link; save refuses"):
        io.save(TinyAE(), link)
    assert link.is_symlink() and target.read_bytes() == before
    assert io.load_state_dict(link)["w"].tolist() == W.tolist()  # loading through a link is fine


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null on this system")
def test_save_refuses_a_device_node() -> None:
    with pytest.raises(CheckpointError, match="/dev/null: is a character device; save refuses"):
        io.save_state_dict({"w": W}, "/dev/null")


def test_save_refuses_a_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is a folder; save refuses"):
        io.save(TinyAE(), tmp_path)


def test_save_refuses_a_path_that_is_not_one(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"save\(path=\.\.\.\) needs a str or os.PathLike, not int"):
        io.save(TinyAE(), 12)  # type: ignore[arg-type]


# --- long names, interrupted and killed saves ---------------------------------------------------------------


@pytest.mark.parametrize("length", [237, 250, 255])
def test_names_up_to_name_max_work(length: int, tmp_path: Path) -> None:
    path = tmp_path / ("m" * (length - len(".safetensors")) + ".safetensors")
    assert len(path.name) == length
    io.save(TinyAE(), path)
    assert isinstance(io.load(path), TinyAE) and os.listdir(tmp_path) == [path.name]


@pytest.mark.parametrize("interruption", [OSError("No space left on device"), KeyboardInterrupt()])
def test_an_interrupted_save_keeps_the_previous_checkpoint(
    interruption: BaseException, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ae.safetensors"
    model = TinyAE(batch_norm=True)
    io.save(model, path)
    saved = model.encoder.weight.numpy().copy()
    model.encoder.weight.data = model.encoder.weight.data + 1.0

    def fail(fd: int) -> None:  # the data are written, but the disk gives up before they are durable
        raise interruption

    monkeypatch.setattr(fileio.os, "fsync", fail)
    with pytest.raises(type(interruption)):
        io.save(model, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ae.safetensors"]  # no temporary file left behind
    np.testing.assert_array_equal(io.load(path).encoder.weight.numpy(), saved)


def test_a_failed_rename_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ok.safetensors"
    io.save_state_dict({"w": W}, path)

    def refuse(*args: Any) -> None:
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        io.save_state_dict({"w": W + 1}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ok.safetensors"]
    np.testing.assert_array_equal(io.load_state_dict(path)["w"], W)


KILLED_SAVE = textwrap.dedent(
    """
    import sys, time
    from tinyae.data.fileio import atomic_write
    with atomic_write(sys.argv[1]) as f:
        f.write(b"half a checkpoint" * 1000)
        f.flush()
        print("writing", flush=True)
        time.sleep(60)
    """
)


def test_leftovers_of_killed_saves_are_removed_by_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "ae.safetensors"
    io.save(TinyAE(), path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for _ in range(3):
        with subprocess.Popen(
            [sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE, text=True, env=env
        ) as child:
            assert child.stdout is not None and child.stdout.readline() == "writing\n"
            child.send_signal(signal.SIGKILL)
        # each killed save left its temporary file, and removed the one before (its writer was dead)
        assert len(os.listdir(tmp_path)) == 2
    assert isinstance(io.load(path), TinyAE)  # the old checkpoint is intact
    io.save(TinyAE(), path)
    assert os.listdir(tmp_path) == ["ae.safetensors"]


def test_a_save_in_progress_keeps_its_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "ae.safetensors"
    with fileio.atomic_write(path) as handle:
        handle.write(b"first")
        assert fileio.remove_stale_temporaries(path) == []  # locked: another save is writing it
        assert len(os.listdir(tmp_path)) == 1
    assert path.read_bytes() == b"first" and os.listdir(tmp_path) == ["ae.safetensors"]


# --- one file for model and optimizer -----------------------------------------------------------------------


def test_model_and_optimizer_in_one_file_resume_the_same_trajectory(tmp_path: Path) -> None:
    tinyae.manual_seed(0)
    model = TinyAE(batch_norm=True)
    opt = optim.Adam(model.parameters(), lr=0.03)
    steps(model, opt, 3, seed=0)
    io.save(model, tmp_path / "run.safetensors", optimizer=opt)
    assert os.listdir(tmp_path) == ["run.safetensors"]
    steps(model, opt, 3, seed=100)

    resumed = TinyAE(batch_norm=True)
    fresh = optim.Adam(resumed.parameters(), lr=1.0)
    assert io.load(tmp_path / "run.safetensors", into=resumed, optimizer=fresh) is resumed
    assert fresh.hyperparameters == opt.hyperparameters
    steps(resumed, fresh, 3, seed=100)
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(resumed.state_dict()[name].numpy(), value.numpy(), rtol=1e-6, atol=1e-7)

    rebuilt = io.load(tmp_path / "run.safetensors")  # the model alone, rebuilt from its config
    assert isinstance(rebuilt, TinyAE)
    assert list(io.load_state_dict(tmp_path / "run.safetensors")) == list(rebuilt.state_dict())
    alone = optim.Adam(rebuilt.parameters())
    assert io.load(tmp_path / "run.safetensors", into=alone) is alone  # the optimizer part alone


def test_a_failing_optimizer_load_leaves_the_model_unchanged(tmp_path: Path) -> None:
    model = TinyAE()
    opt = optim.Adam(model.parameters())
    steps(model, opt, 1, seed=0)
    io.save(model, tmp_path / "run.safetensors", optimizer=opt)
    target = TinyAE()
    before = {k: v.numpy().copy() for k, v in target.state_dict().items()}
    wrong = optim.SGD(target.parameters(), lr=0.1)
    with pytest.raises(CheckpointError, match="cannot load the state of a Adam optimizer into SGD"):
        io.load(tmp_path / "run.safetensors", into=target, optimizer=wrong)
    for name, value in target.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[name])


def test_optimizer_without_into_and_files_without_optimizer_state(tmp_path: Path) -> None:
    model = TinyAE()
    opt = optim.Adam(model.parameters())
    io.save(model, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match=r"optimizer=opt\) needs into="):
        io.load(tmp_path / "m.safetensors", optimizer=opt)
    with pytest.raises(CheckpointError, match="holds a TinyAE model and no optimizer state"):
        io.load(tmp_path / "m.safetensors", into=model, optimizer=opt)
    with pytest.raises(TypeError, match="pass the model first"):
        io.save(opt, tmp_path / "o.safetensors", optimizer=opt)
