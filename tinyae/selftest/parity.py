"""Same weights, same batches, same noise: every model's losses over a few steps on two backends.

A model is built twice from one seed (parameters are drawn on the host, so both copies start from the same
weights), trained for a few Adam steps on the reference backend (numpy) and on the backend under test, and
the loss of every step is compared.  Noise (corruption, the VAE's sampling) is drawn on the host and copied
in, so that both runs see the same numbers; each backend's own generator is tested elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tinyae
from tinyae import models, optim
from tinyae.backend import Backend, RandomGenerator

__all__ = ["MODEL_FACTORIES", "TOLERANCE", "HostNoise", "compare_model", "compare_all"]

# relative tolerance on each step's loss: float32 as benchmarks/train.py checks its workloads
TOLERANCE = {"float64": 1e-10, "float32": 1e-3}

Factory = Callable[[str, str, int], Any]  # (dtype, backend, width) -> model
MODEL_FACTORIES: dict[str, Factory] = {
    "plain": lambda d, b, w: models.Autoencoder(
        [w, w // 2, 8], activation="relu", loss="l2", dtype=d, backend=b
    ),
    "tied": lambda d, b, w: models.TiedAutoencoder([w, w // 2], loss="bce", dtype=d, backend=b),
    "denoising": lambda d, b, w: models.DenoisingAutoencoder(
        [w, w // 2], noise="masking", dtype=d, backend=b
    ),
    "sparse": lambda d, b, w: models.SparseAutoencoder([w, w // 2], rho=0.05, beta=3.0, dtype=d, backend=b),
    "contractive": lambda d, b, w: models.ContractiveAutoencoder(
        [w, w // 2], contraction=0.1, dtype=d, backend=b
    ),
    "batch-norm": lambda d, b, w: models.Autoencoder(
        [w, w // 2, 8], activation="relu", batch_norm=True, dtype=d, backend=b
    ),
    "stacked": lambda d, b, w: models.StackedAutoencoder([w, w // 2, 8], dtype=d, backend=b),
    "vae": lambda d, b, w: models.VAE(w, hidden=[w // 2], latent=4, dtype=d, backend=b),
    "classifier": lambda d, b, w: models.Classifier([w, w // 2], n_classes=10, dtype=d, backend=b),
}


class HostNoise:
    """A :class:`~tinyae.backend.RandomGenerator` look-alike whose draws come from NumPy's generator and are
    copied to ``backend``: two backends given the same seed see the same noise."""

    def __init__(self, backend: Backend, seed: int) -> None:
        self.backend = backend
        self.host = RandomGenerator(tinyae.get_backend("numpy"), seed)

    def uniform(self, shape: tuple[int, ...], dtype: Any) -> Any:
        return self.backend.asarray(self.host.uniform(shape, dtype))

    def normal(self, shape: tuple[int, ...], dtype: Any) -> Any:
        return self.backend.asarray(self.host.normal(shape, dtype))


def _losses(
    name: str, backend: str, dtype: str, steps: int, width: int, seed: int
) -> tuple[list[float], float]:
    """The loss of each of ``steps`` Adam steps, and the parameters' first values (to prove equal starts)."""
    tinyae.manual_seed(seed)
    model = MODEL_FACTORIES[name](dtype, backend, width)
    model.train()
    target = tinyae.get_backend(backend)
    first = float(sum(p.numpy().ravel()[0] for p in model.parameters()))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    host, noise = tinyae.backend.host_rng(), HostNoise(target, seed)
    losses = []
    for _ in range(steps):
        x = tinyae.tensor(host.uniform(0.0, 1.0, size=(32, width)), dtype=dtype, backend=target)
        labels = host.integers(0, 10, size=32)
        batch = (x, target.asarray(labels, dtype="int64")) if name == "classifier" else (x,)
        total, _ = model.loss(*batch, rng=noise)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        losses.append(total.item())  # a host read per step: fine here, this compares numbers, not speed
    return losses, first


def compare_model(
    name: str, backend: str, dtype: str, steps: int = 5, width: int = 64, seed: int = 0
) -> dict:
    """One model on ``backend`` against numpy: the worst relative difference over the steps' losses."""
    reference, start_ref = _losses(name, "numpy", dtype, steps, width, seed)
    tested, start = _losses(name, backend, dtype, steps, width, seed)
    worst = max(abs(a - b) / max(abs(b), 1e-30) for a, b in zip(tested, reference, strict=True))
    ok = worst <= TOLERANCE[dtype] and start == start_ref
    return {
        "model": name,
        "dtype": dtype,
        "backend": backend,
        "steps": steps,
        "losses": tested,
        "reference_losses": reference,
        "max_rel_diff": worst,
        "tolerance": TOLERANCE[dtype],
        "same_start": start == start_ref,
        "ok": ok,
    }


def compare_all(backend: str, steps: int = 5, width: int = 64, seed: int = 0) -> list[dict]:
    """:func:`compare_model` for every model in float64 and float32."""
    return [
        compare_model(name, backend, dtype, steps, width, seed)
        for dtype in ("float64", "float32")
        for name in MODEL_FACTORIES
    ]
