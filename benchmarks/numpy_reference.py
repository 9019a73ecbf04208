"""The five workloads written by hand in NumPy: forward pass, backward pass and optimizer update, no autograd.

This is the baseline tinyae is measured against ("the speed of hand-written NumPy", DESIGN.md section 7),
so it is written the way a careful NumPy programmer would write it:

- the weights' dtype throughout (float32 for timing), Python floats as constants (they never promote);
- in-place arithmetic (``out=``, ``+=``) where it saves a temporary array; the optimizers update the
  parameters in place with one preallocated scratch array per parameter;
- masks are multiplied, never selected with ``np.where`` (20x slower than a multiply on random signs here);
- stable forms: the sigmoid and the cross-entropy from ``e = exp(-|a|)``, which never overflows (pytest
  turns an overflow warning into an error, and a benchmark must not warn either);
- only the gradients the loss needs: no gradient for the data batch (the first layer's input).

Each builder takes the host starting weights (``workloads.initial_weights``) and returns
``(params, step)``: ``params`` the parameter arrays in the order of ``workloads.parameter_names`` (copies,
updated in place by ``step``) and ``step(x, eps=None) -> loss``, one training step on the batch ``x``
(``eps``: the VAE's reparameterisation noise, drawn from a seeded generator when None).
"""

from __future__ import annotations

import math
from collections.abc import Callable

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

__all__ = ["BUILDERS", "build"]

Step = Callable[..., float]


# --- elementwise pieces -------------------------------------------------------------------------------------


def exp_neg_abs(a: np.ndarray) -> np.ndarray:
    """``exp(-|a|)``, in (0, 1] for any finite a: the one exponential the stable forms need."""
    e = np.abs(a)
    np.negative(e, out=e)
    return np.exp(e, out=e)


def sigmoid_from(a: np.ndarray, e: np.ndarray) -> np.ndarray:
    """sigma(a) = 1 / (1 + e) for a >= 0 and e / (1 + e) for a < 0, with ``e = exp(-|a|)``.

    The numerator (1 or e) is ``max(e, [a >= 0])`` because e <= 1: no branch, no overflow.
    """
    s = np.maximum(e, a >= 0)
    s /= 1 + e
    return s


def sigmoid(a: np.ndarray) -> np.ndarray:
    return sigmoid_from(a, exp_neg_abs(a))


