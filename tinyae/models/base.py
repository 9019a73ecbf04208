"""The model protocol every autoencoder follows, the registry of model classes, and small shared helpers.

A model is an :class:`~tinyae.nn.Module` with

- ``encode(x)``, ``decode(z)`` and ``forward(x)`` (the reconstruction in data space),
- ``loss(*batch, rng=None) -> (total, parts)``: ``batch`` is what the data loader yields (``(x,)`` for an
  autoencoder, ``(x, y)`` for a classifier), ``total`` a scalar tensor and ``parts`` a dict of named scalar
  terms whose sum is ``total``; ``rng`` (a :class:`~tinyae.backend.RandomGenerator`) supplies any noise,
  and defaults to the input's backend generator,
- ``config``: JSON-serialisable constructor keywords, so that ``type(model)(**model.config)`` rebuilds the
  same architecture (on the same backend, in the same dtype).

:data:`MODELS` (the same dict as ``tinyae.io.MODEL_REGISTRY``) maps each class name to its class, so
that a checkpoint can name the class it rebuilds; ``@register`` adds one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from tinyae.autograd import no_grad
from tinyae.backend import Backend, RandomGenerator, backend_of, dtype_name, get_backend
from tinyae.io import MODEL_REGISTRY, register_model
from tinyae.nn import Module
from tinyae.tensor import Tensor

__all__ = ["MODELS", "Model", "as_input", "evaluating", "noise_source", "register", "total_of"]

# the checkpoint loader's registry: a model class registered here is one tinyae.load can rebuild
MODELS = MODEL_REGISTRY
register = register_model


class Model(Module):
    """Base class of the models: ``encode``, ``decode``, ``forward``, ``loss`` and ``config``.

    Subclasses write ``encode``, ``decode``, ``loss`` and ``config``; ``forward(x)`` is
    ``decode(encode(x))``.  ``backend`` and ``dtype`` are read from the parameters, so they follow
    ``model.to(...)``.
    """

    def encode(self, x: Tensor) -> Any:
        """Map a batch of inputs to its code."""
        raise NotImplementedError(f"{type(self).__name__} does not define encode()")

    def decode(self, z: Tensor) -> Tensor:
        """Map a batch of codes back to data space."""
        raise NotImplementedError(f"{type(self).__name__} does not define decode()")

    def forward(self, x: Tensor) -> Tensor:
        """The reconstruction of ``x`` in data space: ``decode(encode(x))``."""
        return self.decode(self.encode(x))

    def loss(self, *batch: Any, rng: RandomGenerator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """``(total, parts)`` for one batch; see the module docstring."""
        raise NotImplementedError(f"{type(self).__name__} does not define loss()")

    @property
    def config(self) -> dict[str, Any]:
        """Constructor keywords that rebuild this architecture: ``type(model)(**model.config)``."""
        raise NotImplementedError(f"{type(self).__name__} does not define config")

    @property
    def backend(self) -> Backend:
        """The backend the parameters live on."""
        return self._first_parameter().backend

    @property
    def dtype(self) -> str:
        """The parameters' dtype name, ``"float32"`` or ``"float64"``."""
        return dtype_name(self._first_parameter().dtype)

    def placement(self) -> dict[str, Any]:
        """``{"dtype": ..., "backend": ...}`` as strings, the last two entries of every ``config``."""
        return {"dtype": self.dtype, "backend": self.backend.name}

    def _first_parameter(self) -> Tensor:
        for p in self.parameters():
            return p
        raise RuntimeError(f"{type(self).__name__} has no parameters, so no backend or dtype")

    def as_input(self, x: Any) -> Tensor:
        """``x`` as a tensor: tensors pass unchanged, arrays are wrapped on this model's backend and dtype."""
        if isinstance(x, Tensor):  # the training path: no walk over the parameters
            return x
        return as_input(x, self.backend, self.dtype)


def as_input(x: Any, backend: Backend, dtype: str) -> Tensor:
    """A tensor for ``x``: a Tensor is returned as it is; an array (of any backend, or a NumPy array) is
    copied to ``backend`` and cast to ``dtype`` when it is floating."""
    if isinstance(x, Tensor):
        return x
    source = backend_of(x) if not isinstance(x, (list, tuple, int, float)) else get_backend("numpy")
    array = source.xp.asarray(x)
    floating = source.xp.isdtype(array.dtype, "real floating")
    return Tensor(array, dtype=dtype if floating else None, backend=backend)


def noise_source(x: Tensor, rng: RandomGenerator | None) -> RandomGenerator:
    """``rng``, or the backend generator of ``x`` when ``rng`` is None."""
    return x.backend.random if rng is None else rng


def total_of(parts: dict[str, Tensor]) -> Tensor:
    """The sum of the loss parts, in their order."""
    terms = iter(parts.values())
    total = next(terms)
    for term in terms:
        total = total + term
    return total


@contextlib.contextmanager
def evaluating(model: Module) -> Iterator[None]:
    """Within the block: evaluation mode (batch norm on running averages, no corruption) and no graph.

    The model's previous mode is restored on exit.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        for module, mode in modes:
            module.training = mode


def check_choice(what: str, value: Any, choices: Any) -> None:
    """Raise a ValueError naming ``what``, the bad value and the valid choices."""
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {sorted(choices)}")


def check_sizes(owner: str, sizes: Any, minimum: int = 2) -> list[int]:
    """``sizes`` as a list of positive ints of at least ``minimum`` entries, or a ValueError."""
    try:
        values = [int(n) for n in sizes]
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: sizes must be a list of layer widths, got {sizes!r}") from None
    if len(values) < minimum or any(n < 1 for n in values) or values != list(sizes):
        raise ValueError(
            f"{owner}: sizes must hold at least {minimum} positive integers (input width first), "
            f"got {list(sizes)!r}"
        )
    return values
