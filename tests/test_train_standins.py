"""Small stand-in models for the train and io tests, built from tinyae.nn only, and checks of the
stand-ins themselves.

They follow the model protocol of tinyae.models (``loss(*batch, rng=None) -> (total, parts)``, ``config``)
so that the fit loop and checkpoints are tested without depending on the real models.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import nn
from tinyae.autograd import no_grad
from tinyae.backend import dtype_name
from tinyae.io import register_model
from tinyae.tensor import Tensor


@register_model
class TinyAE(nn.Module):
    """x -> sigmoid(BN(x @ W1 + b1)) @ W2 + b2; loss = MSE + a small L2 penalty on W1 (two parts)."""

    def __init__(
        self,
        n_in: int = 6,
        n_hidden: int = 3,
        batch_norm: bool = False,
        dtype: str = "float32",
        backend: str | None = None,
    ) -> None:
        super().__init__()
        self.n_in, self.n_hidden, self.batch_norm = n_in, n_hidden, batch_norm
        self.encoder = nn.Linear(n_in, n_hidden, dtype=dtype, backend=backend)
        if batch_norm:
            self.norm = nn.BatchNorm1d(n_hidden, dtype=dtype, backend=backend)
        self.decoder = nn.Linear(n_hidden, n_in, dtype=dtype, backend=backend)

    def forward(self, x: Tensor) -> Tensor:
        h = self.encoder(x)
        if self.batch_norm:
            h = self.norm(h)
        return self.decoder(F.sigmoid(h))

    def loss(self, *batch: Any, rng: Any = None) -> tuple[Tensor, dict[str, Tensor]]:
        x = batch[0]
        w = self.encoder.weight
        parts = {"mse": F.mse_loss(self(x), x), "l2": (w * w).sum() * 1e-4}
        return parts["mse"] + parts["l2"], parts

    @property
    def config(self) -> dict[str, Any]:
        weight = self.encoder.weight
        return {
            "n_in": self.n_in,
            "n_hidden": self.n_hidden,
            "batch_norm": self.batch_norm,
            "dtype": dtype_name(weight.dtype),
            "backend": weight.backend.name,
        }


class NaNAt(TinyAE):
    """A TinyAE whose loss turns NaN (or infinite) at its ``at``-th call of ``loss``."""

    def __init__(self, at: int, value: float = float("nan"), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.at, self.value, self.calls = at, value, 0

    def loss(self, *batch: Any, rng: Any = None) -> tuple[Tensor, dict[str, Tensor]]:
        self.calls += 1
        total, parts = super().loss(*batch, rng=rng)
        if self.calls == self.at:
            parts["mse"] = parts["mse"] + self.value
            total = parts["mse"] + parts["l2"]
        return total, parts


class Recorder(TinyAE):
    """A TinyAE that records what each loss call received: (number of tensors, dtypes, batch rows)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[tuple[int, list[str], int]] = []

    def loss(self, *batch: Any, rng: Any = None) -> tuple[Tensor, dict[str, Tensor]]:
        self.seen.append((len(batch), [dtype_name(t.dtype) for t in batch], batch[0].shape[0]))
        return super().loss(*batch, rng=rng)


class LayerView(nn.Module):
    """One layer of TinyStacked as an autoencoder: shares the stacked model's Linear modules."""

    def __init__(self, encoder: nn.Linear, decoder: nn.Linear) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def loss(self, *batch: Any, rng: Any = None) -> tuple[Tensor, dict[str, Tensor]]:
        x = batch[0]
        mse = F.mse_loss(self.decoder(F.sigmoid(self.encoder(x))), x)
        return mse, {"mse": mse}


class TinyStacked(nn.Module):
    """The stacked-autoencoder interface of pretrain_greedy: num_layers, layer_autoencoder, layer_inputs."""

    def __init__(self, sizes: tuple[int, ...] = (6, 4, 2)) -> None:
        super().__init__()
        self.sizes = sizes
        for i in range(len(sizes) - 1):
            self.add_module(f"enc{i}", nn.Linear(sizes[i], sizes[i + 1]))
            self.add_module(f"dec{i}", nn.Linear(sizes[i + 1], sizes[i]))
        self.input_calls: list[tuple[int, bool, bool]] = []  # (layer, grad enabled, training)

    @property
    def num_layers(self) -> int:
        return len(self.sizes) - 1

    def layer_autoencoder(self, i: int) -> LayerView:
        return LayerView(getattr(self, f"enc{i}"), getattr(self, f"dec{i}"))

    def layer_inputs(self, x: Any, i: int) -> Tensor:
        self.input_calls.append((i, tinyae.is_grad_enabled(), self.training))
        h = x if isinstance(x, Tensor) else Tensor(x)
        with no_grad():
            for j in range(i):
                h = F.sigmoid(getattr(self, f"enc{j}")(h))
        return h


def random_data(n: int = 48, features: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, size=(n, features)).astype(np.float32)


def test_tiny_ae_rebuilds_from_its_config() -> None:
    model = TinyAE(n_in=5, n_hidden=2, batch_norm=True)
    rebuilt = type(model)(**model.config)
    assert [(k, v.shape) for k, v in rebuilt.state_dict().items()] == [
        (k, v.shape) for k, v in model.state_dict().items()
    ]


def test_stand_in_losses_are_finite_scalars_with_two_parts() -> None:
    total, parts = TinyAE().loss(tinyae.tensor(random_data()))
    assert total.shape == () and sorted(parts) == ["l2", "mse"] and np.isfinite(total.item())
    nan_total, _ = NaNAt(at=1).loss(tinyae.tensor(random_data()))
    assert np.isnan(nan_total.item())
