"""Losses: reconstruction (mse, l2, binary cross-entropy), KL terms, and softmax cross-entropy.

Each elementwise loss is one fused op with a hand-written derivative (so that no log of 0 or exp of a big
number is ever evaluated) that also does the reduction PyTorch users expect: ``reduction="mean"``
(default), ``"sum"`` or ``"none"``.  Reducing inside the op means that its backward pass starts from one
number (the scalar gradient, over n for a mean) instead of a broadcast array: one pass over the batch
instead of three.
"""

from __future__ import annotations

from typing import Any

from tinyae.backend import is_host_array
from tinyae.functional.activations import at_least, at_most, exp_neg_abs, stable_log_softmax, stable_sigmoid
from tinyae.tensor import Context, Function, OpError, Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "gaussian_kl",
    "kl_sparsity",
    "l2_loss",
    "mse_loss",
]

REDUCTIONS = ("mean", "sum", "none")
LOG_FLOOR = -100.0  # PyTorch's BCELoss clamps log(p) here, so that p = 0 costs 100, not infinity


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    """The reduction of a per-sample loss (the KL terms, cross-entropy): small, so left to the tensor ops."""
    _checked_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _checked_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise OpError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduced(ctx: Context, terms: Any, reduction: str) -> Any:
    """The elementwise ``terms`` reduced as asked; remembers what the backward pass must undo."""
    ctx.reduction, ctx.count = reduction, terms.size
    if reduction == "sum":
        return ctx.xp.sum(terms)
    if reduction == "mean":
        return ctx.xp.mean(terms)
    return terms


def _term_grad(ctx: Context, grad: Any) -> Any:
    """d loss / d term for each elementwise term: the output's gradient (a 0-d array after "sum"),
    divided by the number of terms after "mean"; the gradient array itself after "none"."""
    return grad / ctx.count if ctx.reduction == "mean" else grad


def sum_of_squares(xp: Any, x: Any) -> Any:
    """``sum(x^2)`` as a dot product of x with itself: one pass instead of a square and a sum."""
    flat = xp.reshape(x, (-1,))
    return xp.vecdot(flat, flat)


def _same_shape(name: str, a: Any, b: Any) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise OpError(f"{name}: input of shape {tuple(a.shape)} and target of shape {tuple(b.shape)} differ")


class SquaredError(Function):
    """``(a - b)^2`` elementwise, reduced; d/da = 2 (a - b), d/db = -2 (a - b) (times the term gradient)."""

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any, reduction: str) -> Any:
        _same_shape("mse_loss", a, b)
        diff = a - b
        ctx.save(diff)
        ctx.reduction, ctx.count = reduction, diff.size
        if reduction == "none":
            return diff * diff
        total = sum_of_squares(ctx.xp, diff)
        return total if reduction == "sum" else total / diff.size

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        (diff,) = ctx.saved
        g = diff * (2 * _term_grad(ctx, grad))  # one pass: the factor is a 0-d array unless "none"
        return g, (-g if ctx.needs_input_grad[1] else None)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of the squared differences ``(input - target)^2``; shapes must match.

    >>> import tinyae, tinyae.functional as F
    >>> F.mse_loss(tinyae.tensor([1.0, 3.0]), tinyae.tensor([0.0, 0.0])).item()
    5.0
    """
    return SquaredError.apply(input, target, reduction=_checked_reduction(reduction))


class L2Loss(Function):
    """``0.5 * sum(x^2)``; d/dx = x."""

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save(x)
        return 0.5 * sum_of_squares(ctx.xp, x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved
        return grad * x


def l2_loss(x: Tensor) -> Tensor:
    """Half the sum of squares, ``0.5 * sum(x^2)``, as TensorFlow's ``tf.nn.l2_loss`` (a scalar)."""
    return L2Loss.apply(x)


class BinaryCrossEntropy(Function):
    """``-(y log p + (1 - y) log(1 - p))`` with each log clamped at -100 (so p in {0, 1} stays finite).

    d/dp = -y/p + (1 - y)/(1 - p) = (p - y) / (p (1 - p)), with the denominator kept at least 1e-12 as
    PyTorch's BCELoss does: one formula, finite at p in {0, 1}, and no per-element branch.
    d/dy = log(1 - p) - log p (clamped logs).
    """

    fresh_gradients = True  # (p - y) / ... and the difference of the logs: new arrays

    @staticmethod
    def forward(ctx: Context, p: Any, y: Any, reduction: str) -> Any:
        _same_shape("binary_cross_entropy", p, y)
        xp = ctx.xp
        q = 1 - p
        log_p, log_q = clamped_log(xp, p), clamped_log(xp, q)
        ctx.save(p, q, y, log_p, log_q)
        # -(y log p + (1 - y) log q) = -(log q + y (log p - log q)): one product instead of two
        diff = log_p - log_q
        if reduction == "none":
            return _reduced(ctx, -(log_q + y * diff), reduction)
        ctx.reduction, ctx.count = reduction, p.size
        total = -(xp.sum(log_q) + xp.vecdot(xp.reshape(y, (-1,)), xp.reshape(diff, (-1,))))
        return total if reduction == "sum" else total / p.size

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        xp = ctx.xp
        p, q, y, log_p, log_q = ctx.saved
        g = _term_grad(ctx, grad)
        slope = at_least(xp, p * q, BCE_SLOPE_FLOOR)
        d_p = p - y
        d_p *= g
        d_p /= slope
        return d_p, (g * (log_q - log_p) if ctx.needs_input_grad[1] else None)


