"""Weight initialisers: each draws a host array of a given shape from the seeded host generator.

Parameters are drawn on the host (``tinyae.backend.host_rng()``, in float64) and only then moved to their
backend, so one ``tinyae.manual_seed(n)`` gives the same starting weights on numpy, strict and cupy.

Shapes follow the dense layer ``x @ W + b``: a weight is (in_features, out_features), so
``fan_in = shape[0]`` and ``fan_out = shape[1]`` (PyTorch stores the transpose and reads them the other way
round).

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

from tinyae.backend import host_rng

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "INITIALIZERS",
    "Initializer",
    "he_normal",
    "he_uniform",
    "normal",
    "resolve",
    "xavier_normal",
    "xavier_uniform",
]

Initializer = Callable[[tuple[int, ...]], "np.ndarray"]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 2:
        raise ValueError(f"initialisers need a 2-D (in_features, out_features) shape, got {tuple(shape)}")
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
}


def resolve(init: str | Initializer) -> Initializer:
    """The initialiser called ``init`` (see ``INITIALIZERS``), or ``init`` itself when it is callable."""
    if callable(init):
        return init
    try:
        return INITIALIZERS[init]
    except KeyError:
        raise ValueError(
            f"unknown initialiser {init!r}; choose one of {sorted(INITIALIZERS)} or pass a function "
            "shape -> host array"
        ) from None
