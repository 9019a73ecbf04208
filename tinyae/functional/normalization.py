"""Batch normalisation as one pure op: it returns the updated running averages instead of writing them."""

from __future__ import annotations

from typing import Any, NamedTuple

from tinyae.functional.activations import at_least, at_most
from tinyae.tensor import Context, Function, OpError, Tensor

__all__ = ["BatchNormResult", "batch_norm"]


class BatchNormResult(NamedTuple):
    """What :func:`batch_norm` returns: the normalised batch and the running averages to keep."""

    output: Tensor
    running_mean: Tensor
    running_var: Tensor


class BatchNorm(Function):
    """``y = gamma * (x - mean) / sqrt(var + eps) + beta`` per feature of a (batch, features) input.

    Training: mean and (biased) var of this batch, so every sample's output depends on every other
    sample's input; with ``xhat`` the normalised input and ``dxhat = g * gamma``,
    ``dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)``.
    Evaluation: the running averages, so the op is a fixed affine map: ``dx = dxhat / sqrt(var + eps)``.
    Both: ``dgamma = sum(g * xhat)``, ``dbeta = sum(g)`` over the batch.
    """

    fresh_gradients = True  # backward returns only arrays it makes

    @staticmethod
    def forward(
        ctx: Context,
        x: Any,
        gamma: Any,
        beta: Any,
        running_mean: Any,
        running_var: Any,
        training: bool,
        momentum: float,
        eps: float,
    ) -> Any:
        xp = ctx.xp
        if x.ndim != 2 or tuple(running_mean.shape) != (x.shape[1],):
            raise OpError(
                f"batch_norm needs x of shape (batch, features) and running statistics of shape (features,), "
                f"got x {tuple(x.shape)} and running_mean {tuple(running_mean.shape)}"
            )
        if training:
            n = x.shape[0]
            if n < 2:
                raise OpError(
                    f"batch_norm in training mode needs more than one sample, got x {tuple(x.shape)}"
                )
            # sums times 1/n: NumPy's mean adds Python overhead comparable to the work at these sizes
            mean = xp.sum(x, axis=0) * (1.0 / n)
            centered = x - mean
            # var: the unbiased variance, which the running averages take, as PyTorch and Keras do
            xhat, inv_std, var = _normalized(xp, centered, n, eps)
            new_mean = (1 - momentum) * running_mean + momentum * mean
            new_var = (1 - momentum) * running_var + momentum * var
        else:
            centered = x - running_mean
            new_mean, new_var = running_mean, running_var
            inv_std = 1 / xp.sqrt(running_var + eps)
            xhat = centered  # centered is our own fresh array: normalise it in place
            xhat *= inv_std
        ctx.save(xhat, inv_std, gamma)
        ctx.training, ctx.has_beta = training, beta is not None
        if gamma is None:
            y = xhat if beta is None else xhat + beta
        else:
            y = xhat * gamma
            if beta is not None:
                y += beta
        return y, new_mean, new_var

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, ...]:
        xp = ctx.xp
        xhat, inv_std, gamma = ctx.saved
        scale = inv_std if gamma is None else gamma * inv_std  # (features,)
        sum_g = xp.sum(grad, axis=0)  # = dbeta
        sum_gx = xp.sum(grad * xhat, axis=0)  # = dgamma
        if ctx.training:
            # mean(dxhat) = gamma * sum_g / n and mean(dxhat * xhat) = gamma * sum_gx / n: reuse both sums
            n = grad.shape[0]
            dx = grad - sum_g * (1.0 / n)
            dx -= xhat * (sum_gx * (1.0 / n))
            dx *= scale
        else:
            dx = grad * scale
        dgamma = None if gamma is None else sum_gx
        dbeta = sum_g if ctx.has_beta else None
        return dx, dgamma, dbeta, None, None


def _normalized(xp: Any, centered: Any, n: int, eps: float) -> tuple[Any, Any, Any]:
    """``xhat = centered / sqrt(var + eps)`` (in place), ``1 / sqrt(var + eps)`` and the unbiased variance.

    The squares are taken of the deviations divided by ``s``, each feature's largest deviation (at least
    1): with deviations near 1e20, squaring them first would overflow float32 and normalise to zeros.
    So ``xhat = centered / (s sqrt(var / s^2 + eps / s^2))``, finite for any finite batch; the variance
    returned for the running average is kept below the dtype's largest number.
    """
    scaled = xp.abs(centered)
    scale = at_least(xp, xp.max(scaled, axis=0), 1.0)
    inv_scale = 1 / scale
    scaled *= inv_scale  # |deviation| / s, in [0, 1]: its square cannot overflow
    scaled *= scaled
    var_scaled = xp.sum(scaled, axis=0) * (1.0 / n)
    inv_std = inv_scale / xp.sqrt(var_scaled + eps * (inv_scale * inv_scale))
    xhat = centered
    xhat *= inv_std
    info = xp.finfo(centered.dtype)
    largest_std = float(info.max) ** 0.5 * 0.999  # margin: the running average adds two such numbers
    std = at_most(xp, scale * xp.sqrt(var_scaled * (n / (n - 1))), largest_std)
    return xhat, inv_std, std * std


def batch_norm(
    x: Tensor,
    gamma: Tensor | None,
    beta: Tensor | None,
    running_mean: Tensor,
    running_var: Tensor,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> BatchNormResult:
    """Normalise each feature of a (batch, features) tensor, then scale by ``gamma`` and shift by ``beta``.

    In training the batch's own statistics are used, and the returned running averages have them folded
    in: ``new = (1 - momentum) * running + momentum * batch`` (momentum 0.1 is a moving-average decay of
    0.9).  In evaluation the running averages are used and returned unchanged.  Nothing is modified in
    place: the caller (``nn.BatchNorm1d``) stores the new averages.

    >>> import tinyae, tinyae.functional as F
    >>> x = tinyae.tensor([[1.0], [3.0]])
    >>> F.batch_norm(x, None, None, tinyae.tensor([0.0]), tinyae.tensor([1.0]), training=True).output.shape
    (2, 1)
    """
    output, new_mean, new_var = BatchNorm.apply(
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        training=bool(training),
        momentum=float(momentum),
        eps=float(eps),
    )
    return BatchNormResult(output, new_mean, new_var)
