"""``Sequential``: layers applied one after another."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, overload

from tinyae.nn.module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Apply ``layers`` in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    The layers are registered as ``"0"``, ``"1"``, ..., which prefix their parameter names
    (``"0.weight"``); index with ``seq[0]``, slice with ``seq[1:]``, iterate, ``len(seq)``.

    Examples
    --------
    >>> from tinyae import nn
    >>> encoder = nn.Sequential(nn.Linear(4, 2), nn.Sigmoid())
    >>> [name for name, _ in encoder.named_parameters()]
    ['0.weight', '0.bias']
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for layer in layers:
            self.append(layer)

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end and return ``self``."""
        self.add_module(str(len(self)), layer)
        return self

    def _layers(self) -> list[Module]:
        return list(self.children())

    def __len__(self) -> int:
        return sum(1 for _ in self.children())

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers())

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        layers = self._layers()
        if isinstance(index, slice):
            return Sequential(*layers[index])
        try:
            return layers[index]
        except IndexError:
            raise IndexError(f"index {index} is out of range for a Sequential of {len(layers)}") from None

    def forward(self, x: Any) -> Any:
        for layer in self.children():
            x = layer(x)
        return x
