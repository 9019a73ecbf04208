"""The five workloads written with tinyae the way a user writes them.

Layers from ``tinyae.nn`` (Linear, BatchNorm1d, activations), losses from ``tinyae.functional``, an
optimizer from ``tinyae.optim``, and a training step ``opt.zero_grad(); loss.backward(); opt.step()``.

Each function takes the host starting weights (``workloads.initial_weights``) and a backend and returns
``(params, step)``: ``params`` the model's parameters in the order of ``workloads.parameter_names``, and
``step(x, eps=None) -> loss`` one training step on the batch tensor ``x`` (``eps``: the VAE's noise, drawn
from the backend's generator when None).  The loss is returned as a tensor, so that timing a GPU run does
not wait for the device at every step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from workloads import (
    ADAM_BETAS,
    ADAM_EPS,
    BN_EPS,
    BN_MOMENTUM,
    NORM_FLOOR,
    RMSPROP_ALPHA,
    RMSPROP_EPS,
    WORKLOADS,
    Workload,
    parameter_names,
)

import tinyae
import tinyae.functional as F
from tinyae import nn, optim

__all__ = ["BUILDERS", "build"]

Step = Callable[..., tinyae.Tensor]
Weights = dict[str, np.ndarray]


def _loaded(params: Iterable[nn.Parameter], workload: Workload, weights: Weights) -> list[nn.Parameter]:
    """The parameters, set to the host ``weights`` (copied onto each parameter's backend)."""
    params = list(params)
    names = parameter_names(workload)
    if len(params) != len(names):
        raise ValueError(f"{workload.key}: the model has {len(params)} parameters, expected {names}")
    for p, name in zip(params, names, strict=True):
        host = weights[name]
        if p.shape != host.shape:
            raise ValueError(f"{workload.key}: {name} has shape {p.shape}, the weights {host.shape}")
        p.data = p.backend.asarray(host, dtype=p.dtype, copy=True)
    return params


def _optimizer(workload: Workload, params: list[nn.Parameter]) -> optim.Optimizer:
    if workload.optimizer == "adam":
        return optim.Adam(params, lr=workload.lr, betas=ADAM_BETAS, eps=ADAM_EPS)
    if workload.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=workload.lr, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS)
    return optim.SGD(params, lr=workload.lr)


def _sequential(workload: Workload, dtype: str, backend: tinyae.Backend) -> nn.Sequential:
    """Linear (-> BatchNorm1d) -> activation for every layer of a chain workload."""
    modules: list[nn.Module] = []
    for layer in workload.layers:
        modules.append(nn.Linear(layer.n_in, layer.n_out, bias=layer.bias, dtype=dtype, backend=backend))
        if layer.batch_norm:
            modules.append(
                nn.BatchNorm1d(layer.n_out, momentum=BN_MOMENTUM, eps=BN_EPS, dtype=dtype, backend=backend)
            )
        modules.append(nn.ReLU() if layer.activation == "relu" else nn.Sigmoid())
    return nn.Sequential(*modules)


def _chain_workload(
    key: str, weights: Weights, backend: Any, loss_fn: Callable[[tinyae.Tensor, tinyae.Tensor], tinyae.Tensor]
) -> tuple[list[nn.Parameter], Step]:
    workload = WORKLOADS[key]
    target = tinyae.get_backend(backend)
    model = _sequential(workload, _dtype(weights), target)
    params = _loaded(model.parameters(), workload, weights)
    opt = _optimizer(workload, params)

    def step(x: tinyae.Tensor, eps: Any = None) -> tinyae.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(x), x)
        loss.backward()
        opt.step()
        return loss

    return params, step


def _dtype(weights: Weights) -> str:
    return str(next(iter(weights.values())).dtype)


def w1_autoencoder(weights: Weights, backend: Any = None) -> tuple[list[nn.Parameter], Step]:
    """W1: AE 784-500-300-20-300-500-784, ReLU, sigmoid output, ``l2_loss`` (0.5 sum of squares), Adam."""
    return _chain_workload("W1", weights, backend, lambda y, x: F.l2_loss(y - x))


def w2_tied_autoencoder(weights: Weights, backend: Any = None) -> tuple[list[nn.Parameter], Step]:
    """W2: tied AE 784-500: ``h = sigmoid(x W + b)``, logits ``h W^T + c``, cross-entropy summed over the
    pixels and averaged over the batch (from the logits), SGD lr 0.1."""
    return _tied_autoencoder("W2", weights, backend)


def w2p_tied_autoencoder(weights: Weights, backend: Any = None) -> tuple[list[nn.Parameter], Step]:
    """W2p: W2 as the Theano post writes it: ``sigmoid(h W^T + c)``, then ``binary_cross_entropy`` of the
    probabilities (summed over the pixels, averaged over the batch)."""
    return _tied_autoencoder("W2p", weights, backend)


