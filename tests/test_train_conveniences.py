"""fit's clip_grad_norm=, scheduler= and on_batch_end=; tinyae.summary; the BLAS thread control."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinyae
from tinyae import models, optim, threads, train


def data(n: int = 64) -> np.ndarray:
    return np.random.default_rng(0).random((n, 20), dtype=np.float32)


def test_on_batch_end_sees_every_step_with_its_loss_parts() -> None:
    model = models.VAE(20, 8, 2)
    seen: list[tuple[int, list[str], float]] = []
    history = train.fit(
        model,
        optim.Adam(model.parameters()),
        data(),
        2,
        batch_size=16,
        progress=False,
        on_batch_end=lambda step, parts: seen.append((step, sorted(parts), parts["loss"].item())),
    )
    assert [s for s, _, _ in seen] == list(range(1, 9))
    assert seen[0][1] == ["kl", "loss", "reconstruction"]
    assert [v for _, _, v in seen[:4]] == pytest.approx(history.epochs[0]["step_losses"])


def test_clip_grad_norm_bounds_every_update() -> None:
    """With SGD lr 1, each update's size is the clipped gradient: its global norm is at most the bound."""
    model = models.Autoencoder([20, 4], loss="l2")
    before = [p.numpy().copy() for p in model.parameters()]
    train.fit(
        model,
        optim.SGD(model.parameters(), lr=1.0),
        data(16),
        1,
        batch_size=16,
        clip_grad_norm=0.01,
        progress=False,
    )
    step = np.sqrt(sum(((p.numpy() - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True)))
    assert 0.009 < step <= 0.0100001
    with pytest.raises(ValueError, match="clip_grad_norm must be a positive number"):
        train.fit(model, optim.SGD(model.parameters(), lr=1.0), data(), 1, clip_grad_norm=0)


class HalvingLR:
    """A stand-in with PyTorch's StepLR protocol (step() after each epoch)."""

    def __init__(self, optimizer: optim.Optimizer) -> None:
        self.optimizer, self.calls = optimizer, 0

    def step(self) -> None:
        self.calls += 1
        self.optimizer.lr *= 0.5


class OnPlateau:
    """A stand-in with ReduceLROnPlateau's protocol: step(metric)."""

    def __init__(self) -> None:
        self.metrics: list[float] = []

    def step(self, metrics: float, epoch: int | None = None) -> None:
        self.metrics.append(metrics)


def test_scheduler_steps_once_per_epoch_with_or_without_a_metric() -> None:
    model = models.Autoencoder([20, 4], loss="mse")
    sgd = optim.SGD(model.parameters(), lr=0.8)
    halving = HalvingLR(sgd)
    train.fit(model, sgd, data(), 3, batch_size=32, scheduler=halving, progress=False)
    assert halving.calls == 3 and sgd.lr == pytest.approx(0.1)
    plateau = OnPlateau()
    history = train.fit(
        model, sgd, data(), 2, batch_size=32, val_data=data(32), scheduler=plateau, progress=False
    )
    assert plateau.metrics == history.val_loss
    with pytest.raises(TypeError, match="scheduler must have a step"):
        train.fit(model, sgd, data(), 1, scheduler=object())


def test_summary_lists_layers_shapes_and_counts_tied_weights_once() -> None:
    text = tinyae.summary(models.TiedAutoencoder([784, 64]), (784,))
    lines = text.splitlines()
    assert lines[0] == "TiedAutoencoder"
    assert any("encoder.0.linear" in line and "(batch, 64)" in line and "50,240" in line for line in lines)
    assert any("(batch, 784)" in line and "784 *" in line for line in lines)
    assert "total parameters: 51,024" in text  # W (784 x 64) + b (64) + c (784), W once
    with pytest.raises(tinyae.OpError, match=r"input of shape \(2, 28, 28\).*flatten"):
        tinyae.summary(models.Autoencoder([784, 8]), (28, 28))
    with pytest.raises(TypeError, match=r"needs a tinyae\.nn\.Module"):
        tinyae.summary("model", (784,))  # type: ignore[arg-type]


def test_image_batch_error_names_the_real_shape_and_says_flatten() -> None:
    model = models.Autoencoder([784, 8])
    with pytest.raises(tinyae.OpError, match=r"\(4, 28, 28\).*expects 784; flatten images first"):
        model(tinyae.tensor(np.zeros((4, 28, 28), dtype=np.float32)))


threadpoolctl = pytest.importorskip("threadpoolctl", reason="BLAS thread control needs threadpoolctl")


def test_adaptive_threads_follow_the_other_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    original = threads.blas_threads()
    if original is None:
        pytest.skip("no BLAS library that threadpoolctl can control")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "_cores", lambda: 4)
    monkeypatch.setattr(threads, "_running_now", lambda: 0)  # nothing else runs at the start
    with threads.AdaptiveThreads(interval=0.0, setting="auto") as control:
        assert control.threads == original  # a quiet start keeps BLAS as it was
    monkeypatch.setattr(threads, "_running_now", lambda: 2)  # others run at the start
    with threads.AdaptiveThreads(interval=0.0, setting="auto") as control:
        assert control.threads == 1 and threads.blas_threads() == 1  # until the first look
        control.original = 4
        monkeypatch.setattr(control._clock, "others", lambda: 0.2)  # an idle machine ...
        control.check()
        assert control.threads == 1  # ... more threads only when two looks in a row agree
        control.check()
        assert control.threads == 4
        monkeypatch.setattr(control._clock, "others", lambda: 2.7)  # others hold about 3 of 4 cores
        control.check()
        assert control.threads == 1  # fewer at once
        monkeypatch.setattr(control._clock, "others", lambda: 1.0)
        control.check()
        control.check()
        assert control.threads == 3
        control.original = original  # what leaving gives back
    assert threads.blas_threads() == original  # given back on leaving


def test_thread_settings_are_checked_and_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="TINYAE_BLAS_THREADS must be"):
        threads.AdaptiveThreads(setting="many")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert threads.AdaptiveThreads().setting == "off"  # the user's own BLAS setting wins
    with threads.AdaptiveThreads(setting=1) as control:
        assert control.threads in (1, None)  # None: no BLAS library to control


def test_other_cpu_use_measures_a_busy_process() -> None:
    used = threads.other_cpu_use(0.1)
    assert used is None or used >= 0.0


def test_busy_machine_benchmark_runs_each_setting(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "busy_machine.py"
    out = tmp_path / "busy.json"
    command = f"{sys.executable} -c pass"
    args = [
        sys.executable,
        str(script),
        "--command",
        command,
        "--busy",
        "0,1",
        "--repeats",
        "1",
        "--json",
        str(out),
    ]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seconds = json.loads(out.read_text())["seconds"]
    assert sorted(seconds) == ["0", "1"] and sorted(seconds["1"]) == ["adaptive", "default", "one"]
    assert "x quiet" in result.stdout
