"""No host round trip inside a training step, on any backend.

On a GPU, reading a device value on the host (``bool(a)``, ``float(a)``, ``a.item()``, ``int(a)``, turning an
array into a NumPy array) makes the host wait until every queued kernel has run: one such read per step
serialises the whole training loop.  Boolean-mask indexing waits too (the result's shape depends on the
data), and so does array-api-compat's ``clip`` for CuPy, which is written with boolean masks.

These tests run one training step of every model on the strict backend, whose ``Array`` class is wrapped
here so that every such read is recorded with the line that made it, and ``clip`` is counted as the
boolean-mask read it becomes on CuPy.  A step is what ``fit`` does per batch: the loss, ``zero_grad``,
``backward``, gradient clipping, the optimizer update and the loss meter.  ``fit`` reads the loss once per
epoch, after the steps, for its history and its NaN check on a GPU: allowed, because it is outside the step,
and checked below by counting the reads of a 2-step and a 4-step epoch, which must be equal.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinyae
from tinyae import models, optim, train
from tinyae.backend import RandomGenerator
from tinyae.train.meter import LossMeter

strict_module = pytest.importorskip("array_api_strict")
Array = strict_module._array_object.Array

HOST_READS = [
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "__complex__",
    "__array__",
    "__dlpack__",
    "__iter__",
]
ROOT = str(Path(tinyae.__file__).resolve().parent)


class ReadLog:
    """Every host read of a strict array, as ``"what at file:line"`` of the innermost tinyae frame."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def record(self, what: str) -> None:
        frames = [f for f in traceback.extract_stack()[:-2] if f.filename.startswith(ROOT)]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} {frames[-1].name}" if frames else "?"
        self.reads.append(f"{what} at {where}")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReadLog]:
    log = ReadLog()

    def counted(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            log.record(name)
            return original(self, *args, **kwargs)

        return wrapper

    for name in HOST_READS:
        monkeypatch.setattr(Array, name, counted(name, getattr(Array, name)))

    def is_mask(key: Any) -> bool:
        keys = key if isinstance(key, tuple) else (key,)
        return any(isinstance(k, Array) and k.dtype == strict_module.bool for k in keys)

    def indexing(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, key: Any, *args: Any) -> Any:
            if is_mask(key):
                log.record(f"{name} with a boolean mask")
            return original(self, key, *args)

        return wrapper

    for name in ("__getitem__", "__setitem__"):
        monkeypatch.setattr(Array, name, indexing(name, getattr(Array, name)))
    original_clip = strict_module.clip

    def clip(*args: Any, **kwargs: Any) -> Any:
        log.record("clip (boolean masks in array-api-compat's CuPy clip)")
        return original_clip(*args, **kwargs)

    monkeypatch.setattr(strict_module, "clip", clip)
    yield log


def build(name: str) -> Any:
    tiny: dict[str, Callable[[], Any]] = {
        "plain": lambda: models.Autoencoder([8, 6, 3], activation="relu", loss="l2", backend="strict"),
        "tied": lambda: models.TiedAutoencoder([8, 5], activation="sigmoid", loss="bce", backend="strict"),
        "denoising": lambda: models.DenoisingAutoencoder([8, 5], noise="masking", backend="strict"),
        "denoising-gaussian": lambda: models.DenoisingAutoencoder(
            [8, 5], noise="gaussian", noise_level=0.2, backend="strict"
        ),
        "sparse": lambda: models.SparseAutoencoder(
            [8, 5], rho=0.1, beta=2.0, weight_decay=1e-3, backend="strict"
        ),
        "contractive": lambda: models.ContractiveAutoencoder([8, 5, 3], contraction=0.3, backend="strict"),
        "batch-norm": lambda: models.Autoencoder(
            [8, 6, 3], activation="softplus", batch_norm=True, backend="strict"
        ),
        "stacked": lambda: models.StackedAutoencoder([8, 6, 4], denoising="masking", backend="strict"),
        "vae": lambda: models.VAE(8, hidden=[6, 5], latent=2, likelihood="bernoulli", backend="strict"),
        "vae-gaussian": lambda: models.VAE(8, hidden=[6], latent=2, likelihood="gaussian", backend="strict"),
        "classifier": lambda: models.Classifier([8, 6, 4], n_classes=3, backend="strict"),
    }
    return tiny[name]()


MODEL_NAMES = [
    "plain",
    "tied",
    "denoising",
    "denoising-gaussian",
    "sparse",
    "contractive",
    "batch-norm",
    "stacked",
    "vae",
    "vae-gaussian",
    "classifier",
]
OPTIMIZERS: dict[str, Callable[[Any], optim.Optimizer]] = {
    "adam": lambda params: optim.Adam(params, lr=1e-3),
    "sgd-momentum": lambda params: optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4),
    "rmsprop": lambda params: optim.RMSprop(params, lr=0.01),
}


