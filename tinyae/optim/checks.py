"""Checks of optimizer settings and saved state: each refusal names the optimizer, the field and the value.

A hyperparameter that is infinite or NaN, or a step count that is negative, fractional or beyond what a
checkpoint can store, would not fail at once: the next ``step()`` would divide by zero or fill every
parameter with NaN.  So they are refused where they enter, in constructors and in ``load_state_dict``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["MAX_STEP", "check_count", "check_flag", "check_range", "check_step"]

MAX_STEP = 2**63 - 1  # the largest int64, what a checkpoint stores a step count as


def check_range(
    owner: str,
    name: str,
    value: Any,
    low: float,
    high: float | None = None,
    *,
    high_included: bool = False,
) -> float:
    """``value`` as a float, or a ValueError naming it unless it is a finite real number with
    ``low <= value`` and ``value < high`` (``<= high`` with ``high_included``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    number = float(value)
    above = high is not None and not (number <= high if high_included else number < high)
    if not math.isfinite(number) or not number >= low or above:
        if high is None:
            bound = f">= {low} and finite"
        else:
            bound = f"in [{low}, {high}{']' if high_included else ')'}"
        raise ValueError(f"{owner}: {name} must be {bound}, got {value!r}")
    return number


def check_flag(owner: str, name: str, value: Any) -> bool:
    """``value`` as a bool: True, False (or 1, 0); anything else (a string such as ``"False"``) refused."""
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{owner}: {name} must be True or False, got {value!r} ({type(value).__name__})")


def check_step(key: str, value: Any) -> int:
    """The saved step count ``key``: an integer from 0 to :data:`MAX_STEP` (not a float, not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"state entry {key!r} must be an integer step count, got {value!r} ({type(value).__name__})"
        )
    if not 0 <= int(value) <= MAX_STEP:
        shown = repr(value) if abs(int(value)) < 10**30 else f"an integer of {int(value).bit_length()} bits"
        raise ValueError(f"state entry {key!r} must be in [0, 2**63 - 1], got {shown}")
    return int(value)


def check_count(owner: str, name: str, value: Any, low: int) -> int:
    """An integer setting or counter (``step_size``, ``patience``, ``last_epoch``) from ``low`` up."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not low <= int(value) <= MAX_STEP
    ):
        raise ValueError(
            f"{owner}: {name} must be an integer >= {low}, got {value!r} ({type(value).__name__})"
        )
    return int(value)