BCE_SLOPE_FLOOR = 1e-12  # PyTorch's BCELoss backward divides by max(p (1 - p), 1e-12)


def clamped_log(xp: Any, p: Any) -> Any:
    """``max(log p, -100)`` for p in [0, 1], with no log of 0 (which would warn) and no per-element branch.

    p is first raised to the dtype's smallest subnormal number (``smallest_normal * eps``), whose log
    (-103 in float32, -744 in float64) lies below the clamp; a device that flushes subnormals to 0 gives
    log 0 = -inf there, which the clamp also turns into -100.
    """
    info = xp.finfo(p.dtype)
    floor = float(info.smallest_normal) * float(info.eps)
    return at_least(xp, xp.log(at_least(xp, p, floor)), LOG_FLOOR)


def binary_cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy between probabilities ``input`` in [0, 1] and targets in [0, 1] (same shape).

    Prefer :func:`binary_cross_entropy_with_logits` when you have the logits: it is exact where this
    one has to clamp.

    >>> import tinyae, tinyae.functional as F
    >>> p, y = tinyae.tensor([0.0, 0.5]), tinyae.tensor([1.0, 1.0])
    >>> F.binary_cross_entropy(p, y, reduction="none").numpy()  # log 0 is clamped at -100
    array([100.       ,   0.6931472], dtype=float32)
    """
    return BinaryCrossEntropy.apply(input, target, reduction=_checked_reduction(reduction))


class BinaryCrossEntropyWithLogits(Function):
    """BCE of ``sigmoid(x)`` against y, as ``max(x, 0) - x y + log1p(e^-|x|)``: exact and finite for any x.

    d/dx = sigmoid(x) - y, d/dy = -x (times the term gradient).
    """

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any, reduction: str) -> Any:
        _same_shape("binary_cross_entropy_with_logits", x, y)
        xp = ctx.xp
        e = exp_neg_abs(xp, x)
        ctx.save(x, y, e)
        terms = at_least(xp, x, 0.0)
        terms -= x * y
        terms += xp.log1p(e)
        return _reduced(ctx, terms, reduction)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        x, y, e = ctx.saved
        g = _term_grad(ctx, grad)
        grad_y = -g * x if ctx.needs_input_grad[1] else None  # targets are usually data
        grad_x = stable_sigmoid(ctx.xp, x, e)  # a fresh array: finished in place
        grad_x -= y
        grad_x *= g
        return grad_x, grad_y


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` computed from the logits, stably (same shapes)."""
    return BinaryCrossEntropyWithLogits.apply(input, target, reduction=_checked_reduction(reduction))


class GaussianKL(Function):
    """Per-sample KL(N(mu, e^log_var) || N(0, 1)) = 0.5 * sum(mu^2 + e^log_var - 1 - log_var), last axis.

    ``expm1(v) - v`` computes ``e^v - 1 - v`` without the cancellation near v = 0.  Each term is halved
    before it can overflow (:func:`half_expm1`), so the KL is finite wherever it is finite in the dtype.
    d/dmu = mu, d/dlog_var = 0.5 * expm1(log_var).
    """

    fresh_gradients = True  # products with the output gradient

    @staticmethod
    def forward(ctx: Context, mu: Any, log_var: Any) -> Any:
        _same_shape("gaussian_kl", mu, log_var)
        xp = ctx.xp
        half_em1 = half_expm1(xp, log_var)
        ctx.save(mu, half_em1)
        scaled_mu = mu * HALF_SQRT  # 0.5 mu^2 as (mu / sqrt 2)^2: no overflow while the half is finite
        terms = scaled_mu * scaled_mu
        terms += half_em1 - 0.5 * log_var
        return xp.sum(terms, axis=-1)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        mu, half_em1 = ctx.saved
        g = ctx.xp.expand_dims(grad, axis=-1)
        return g * mu, g * half_em1


HALF_SQRT = 0.5**0.5
EXP_SPLIT = 64.0  # e^64 is far from overflow in float32 (about 6e27 against 3.4e38)


def half_expm1(xp: Any, v: Any) -> Any:
    """``0.5 * (e^v - 1)``, finite for every v where the result is (up to v = 89.4 in float32).

    Written as ``0.5 expm1(min(v, 64)) * e^(max(v, 64) - 64)``: exact below 64, and above it the two
    factors stay finite where ``expm1(v)`` alone would overflow (from v = 88.7 in float32); no branch.
    """
    low = xp.expm1(at_most(xp, v, EXP_SPLIT))
    low *= 0.5
    high = at_least(xp, v, EXP_SPLIT)
    high -= EXP_SPLIT
    low *= xp.exp(high)
    return low