def sigmoid_backward_(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``g *= y (1 - y)`` in place, for ``y = sigmoid(a)``: d loss / d a from d loss / d y."""
    slope = 1 - y
    slope *= y
    g *= slope
    return g


def bce_with_logits(z: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Cross-entropy of ``sigmoid(z)`` against x, summed over pixels and averaged over the batch, and its
    gradient in z: per element ``max(z, 0) - z x + log1p(exp(-|z|))``, gradient ``(sigmoid(z) - x) / n``."""
    n = z.shape[0]
    e = exp_neg_abs(z)
    terms = np.maximum(z, 0)
    terms -= z * x
    terms += np.log1p(e)
    loss = float(terms.sum()) / n
    grad = sigmoid_from(z, e)
    grad -= x
    grad *= 1.0 / n
    return loss, grad


LOG_FLOOR = -100.0  # PyTorch's BCELoss clamps each log here
SLOPE_FLOOR = 1e-12  # ... and divides by max(p (1 - p), 1e-12) in its backward


def clamped_log(p: np.ndarray) -> np.ndarray:
    """``max(log p, -100)`` for p in [0, 1]; p is first raised to the smallest subnormal number, whose
    log lies below -100, so that log 0 (a warning) is never taken."""
    floor = np.full(p.shape[-1:], np.finfo(p.dtype).smallest_subnormal, dtype=p.dtype)
    out = np.maximum(p, floor)
    np.log(out, out=out)
    return np.maximum(out, np.full(p.shape[-1:], LOG_FLOOR, dtype=p.dtype), out=out)


def bce_on_probabilities(p: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Cross-entropy of probabilities p against x, summed over pixels and averaged over the batch, with
    PyTorch's BCELoss semantics: ``-(x log p + (1 - x) log(1 - p))``, logs clamped at -100; gradient in p
    ``(p - x) / max(p (1 - p), 1e-12) / n``."""
    n = p.shape[0]
    q = 1 - p
    log_q = clamped_log(q)
    diff = clamped_log(p)
    diff -= log_q  # x log p + (1 - x) log q = log q + x (log p - log q)
    loss = -(float(log_q.sum()) + float(np.vdot(x, diff))) / n
    q *= p
    np.maximum(q, np.full(p.shape[-1:], SLOPE_FLOOR, dtype=p.dtype), out=q)
    grad = p - x
    grad /= q
    grad *= 1.0 / n
    return loss, grad


def cross_entropy_of_output(z: np.ndarray, x: np.ndarray, probabilities: bool) -> tuple[float, np.ndarray]:
    """The cross-entropy of the output against x and its gradient in the logits z: from the logits (W2,
    W5), or as the probability forms write it (W2p, W5p): ``p = sigmoid(z)``, the cross-entropy of p, and
    back through the sigmoid."""
    if not probabilities:
        return bce_with_logits(z, x)
    p = sigmoid(z)
    loss, g = bce_on_probabilities(p, x)
    return loss, sigmoid_backward_(g, p)


# --- reconstruction losses of the sigmoid output y: (loss, d loss / d y) ----------------------------------


def l2_loss(y: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """``0.5 * sum (y - x)^2`` over the whole batch; gradient ``y - x``."""
    d = y - x
    return 0.5 * float(np.vdot(d, d)), d


def mse_loss(y: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean of ``(y - x)^2`` over all elements; gradient ``2 (y - x) / size``."""
    d = y - x
    loss = float(np.vdot(d, d)) / d.size
    d *= 2.0 / d.size
    return loss, d


def l2_norm_loss(y: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Batch mean of each row's error norm ``|e| = sqrt(sum_i (y - x)^2 + 1e-12)``; gradient
    ``(y - x) / (n |e|)``."""
    d = y - x
    norms = np.sqrt(np.einsum("ij,ij->i", d, d) + NORM_FLOOR)
    loss = float(norms.mean())
    norms *= d.shape[0]
    d /= norms[:, None]
    return loss, d


OUTPUT_LOSSES = {"l2": l2_loss, "mse": mse_loss, "l2_norm": l2_norm_loss}


# --- batch normalisation (training mode) ------------------------------------------------------------------


def batch_norm(
    a: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Normalise each column of ``a`` (overwritten) by the batch's mean and biased variance, scale and shift;
    update the running averages (momentum 0.1, unbiased variance) in place.  Returns y and (xhat, 1/std)."""
    n = a.shape[0]
    mean = a.mean(axis=0)
    a -= mean
    var = np.einsum("ij,ij->j", a, a) / n
    inv_std = 1 / np.sqrt(var + BN_EPS)
    a *= inv_std  # a is now xhat
    y = a * gamma
    y += beta
    running_mean *= 1 - BN_MOMENTUM
    running_mean += BN_MOMENTUM * mean
    running_var *= 1 - BN_MOMENTUM
    running_var += (BN_MOMENTUM * n / (n - 1)) * var
    return y, (a, inv_std)


def batch_norm_backward(
    g: np.ndarray, gamma: np.ndarray, saved: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """d loss / d (a, gamma, beta) from ``g`` = d loss / d y.

    With ``dxhat = g gamma``: ``da = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) / std``; the two means
    are ``gamma dbeta / n`` and ``gamma dgamma / n``, so they come from the parameter gradients for free.
    """
    xhat, inv_std = saved
    n = g.shape[0]
    dgamma = np.einsum("ij,ij->j", g, xhat)
    dbeta = g.sum(axis=0)
    da = g * gamma
    da -= gamma * dbeta / n
    da -= xhat * (gamma * dgamma / n)
    da *= inv_std
    return da, dgamma, dbeta


# --- optimizers: in place, PyTorch's formulas (as tinyae.optim) -------------------------------------------


class SGD:
    def __init__(self, params: list[np.ndarray], lr: float) -> None:
        self.params, self.lr = params, lr

    def step(self, grads: list[np.ndarray]) -> None:
        for p, g in zip(self.params, grads, strict=True):
            g *= self.lr  # the gradients are this step's own arrays
            p -= g


class RMSprop:
    """``v = alpha v + (1 - alpha) g^2;  p -= lr g / (sqrt(v) + eps)``."""

    def __init__(self, params: list[np.ndarray], lr: float) -> None:
        self.params, self.lr = params, lr
        self.square_avg = [np.zeros_like(p) for p in params]
        self.scratch = [np.empty_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        for p, g, v, s in zip(self.params, grads, self.square_avg, self.scratch, strict=True):
            v *= RMSPROP_ALPHA
            np.multiply(g, g, out=s)
            s *= 1 - RMSPROP_ALPHA
            v += s
            np.sqrt(v, out=s)
            s += RMSPROP_EPS
            np.divide(g, s, out=s)
            s *= self.lr
            p -= s


class Adam:
    """``m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

    The last line is computed as ``p -= a * m / (sqrt(v) + eps c)`` with ``c = sqrt(1 - b2^t)`` and
    ``a = c lr / (1 - b1^t)`` (the same number, one pass fewer over the parameters).
    """

    def __init__(self, params: list[np.ndarray], lr: float) -> None:
        self.params, self.lr = params, lr
        self.exp_avg = [np.zeros_like(p) for p in params]
        self.exp_avg_sq = [np.zeros_like(p) for p in params]
        self.scratch = [np.empty_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        beta1, beta2 = ADAM_BETAS
        root = math.sqrt(1 - beta2**self.t)
        step_size = self.lr * root / (1 - beta1**self.t)
        eps = ADAM_EPS * root
        state = zip(self.params, grads, self.exp_avg, self.exp_avg_sq, self.scratch, strict=True)
        for p, g, m, v, s in state:
            np.subtract(g, m, out=s)  # m += (1 - b1) (g - m)
            s *= 1 - beta1
            m += s
            v *= beta2
            np.multiply(g, g, out=s)
            s *= 1 - beta2
            v += s
            np.sqrt(v, out=s)
            s += eps
            np.divide(m, s, out=s)
            s *= step_size
            p -= s


OPTIMIZERS = {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop}


def _copies(workload: Workload, weights: dict[str, np.ndarray]) -> tuple[list[np.ndarray], dict]:
    params = [np.array(weights[name], copy=True) for name in parameter_names(workload)]
    return params, dict(zip(parameter_names(workload), params, strict=True))


# --- the workloads ------------------------------------------------------------------------------------------


def mlp_autoencoder(workload: Workload, weights: dict[str, np.ndarray]) -> tuple[list[np.ndarray], Step]:
    """W1, W3, W4: a chain of dense layers (batch-normed where the workload says), sigmoid output."""
    params, named = _copies(workload, weights)
    layers = []
    for layer in workload.layers:
        norm = None
        if layer.batch_norm:
            gamma = named[f"{layer.name}.gamma"]
            running = (np.zeros_like(gamma), np.ones_like(gamma))
            norm = (gamma, named[f"{layer.name}.beta"], *running)
        layers.append(
            (layer.activation, named[f"{layer.name}.weight"], named.get(f"{layer.name}.bias"), norm)
        )
    loss_of_output = OUTPUT_LOSSES[workload.loss]
    optimizer = OPTIMIZERS[workload.optimizer](params, workload.lr)

    def step(x: np.ndarray, eps: np.ndarray | None = None) -> float:
        inputs, outputs, saved = [], [], []
        h = x
        for activation, W, b, norm in layers:
            inputs.append(h)
            a = h @ W
            if b is not None:
                a += b
            if norm is not None:
                a, cache = batch_norm(a, *norm)
                saved.append(cache)
            else:
                saved.append(None)
            h = np.maximum(a, 0, out=a) if activation == "relu" else sigmoid(a)
            outputs.append(h)
        loss, g = loss_of_output(h, x)
        grads: list[list[np.ndarray]] = [[] for _ in layers]
        for i in range(len(layers) - 1, -1, -1):
            activation, W, b, norm = layers[i]
            if activation == "relu":
                g *= outputs[i] > 0
            else:
                sigmoid_backward_(g, outputs[i])
            extra = []
            if norm is not None:
                g, dgamma, dbeta = batch_norm_backward(g, norm[0], saved[i])
                extra = [dgamma, dbeta]
            grads[i].append(inputs[i].T @ g)
            if b is not None:
                grads[i].append(g.sum(axis=0))
            grads[i].extend(extra)
            if i > 0:  # the first layer's input is the data: no gradient
                g = g @ W.T
        optimizer.step([grad for layer_grads in grads for grad in layer_grads])
        return loss

    return params, step


def tied_autoencoder(workload: Workload, weights: dict[str, np.ndarray]) -> tuple[list[np.ndarray], Step]:
    """W2: ``h = sigmoid(x W + b)``, logits ``z = h W^T + c``, cross-entropy from the logits, SGD;
    W2p: the same with ``p = sigmoid(z)`` and the cross-entropy of the probabilities p."""
    params, _ = _copies(workload, weights)
    W, b, c = params
    optimizer = OPTIMIZERS[workload.optimizer](params, workload.lr)

    probabilities = workload.loss == "bce_probs"

    def step(x: np.ndarray, eps: np.ndarray | None = None) -> float:
        a = x @ W
        a += b
        h = sigmoid(a)
        z = h @ W.T
        z += c
        loss, gz = cross_entropy_of_output(z, x, probabilities)
        gc = gz.sum(axis=0)
        ga = sigmoid_backward_(gz @ W, h)
        gW = x.T @ ga  # the encoder's use of W ...
        gW += gz.T @ h  # ... plus the decoder's use of W^T
        optimizer.step([gW, ga.sum(axis=0), gc])
        return loss

    return params, step


def vae(workload: Workload, weights: dict[str, np.ndarray], seed: int = 0) -> tuple[list[np.ndarray], Step]:
    """W5: encoder 784-400 (ReLU) to mu and log_var (400-20 each), ``z = mu + exp(log_var / 2) eps``,
    decoder 20-400 (ReLU)-784 logits; loss = (sum of BCE + KL) averaged over the batch; Adam.
    W5p: the same with the BCE of ``sigmoid(logits)``, the probabilities."""
    params, _ = _copies(workload, weights)
    We, be, Wm, bm, Wv, bv, Wd, bd, Wo, bo = params
    optimizer = OPTIMIZERS[workload.optimizer](params, workload.lr)
    rng = np.random.default_rng(seed)
    probabilities = workload.loss.startswith("bce_probs")  # W5p

    def step(x: np.ndarray, eps: np.ndarray | None = None) -> float:
        n = x.shape[0]
        h1 = x @ We
        h1 += be
        np.maximum(h1, 0, out=h1)
        mu = h1 @ Wm
        mu += bm
        log_var = h1 @ Wv
        log_var += bv
        if eps is None:
            eps = rng.standard_normal(mu.shape, dtype=mu.dtype)
        std = np.exp(0.5 * log_var)
        z = std * eps
        z += mu
        h2 = z @ Wd
        h2 += bd
        np.maximum(h2, 0, out=h2)
        logits = h2 @ Wo
        logits += bo
        reconstruction, g = cross_entropy_of_output(logits, x, probabilities)
        em1 = np.expm1(log_var)  # e^v - 1 - v without cancellation near v = 0
        kl_terms = mu * mu
        kl_terms += em1
        kl_terms -= log_var
        loss = reconstruction + 0.5 * float(kl_terms.sum()) / n
        # backward: decoder
        gWo, gbo = h2.T @ g, g.sum(axis=0)
        gh2 = g @ Wo.T
        gh2 *= h2 > 0
        gWd, gbd = z.T @ gh2, gh2.sum(axis=0)
        gz = gh2 @ Wd.T
        # reparameterisation and KL: dz/dmu = 1, dz/dlog_var = eps std / 2;
        # dKL/dmu = mu, dKL/dlog_var = expm1(log_var) / 2 (both divided by n: the batch mean)
        gmu = mu * (1.0 / n)
        gmu += gz
        glv = gz * eps
        glv *= std
        glv *= 0.5
        em1 *= 0.5 / n
        glv += em1
        gWm, gbm = h1.T @ gmu, gmu.sum(axis=0)
        gWv, gbv = h1.T @ glv, glv.sum(axis=0)
        gh1 = gmu @ Wm.T
        gh1 += glv @ Wv.T
        gh1 *= h1 > 0
        gWe, gbe = x.T @ gh1, gh1.sum(axis=0)
        optimizer.step([gWe, gbe, gWm, gbm, gWv, gbv, gWd, gbd, gWo, gbo])
        return loss

    return params, step


BUILDERS: dict[str, Callable[..., tuple[list[np.ndarray], Step]]] = {
    "mlp": mlp_autoencoder,
    "tied": tied_autoencoder,
    "vae": vae,
}


def build(key: str, weights: dict[str, np.ndarray]) -> tuple[list[np.ndarray], Step]:
    """``(params, step)`` of workload ``key`` ("W1" ... "W5", "W2p") from the host starting ``weights``."""
    workload = WORKLOADS[key]
    return BUILDERS[workload.kind](workload, weights)
