"""Weight initialisers: each draws a host array of a given shape from the seeded host generator.

Parameters are drawn on the host (``tinyae.backend.host_rng()``, in float64) and only then moved to their
backend, so one ``tinyae.manual_seed(n)`` gives the same starting weights on numpy, strict and cupy.

Shapes follow the dense layer ``x @ W + b``: a weight is (in_features, out_features), so
``fan_in = shape[0]`` and ``fan_out = shape[1]`` (PyTorch stores the transpose and reads them the other way
round).  A bias has shape (out_features,), and for a 1-D shape both fans are its length, as TensorFlow
counts them, so ``he_normal`` of a bias of 20 draws with std ``sqrt(2 / 20)``.

A name may carry a standard deviation after a colon, so that a model's JSON config can hold it:
``"normal:1"`` is ``tf.random_normal`` (N(0, 1)), ``"truncated_normal:0.1"`` is
``tf.truncated_normal(stddev=0.1)``.

>>> import tinyae
>>> from tinyae.nn import init
>>> tinyae.manual_seed(0)
>>> init.xavier_uniform((784, 256)).shape
(784, 256)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tinyae.backend import get_backend, host_rng

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "INITIALIZERS",
    "Initializer",
    "he_normal",
    "he_uniform",
    "normal",
    "resolve",
    "sigmoid_uniform",
    "truncated_normal",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Initializer = Callable[[tuple[int, ...]], "np.ndarray"]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (in, out), or (n, n) for a bias (n,) as TensorFlow counts them."""
    if len(shape) == 1 and shape[0] > 0:
        return shape[0], shape[0]
    if len(shape) != 2:
        raise ValueError(
            f"initialisers need a (in_features, out_features) or (features,) shape, got {tuple(shape)}"
        )
    return shape[0], shape[1]


def xavier_uniform(shape: tuple[int, ...], gain: float = 1.0, rng: Any = None) -> np.ndarray:
    """Glorot & Bengio (2010): uniform on ``[-a, a]`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    That limit gives variance ``2 / (fan_in + fan_out)``, which keeps activations and gradients at about
    the same scale through a sigmoid or tanh layer.  (Also known as Glorot uniform.)
    """
    fan_in, fan_out = _fans(shape)
    limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return (rng or host_rng()).uniform(-limit, limit, size=shape)


def xavier_normal(shape: tuple[int, ...], gain: float = 1.0, rng: Any = None) -> np.ndarray:
    """Glorot normal: ``N(0, std^2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(shape)
    return (rng or host_rng()).normal(0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_normal(shape: tuple[int, ...], rng: Any = None) -> np.ndarray:
    """He et al. (2015): ``N(0, std^2)`` with ``std = sqrt(2 / fan_in)``, for ReLU layers.

    ReLU zeroes half of its inputs, so the variance is doubled to keep the scale; PyTorch's
    ``kaiming_normal_`` with its defaults (fan_in, ReLU gain) draws the same distribution.
    """
    fan_in, _ = _fans(shape)
    return (rng or host_rng()).normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def he_uniform(shape: tuple[int, ...], rng: Any = None) -> np.ndarray:
    """He uniform: uniform on ``[-a, a]`` with ``a = sqrt(6 / fan_in)`` (variance ``2 / fan_in``)."""
    fan_in, _ = _fans(shape)
    limit = math.sqrt(6.0 / fan_in)
    return (rng or host_rng()).uniform(-limit, limit, size=shape)


def normal(shape: tuple[int, ...], std: float = 0.01, rng: Any = None) -> np.ndarray:
    """``N(0, std^2)`` whatever the fans (the tutorials' ``tf.random_normal(..., stddev=0.01)``).

    Pass another std to a layer with ``init=lambda shape: init.normal(shape, std=0.1)``.
    """
    if std < 0:
        raise ValueError(f"normal init needs std >= 0, got {std}")
    return (rng or host_rng()).normal(0.0, std, size=shape)


def truncated_normal(shape: tuple[int, ...], std: float = 1.0, rng: Any = None) -> np.ndarray:
    """``tf.truncated_normal``: ``N(0, std^2)`` with every draw beyond ``2 * std`` drawn again.

    Every value lies in ``[-2 std, 2 std]``; cutting the tails lowers the standard deviation to about
    ``0.88 * std`` (the variance of a normal cut at two standard deviations is ``0.774 std^2``).
    """
    if std < 0:
        raise ValueError(f"truncated_normal init needs std >= 0, got {std}")
    gen = rng or host_rng()
    values = gen.normal(0.0, std, size=shape)
    outside = abs(values) > 2 * std
    while outside.any():  # each round redraws about 4.6% of what is left
        values[outside] = gen.normal(0.0, std, size=int(outside.sum()))
        outside = abs(values) > 2 * std
    return values


def sigmoid_uniform(shape: tuple[int, ...], rng: Any = None) -> np.ndarray:
    """The Deep Learning Tutorial's sigmoid layers: uniform on ``[-a, a]``, ``a = 4 sqrt(6 / (fan_in +
    fan_out))``, four times Glorot's range (sigmoid's slope at 0 is 1/4 where tanh's is 1)."""
    return xavier_uniform(shape, gain=4.0, rng=rng)


def zeros(shape: tuple[int, ...], rng: Any = None) -> np.ndarray:
    """All zeros (the usual bias; the softmax layer of the stacked autoencoder's post)."""
    return get_backend("numpy").xp.zeros(shape)  # a host float64 array; draws nothing from the generator


INITIALIZERS: dict[str, Initializer] = {
    "xavier_uniform": xavier_uniform,
    "glorot_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "glorot_normal": xavier_normal,
    "he_normal": he_normal,
    "kaiming_normal": he_normal,
    "he_uniform": he_uniform,
    "kaiming_uniform": he_uniform,
    "normal": normal,
    "truncated_normal": truncated_normal,
    "sigmoid_uniform": sigmoid_uniform,
    "zeros": zeros,
}

# initialisers whose name may carry a standard deviation: "normal:1", "truncated_normal:0.1"
WITH_STD = ("normal", "truncated_normal")


def resolve(init: str | Initializer) -> Initializer:
    """The initialiser called ``init`` (see ``INITIALIZERS``; ``"name:std"`` for the normal ones), or
    ``init`` itself when it is callable.

    >>> resolve("normal:1")((2, 3)).shape
    (2, 3)
    """
    if callable(init):
        return init
    if isinstance(init, str) and ":" in init:
        name, _, std_text = init.partition(":")
        if name not in WITH_STD:
            raise ValueError(f"initialiser {init!r}: only {list(WITH_STD)} take a std after ':'")
        try:
            std = float(std_text)
        except ValueError:
            raise ValueError(f"initialiser {init!r}: {std_text!r} after ':' is not a number") from None
        if not std >= 0:
            raise ValueError(f"initialiser {init!r} needs std >= 0")
        function = INITIALIZERS[name]
        return lambda shape: function(shape, std=std)  # type: ignore[call-arg]
    try:
        return INITIALIZERS[init]
    except KeyError:
        raise ValueError(
            f"unknown initialiser {init!r}; choose one of {sorted(INITIALIZERS)} or pass a function "
            "shape -> host array"
        ) from None
