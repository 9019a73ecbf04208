"""The five workloads in PyTorch (CPU, eager), written the way a PyTorch user writes them.

``torch.nn`` layers, ``torch.nn.functional`` losses, ``torch.optim`` optimizers and the usual step
``opt.zero_grad(); loss.backward(); opt.step()``.  The starting weights are the same host arrays every other
system gets; ``nn.Linear`` stores its weight as (out, in), the transpose of the (in, out) layout used here,
so those are transposed on the way in and on the way out.

``build`` returns ``(params, step, to_host)``: the parameters in the order of ``workloads.parameter_names``,
``step(x, eps=None) -> loss`` (a detached tensor) and ``to_host()``, the current parameters as NumPy arrays in
the (in, out) layout.  Importing this module imports torch: callers check that it is installed first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF
from torch import nn
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

__all__ = ["build"]

Step = Callable[..., torch.Tensor]
Weights = dict[str, np.ndarray]


def _torch_dtype(weights: Weights) -> torch.dtype:
    dtype: torch.dtype = getattr(torch, str(next(iter(weights.values())).dtype))
    return dtype


def _load(pairs: list[tuple[torch.Tensor, bool]], workload: Workload, weights: Weights) -> list[torch.Tensor]:
    """Set each parameter (``transposed``: stored as (out, in)) to its host weights; return them in order."""
    names = parameter_names(workload)
    if len(pairs) != len(names):
        raise ValueError(f"{workload.key}: the model has {len(pairs)} parameters, expected {names}")
    with torch.no_grad():
        for (p, transposed), name in zip(pairs, names, strict=True):
            host = weights[name].T if transposed else weights[name]
            p.copy_(torch.from_numpy(np.ascontiguousarray(host)))
    return [p for p, _ in pairs]


def _to_host(pairs: list[tuple[torch.Tensor, bool]]) -> Callable[[], list[np.ndarray]]:
    def to_host() -> list[np.ndarray]:
        return [(p.detach().numpy().T if t else p.detach().numpy()).copy() for p, t in pairs]

    return to_host


def _linear_pairs(module: nn.Module) -> list[tuple[torch.Tensor, bool]]:
    """A module's parameters in order, flagged True for the (out, in) weights of its Linear layers."""
    pairs = []
    for sub in module.modules():
        if not list(sub.children()):  # leaves only, in registration order
            for name, p in sub.named_parameters(recurse=False):
                pairs.append((p, isinstance(sub, nn.Linear) and name == "weight"))
    return pairs


def _optimizer(workload: Workload, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    if workload.optimizer == "adam":
        return torch.optim.Adam(params, lr=workload.lr, betas=ADAM_BETAS, eps=ADAM_EPS)
    if workload.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=workload.lr, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS)
    return torch.optim.SGD(params, lr=workload.lr)


def _chain(workload: Workload, weights: Weights) -> tuple[list[torch.Tensor], Step, Callable]:
    dtype = _torch_dtype(weights)
    modules: list[nn.Module] = []
    for layer in workload.layers:
        modules.append(nn.Linear(layer.n_in, layer.n_out, bias=layer.bias, dtype=dtype))
        if layer.batch_norm:
            modules.append(nn.BatchNorm1d(layer.n_out, eps=BN_EPS, momentum=BN_MOMENTUM, dtype=dtype))
        modules.append(nn.ReLU() if layer.activation == "relu" else nn.Sigmoid())
    model = nn.Sequential(*modules)
    pairs = _linear_pairs(model)
    params = _load(pairs, workload, weights)
    opt = _optimizer(workload, params)
    loss_fn = {
        "l2": lambda y, x: TF.mse_loss(y, x, reduction="sum") * 0.5,
        "l2_norm": lambda y, x: torch.sqrt(TF.mse_loss(y, x, reduction="none").sum(1) + NORM_FLOOR).mean(),
        "mse": TF.mse_loss,
    }[workload.loss]

    def step(x: torch.Tensor, eps: Any = None) -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(x), x)
        loss.backward()
        opt.step()
        return loss.detach()

    return params, step, _to_host(pairs)


def _tied(workload: Workload, weights: Weights) -> tuple[list[torch.Tensor], Step, Callable]:
    dtype = _torch_dtype(weights)
    W = nn.Parameter(torch.empty(784, 500, dtype=dtype))
    b = nn.Parameter(torch.empty(500, dtype=dtype))
    c = nn.Parameter(torch.empty(784, dtype=dtype))
    pairs = [(W, False), (b, False), (c, False)]
    params = _load(pairs, workload, weights)
    opt = _optimizer(workload, params)
    probabilities = workload.loss == "bce_probs"

    def step(x: torch.Tensor, eps: Any = None) -> torch.Tensor:
        opt.zero_grad()
        h = torch.sigmoid(torch.addmm(b, x, W))
        logits = torch.addmm(c, h, W.t())
        if probabilities:  # W2p: sigmoid, then the cross-entropy of the probabilities
            loss = TF.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / x.shape[0]
        else:
            loss = TF.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        loss.backward()
        opt.step()
        return loss.detach()

    return params, step, _to_host(pairs)


def _vae(workload: Workload, weights: Weights, seed: int = 0) -> tuple[list[torch.Tensor], Step, Callable]:
    dtype = _torch_dtype(weights)
    encoder = nn.Linear(784, 400, dtype=dtype)
    mu_head, log_var_head = nn.Linear(400, 20, dtype=dtype), nn.Linear(400, 20, dtype=dtype)
    decoder = nn.Sequential(nn.Linear(20, 400, dtype=dtype), nn.ReLU(), nn.Linear(400, 784, dtype=dtype))
    pairs = [pair for m in (encoder, mu_head, log_var_head, decoder) for pair in _linear_pairs(m)]
    params = _load(pairs, workload, weights)
    opt = _optimizer(workload, params)
    generator = torch.Generator().manual_seed(seed)
    probabilities = workload.loss.startswith("bce_probs")

    def step(x: torch.Tensor, eps: Any = None) -> torch.Tensor:
        opt.zero_grad()
        h = torch.relu(encoder(x))
        mu, log_var = mu_head(h), log_var_head(h)
        if eps is None:
            eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
        logits = decoder(mu + torch.exp(0.5 * log_var) * eps)
        if probabilities:  # W5p: sigmoid, then the cross-entropy of the probabilities
            reconstruction = TF.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / x.shape[0]
        else:
            reconstruction = TF.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        kl = 0.5 * (mu * mu + torch.expm1(log_var) - log_var).sum(1).mean()
        loss = reconstruction + kl
        loss.backward()
        opt.step()
        return loss.detach()

    return params, step, _to_host(pairs)


_BUILDERS = {"mlp": _chain, "tied": _tied, "vae": _vae}


def build(key: str, weights: Weights) -> tuple[list[torch.Tensor], Step, Callable[[], list[np.ndarray]]]:
    """``(params, step, to_host)`` of workload ``key`` from the host starting ``weights``."""
    workload = WORKLOADS[key]
    return _BUILDERS[workload.kind](workload, weights)
