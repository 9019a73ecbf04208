"""Check backward rules against finite differences, element by element, in float64.

For a function ``f`` of tensors, pick a random direction ``v`` shaped like the output and compare, for every
element ``x_i`` of every input that requires a gradient,

* the analytic value: ``x.grad`` after ``f(...).backward(v)``, which is d(v . f)/dx_i, with
* the numeric value: ``(v . f(x + eps e_i) - v . f(x - eps e_i)) / (2 eps)`` (central differences).

A random ``v`` rather than ``f.sum()`` catches rules that are wrong only in some output positions
(a transposed gradient, a swapped pair of axes).  float64 with eps 1e-6 is accurate to about 1e-9 on smooth
functions; float32 is not precise enough for finite differences at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinyae.autograd import no_grad
from tinyae.backend import dtype_name
from tinyae.tensor import Tensor

__all__ = ["GradcheckError", "gradcheck"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with finite differences; says where and by how much."""

    def __init__(
        self, message: str, input_index: int, index: tuple[int, ...], analytic: float, numeric: float
    ):
        super().__init__(message)
        self.input_index = input_index
        self.index = index
        self.analytic = analytic
        self.numeric = numeric


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """True when ``fn``'s backward agrees with central differences at ``inputs``; else a GradcheckError.

    ``fn(*inputs)`` must return one tensor and be deterministic (fix any noise).  Every input with
    ``requires_grad`` is checked and must be float64; element i passes when
    ``|analytic - numeric| <= atol + rtol * |numeric|``.

    >>> import tinyae, tinyae.functional as F
    >>> x = tinyae.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    >>> tinyae.gradcheck(F.sigmoid, [x])
    True
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if dtype_name(inputs[i].dtype) != "float64":
            raise ValueError(
                f"gradcheck: input {i} is {dtype_name(inputs[i].dtype)}; finite differences need float64"
            )
    analytic, direction = _analytic(fn, inputs, checked, seed)
    for i in checked:
        numeric = _numeric(fn, inputs, i, direction, eps)
        _compare(i, analytic[i], numeric, atol, rtol)
    return True


def _analytic(
    fn: Callable[..., Tensor], inputs: list[Any], checked: list[int], seed: int
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    saved_grads = {i: inputs[i].grad for i in checked}
    for i in checked:
        inputs[i].grad = None
    try:
        out = fn(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        direction = np.random.default_rng(seed).standard_normal(out.shape)
        if out.requires_grad:
            out.backward(out.backend.asarray(direction, dtype=out.dtype))
        analytic = {
            i: np.zeros(inputs[i].shape)
            if inputs[i].grad is None
            else inputs[i].backend.to_numpy(inputs[i].grad)
            for i in checked
        }
    finally:
        for i in checked:
            inputs[i].grad = saved_grads[i]
    return analytic, direction


def _numeric(
    fn: Callable[..., Tensor], inputs: list[Any], i: int, direction: np.ndarray, eps: float
) -> np.ndarray:
    original = inputs[i]
    host = np.array(original.numpy(), dtype=np.float64)
    numeric = np.empty_like(host)

    def value() -> float:
        args = list(inputs)
        args[i] = Tensor(original.backend.asarray(host), backend=original.backend)
        with no_grad():
            out = fn(*args)
        return float(np.sum(np.asarray(out.numpy(), dtype=np.float64) * direction))

    for index in np.ndindex(host.shape):
        centre = host[index]
        host[index] = centre + eps
        plus = value()
        host[index] = centre - eps
        minus = value()
        host[index] = centre
        numeric[index] = (plus - minus) / (2 * eps)
    return numeric


def _compare(i: int, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float) -> None:
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    bad = ~(excess <= 0)  # a NaN on either side is a failure too
    if not bad.any():
        return
    worst = tuple(
        int(k)
        for k in np.unravel_index(
            np.argmax(np.where(bad, np.nan_to_num(excess, nan=np.inf), -np.inf)), excess.shape
        )
    )
    a, n = float(analytic[worst]), float(numeric[worst])
    raise GradcheckError(
        f"gradient check failed for input {i} (shape {analytic.shape}): {int(bad.sum())} of {bad.size} "
        f"elements out of tolerance; worst at index {worst}: analytic {a:.8g}, numeric {n:.8g} "
        f"(|difference| {abs(a - n):.3g} > atol {atol:g} + rtol {rtol:g} * |numeric|)",
        input_index=i,
        index=worst,
        analytic=a,
        numeric=n,
    )