def gaussian_kl(mu: Tensor, log_var: Tensor, reduction: str = "mean") -> Tensor:
    """KL divergence from N(mu, exp(log_var)) to the standard normal, summed over the latent (last) axis.

    Shapes: mu and log_var (batch, latent).  ``reduction="mean"`` averages the per-sample KL over the
    batch, ``"sum"`` adds it up, ``"none"`` returns it per sample, shape (batch,).

    >>> import tinyae, tinyae.functional as F
    >>> F.gaussian_kl(tinyae.tensor([[0.0, 0.0]]), tinyae.tensor([[0.0, 0.0]])).item()  # N(0, 1) itself
    0.0
    """
    return _reduce(GaussianKL.apply(mu, log_var), reduction)


class SparsityKL(Function):
    """``rho log(rho / q) + (1 - rho) log((1 - rho) / (1 - q))`` per hidden unit, q the mean activation.

    d/dq = -rho/q + (1 - rho)/(1 - q).  q is kept inside [eps, 1 - eps] (eps the dtype's machine
    epsilon) so that a dead or saturated unit costs a large finite penalty instead of infinity; the
    bounds are a maximum and a minimum against rows, not a clip (which some namespaces build from masks).
    """

    fresh_gradients = True

    @staticmethod
    def forward(ctx: Context, q: Any, rho: float) -> Any:
        xp = ctx.xp
        eps = float(xp.finfo(q.dtype).eps)
        q = at_most(xp, at_least(xp, q, eps), 1 - eps)
        ctx.save(q)
        ctx.rho = rho
        return rho * xp.log(rho / q) + (1 - rho) * xp.log((1 - rho) / (1 - q))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (q,) = ctx.saved
        rho = ctx.rho
        return grad * ((1 - rho) / (1 - q) - rho / q)


def kl_sparsity(rho_hat: Tensor, rho: float, reduction: str = "sum") -> Tensor:
    """The sparse autoencoder's penalty: sum over hidden units of KL(rho || rho_hat_j) between Bernoullis.

    ``rho_hat`` (hidden,) holds each unit's mean activation over the batch, in (0, 1); ``rho`` is the
    target activation, a number in (0, 1).  ``reduction="sum"`` (default, as UFLDL) or ``"none"``.
    """
    if not 0.0 < rho < 1.0:
        raise OpError(f"kl_sparsity: rho must be in (0, 1), got {rho}")
    return _reduce(SparsityKL.apply(rho_hat, rho=float(rho)), reduction)


class CrossEntropy(Function):
    """Per-sample ``-log softmax(logits)[label]``; d/dlogits = softmax(logits) - onehot(label).

    The labels are turned into a one-hot mask by comparison with ``arange(classes)``: no scatter or
    fancy indexing, which the Array API (and so CuPy code written against it) does not promise.  A label
    outside [0, classes) matches no class; its sample's loss is NaN (found on the device, where reading
    the labels back to check them would make every step wait for the GPU).
    """

    fresh_gradients = True

    @staticmethod
    def forward(ctx: Context, logits: Any, labels: Any) -> Any:
        xp = ctx.xp
        onehot = _one_hot(xp, logits, labels)
        log_probs = stable_log_softmax(xp, logits, axis=-1)
        ctx.save(log_probs, onehot)
        picked = xp.sum(onehot * log_probs, axis=-1)
        matched = xp.sum(onehot, axis=-1) > 0
        return xp.where(matched, -picked, xp.full(picked.shape, float("nan"), dtype=picked.dtype))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None]:
        xp = ctx.xp
        log_probs, onehot = ctx.saved
        return xp.expand_dims(grad, axis=-1) * (xp.exp(log_probs) - onehot), None


def _one_hot(xp: Any, logits: Any, labels: Any) -> Any:
    if logits.ndim != 2 or tuple(labels.shape) != (logits.shape[0],):
        raise OpError(
            f"cross_entropy needs logits (batch, classes) and labels (batch,), got {tuple(logits.shape)} "
            f"and {tuple(labels.shape)}"
        )
    if not xp.isdtype(labels.dtype, "integral"):
        raise OpError(f"cross_entropy needs integer class labels, got dtype {labels.dtype}")
    classes = logits.shape[1]
    hits = xp.expand_dims(labels, axis=-1) == xp.arange(classes, dtype=labels.dtype)
    return xp.astype(hits, logits.dtype)


def _check_host_labels(labels: Any, classes: int) -> None:
    """Labels given as a host (NumPy) array are checked where they are: no device value is read."""
    if not (is_host_array(labels) and labels.size and labels.dtype.kind in "iu"):
        return
    if int(labels.min()) < 0 or int(labels.max()) >= classes:
        raise OpError(f"cross_entropy: labels must lie in [0, {classes}) for {classes} classes")


def cross_entropy(logits: Tensor, labels: Tensor | Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of (batch, classes) logits against integer class labels of shape (batch,).

    Host labels outside [0, classes) raise :class:`OpError`; device labels outside it give a NaN loss.
    """
    if logits.ndim == 2:
        _check_host_labels(labels, logits.shape[1])
    return _reduce(CrossEntropy.apply(logits, labels), reduction)
