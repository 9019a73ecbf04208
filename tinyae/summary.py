"""``summary(model, input_shape)``: a table of a model's layers, their output shapes and parameter counts.

It runs one forward pass on a batch of two zero inputs (in evaluation mode, without a graph) and records
the output shape of every layer that is called: the innermost modules (``Linear``, ``BatchNorm1d``, ...).
Each parameter is counted once, in the first row that uses it: a tied decoder's row counts only its
bias and is marked ``*``.

>>> from tinyae import models
>>> print(summary(models.Autoencoder([784, 64, 8]), (784,)))
Autoencoder
layer                 type     output shape   parameters
---------------------------------------------------------
encoder.0.linear      Linear   (batch, 64)        50,240
encoder.1.linear      Linear   (batch, 8)            520
decoder.0.linear      Linear   (batch, 64)           576
decoder.1.linear      Linear   (batch, 784)       50,960
---------------------------------------------------------
total parameters: 102,296 (trainable 102,296)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinyae.autograd import no_grad
from tinyae.nn import Module
from tinyae.tensor import Tensor

__all__ = ["summary"]


def _shape_text(output: Any) -> str:
    if isinstance(output, Tensor):
        return (
            "(batch, " + ", ".join(str(n) for n in output.shape[1:]) + ")" if output.shape[1:] else "(batch,)"
        )
    if isinstance(output, (tuple, list)):
        return " ".join(_shape_text(item) for item in output)
    return type(output).__name__


def summary(model: Module, input_shape: Sequence[int]) -> str:
    """The layer table of ``model`` for inputs of ``input_shape`` (one sample's shape, without the batch).

    Raises a ``TypeError`` for anything that is not a :class:`tinyae.nn.Module` and an ``OpError`` (from
    the layer) when ``input_shape`` does not fit the model.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary() needs a tinyae.nn.Module, got {type(model).__name__}")
    shape = tuple(int(n) for n in input_shape)
    if not shape or min(shape) < 1:
        raise ValueError(f"input_shape must be one sample's shape, like (784,), got {tuple(input_shape)}")
    params = list(model.parameters())
    backend = params[0].backend if params else None
    dtype = params[0].dtype if params else "float32"
    named = [(name, m) for name, m in model.named_modules() if name and not list(m.children())]
    rows: dict[str, tuple[str, str, str]] = {}
    seen: set[int] = set()  # ids of the parameters counted in an earlier row
    for name, module in named:

        def recorder(*args: Any, _name: str = name, _module: Module = module, **kwargs: Any) -> Any:
            output = type(_module).forward(_module, *args, **kwargs)
            if _name not in rows:
                own = list(_module.parameters())
                new = [p for p in own if id(p) not in seen]
                seen.update(id(p) for p in own)
                count = f"{sum(_size(p) for p in new):,}" + (" *" if len(new) < len(own) else "")
                rows[_name] = (type(_module).__name__, _shape_text(output), count)
            return output

        object.__setattr__(module, "forward", recorder)  # this instance only; removed below
    was_training = model.training
    model.eval()
    try:
        x = Tensor(_zeros(backend, (2, *shape), dtype), backend=backend)
        with no_grad():
            model(x)
    finally:
        for _, module in named:
            object.__delattr__(module, "forward")
        model.train(was_training)
    total = sum(_size(p) for p in params)
    trainable = sum(_size(p) for p in params if p.requires_grad)
    return _table(type(model).__name__, rows, total, trainable)


def _size(p: Tensor) -> int:
    count = 1
    for n in p.shape:
        count *= n
    return count


def _zeros(backend: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    if backend is None:
        from tinyae.backend import get_backend

        backend = get_backend()
    return backend.xp.zeros(shape, dtype=dtype)


def _table(title: str, rows: dict[str, tuple[str, str, str]], total: int, trainable: int) -> str:
    header = ("layer", "type", "output shape", "parameters")
    body = [(name, *row) for name, row in rows.items()]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
    line = "-" * (sum(widths) + 3 * 3 + 4)

    def fmt(row: tuple[str, ...]) -> str:
        return "   ".join(
            [
                row[0].ljust(widths[0] + 3),
                row[1].ljust(widths[1]),
                row[2].ljust(widths[2]),
                row[3].rjust(widths[3]),
            ]
        )

    lines = [title, fmt(header), line, *(fmt(r) for r in body), line]
    lines.append(f"total parameters: {total:,} (trainable {trainable:,})")
    if any(row[3].endswith("*") for row in body):
        lines.append("* also uses a parameter counted above (tied weights): counted once")
    return "\n".join(lines)