def batch_for(model: Any, n: int = 6, seed: int = 0) -> tuple[Any, ...]:
    host = np.random.default_rng(seed)
    x = tinyae.tensor(host.uniform(0.05, 0.95, size=(n, 8)).astype(np.float32), backend="strict")
    if isinstance(model, models.Classifier):
        labels = tinyae.get_backend("strict").asarray(host.integers(0, 3, size=n), dtype="int64")
        return x, labels
    return (x,)


def one_step(model: Any, optimizer: optim.Optimizer, meter: LossMeter, rng: RandomGenerator) -> None:
    batch = batch_for(model)
    total, parts = model.loss(*batch, rng=rng)
    optimizer.zero_grad()
    total.backward()
    optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    meter.add(total, parts, size=6)


@pytest.mark.parametrize("optimizer_name", list(OPTIMIZERS))
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_training_step_reads_nothing_back_to_the_host(
    name: str, optimizer_name: str, reads: ReadLog
) -> None:
    tinyae.manual_seed(0)
    model = build(name)
    model.train()
    optimizer = OPTIMIZERS[optimizer_name](model.parameters())
    strict = tinyae.get_backend("strict")
    meter, rng = LossMeter(strict), RandomGenerator(strict, 0)
    batch_for(model)  # building the batch is the loader's job, outside the step
    reads.reads.clear()
    for _ in range(2):  # the first step allocates the optimizer's state; the second is the steady state
        one_step(model, optimizer, meter, rng)
    assert reads.reads == [], f"{name} with {optimizer_name}: host reads in one step: {reads.reads}"
    loss, _ = meter.means()  # the one read per epoch (outside the step) still works and is finite
    assert np.isfinite(loss)


def test_the_recorder_sees_each_kind_of_host_read(reads: ReadLog) -> None:
    strict = tinyae.get_backend("strict")
    xp = strict.xp
    a = strict.asarray([1.0, -2.0], dtype="float32")
    bool(xp.any(a > 0))
    float(xp.sum(a))
    tinyae.Tensor(xp.sum(a), backend=strict).item()
    strict.to_numpy(a)
    a[a > 0]
    xp.clip(a, 0.0, 1.0)
    kinds = " | ".join(reads.reads)
    for what in ("__bool__", "__float__", "with a boolean mask", "clip"):
        assert what in kinds
    assert len(reads.reads) >= 6 and "test_host_round_trips" not in kinds


def epoch_reads(steps: int, reads: ReadLog) -> int:
    tinyae.manual_seed(0)
    model = build("plain")
    x = np.random.default_rng(0).uniform(0, 1, size=(4 * steps, 8)).astype(np.float32)
    data = tinyae.get_backend("strict").asarray(x)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    reads.reads.clear()
    train.fit(
        model, optimizer, data, epochs=1, batch_size=4, shuffle=False, progress=False, check_each_step=False
    )
    return len(reads.reads)


def test_fit_reads_the_loss_once_per_epoch_not_once_per_step(reads: ReadLog) -> None:
    # fit's per-epoch read (history, NaN check on a GPU) is outside the step: it must not grow with steps
    assert epoch_reads(2, reads) == epoch_reads(4, reads)


def test_clip_grad_norm_keeps_the_norm_on_the_device(reads: ReadLog) -> None:
    a = tinyae.tensor([0.0, 0.0], backend="strict", requires_grad=True)
    b = tinyae.tensor([0.0], backend="strict", requires_grad=True)
    a.grad, b.grad = a.backend.asarray([3.0, 0.0]), b.backend.asarray([4.0])
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert reads.reads == [] and total.backend.name == "strict" and total.shape == ()
    assert total.item() == pytest.approx(5.0) and a.numpy().tolist() == [0.0, 0.0]
    np.testing.assert_allclose(a.backend.to_numpy(a.grad), [0.6, 0.0], rtol=1e-6)
    on_numpy = tinyae.tensor([1.0], requires_grad=True)
    on_numpy.grad = on_numpy.backend.asarray([1.0], dtype="float32")
    with pytest.raises(ValueError, match="several backends: numpy, strict"):
        optim.clip_grad_norm_([a, on_numpy], max_norm=1.0)
