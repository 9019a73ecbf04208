"""How big a model a ``config`` may ask for, compared with the arrays a checkpoint holds, before building.

Rebuilding a model from a checkpoint calls ``cls(**config)``, which allocates every weight.  A forged or
corrupted config (``{"sizes": [100000, 100000]}`` in a file of a few kilobytes) would allocate tens of
gigabytes before the stored shapes are ever compared.  So :func:`load` first bounds what the config can
imply, without knowing the class: the layers of the models here are dense, so every weight is a product
of two sizes named in the config, and

    implied = sum of a * b over all pairs of numbers in the config  +  sum of the numbers

bounds the parameter count of any chain of layers built from them (the pairs a chain uses are among all
pairs).  A config is refused when ``implied`` is more than :data:`SLACK` times the number of stored
values plus :data:`FLOOR` (a few million values, so that small models never meet the check).  A genuine
checkpoint stores every weight, so its implied count is close to what it holds; an unusual architecture
that trips the check still loads into a model built by the caller (``load(path, into=model)``).

>>> import numpy as np
>>> header = {"class": "Autoencoder", "config": {"sizes": [784, 64]}}
>>> check_config_size(header, {"w": np.zeros((784, 64)), "b": np.zeros(64)}, "ok.safetensors")
>>> check_config_size({"class": "Autoencoder", "config": {"sizes": [100000, 100000]}},
...                   {"w": np.zeros((784, 64))}, "forged.safetensors")
Traceback (most recent call last):
...
tinyae.io.format.CheckpointError: forged.safetensors: the config asks for about 10000200000 values ...
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tinyae.io.format import CheckpointError

__all__ = ["FLOOR", "SLACK", "check_config_size", "implied_values"]

SLACK = 8
FLOOR = 1 << 22  # values: 16 MiB of float32, a model too small to be worth refusing


def implied_values(config: Any) -> int:
    """The bound described in the module docstring (Python ints: no overflow for absurd numbers)."""
    numbers = list(_sizes(config))
    total = sum(numbers)
    # sum over pairs i < j of a_i * a_j == (total**2 - sum of squares) / 2
    return (total * total - sum(n * n for n in numbers)) // 2 + total


def _sizes(value: Any) -> Iterator[int]:
    """Every whole number in a JSON value (lists and dicts searched), as a non-negative int."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield abs(value)
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        yield abs(int(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _sizes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _sizes(item)


def check_config_size(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray], path: str) -> None:
    """Refuse a config that implies far more values than the checkpoint stores, before anything is built."""
    stored = sum(int(array.size) for array in arrays.values())
    implied = implied_values(header.get("config"))
    if implied > SLACK * stored + FLOOR:
        raise CheckpointError(
            f"{path}: the config asks for about {implied} values but the file stores {stored}; "
            f"refusing to build {header.get('class')} (a corrupted or forged config). If the architecture "
            "is genuine, build the model yourself and load(path, into=model)"
        )