def _tied_autoencoder(key: str, weights: Weights, backend: Any) -> tuple[list[nn.Parameter], Step]:
    workload = WORKLOADS[key]
    probabilities = workload.loss == "bce_probs"
    target = tinyae.get_backend(backend)
    dtype = _dtype(weights)
    encoder = nn.Linear(784, 500, dtype=dtype, backend=target)
    decoder_bias = nn.Parameter(np.zeros(784, dtype=dtype), backend=target)
    params = _loaded([encoder.weight, encoder.bias, decoder_bias], workload, weights)
    opt = _optimizer(workload, params)

    def step(x: tinyae.Tensor, eps: Any = None) -> tinyae.Tensor:
        opt.zero_grad()
        h = F.sigmoid(encoder(x))
        logits = F.linear(h, encoder.weight, decoder_bias, transpose_weight=True)
        if probabilities:
            loss = F.binary_cross_entropy(F.sigmoid(logits), x, reduction="sum") / x.shape[0]
        else:
            loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        loss.backward()
        opt.step()
        return loss

    return params, step


def _l2_norm_loss(y: tinyae.Tensor, x: tinyae.Tensor) -> tinyae.Tensor:
    # as tinyae.models' "l2_norm": the floor keeps the norm's gradient finite at a perfect reconstruction
    return F.sqrt(F.mse_loss(y, x, reduction="none").sum(axis=-1) + NORM_FLOOR).mean()


def w3_batchnorm_autoencoder(weights: Weights, backend: Any = None) -> tuple[list[nn.Parameter], Step]:
    """W3: batch-norm AE 784-400-300-200-20 and its mirror (Linear -> BatchNorm1d -> ReLU, sigmoid output),
    loss the batch mean of each sample's L2 error norm, Adam."""
    return _chain_workload("W3", weights, backend, _l2_norm_loss)


def w4_stacked_autoencoder(weights: Weights, backend: Any = None) -> tuple[list[nn.Parameter], Step]:
    """W4: stacked AE 784-256-128-256-784, sigmoid everywhere, MSE (mean), RMSprop lr 0.02."""
    return _chain_workload("W4", weights, backend, F.mse_loss)


def w5_vae(weights: Weights, backend: Any = None) -> tuple[list[nn.Parameter], Step]:
    """W5: VAE 784-400-20, decoder 20-400-784 (ReLU), BCE from the logits summed over the pixels plus the
    Gaussian KL, averaged over the batch, Adam."""
    return _vae(WORKLOADS["W5"], weights, backend)


def w5p_vae(weights: Weights, backend: Any = None) -> tuple[list[nn.Parameter], Step]:
    """W5p: W5 with a sigmoid output and ``binary_cross_entropy`` of the probabilities (as PyTorch's VAE
    example writes it)."""
    return _vae(WORKLOADS["W5p"], weights, backend)


def _vae(workload: Workload, weights: Weights, backend: Any) -> tuple[list[nn.Parameter], Step]:
    probabilities = workload.loss.startswith("bce_probs")
    target = tinyae.get_backend(backend)
    dtype = _dtype(weights)

    def dense(n_in: int, n_out: int) -> nn.Linear:
        return nn.Linear(n_in, n_out, dtype=dtype, backend=target)

    encoder, mu_head, log_var_head = dense(784, 400), dense(400, 20), dense(400, 20)
    decoder = nn.Sequential(dense(20, 400), nn.ReLU(), dense(400, 784))
    modules = (encoder, mu_head, log_var_head, decoder)
    params = _loaded((p for m in modules for p in m.parameters()), workload, weights)
    opt = _optimizer(workload, params)

    def step(x: tinyae.Tensor, eps: Any = None) -> tinyae.Tensor:
        opt.zero_grad()
        h = F.relu(encoder(x))
        mu, log_var = mu_head(h), log_var_head(h)
        if eps is None:
            eps = target.random.normal(mu.shape, mu.dtype)
        logits = decoder(F.reparameterize(mu, log_var, eps))
        if probabilities:
            reconstruction = F.binary_cross_entropy(F.sigmoid(logits), x, reduction="sum") / x.shape[0]
        else:
            reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        loss = reconstruction + F.gaussian_kl(mu, log_var)
        loss.backward()
        opt.step()
        return loss

    return params, step


BUILDERS: dict[str, Callable[[Weights, Any], tuple[list[nn.Parameter], Step]]] = {
    "W1": w1_autoencoder,
    "W2": w2_tied_autoencoder,
    "W2p": w2p_tied_autoencoder,
    "W3": w3_batchnorm_autoencoder,
    "W4": w4_stacked_autoencoder,
    "W5": w5_vae,
    "W5p": w5p_vae,
}


def build(key: str, weights: Weights, backend: Any = None) -> tuple[list[nn.Parameter], Step]:
    """``(params, step)`` of workload ``key`` on ``backend`` from the host starting ``weights``."""
    return BUILDERS[key](weights, backend)
