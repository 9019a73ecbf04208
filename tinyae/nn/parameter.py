"""``Parameter``: a tensor that a :class:`~tinyae.nn.Module` registers, trains and saves."""

from __future__ import annotations

from typing import Any

from tinyae.backend import Backend
from tinyae.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor that requires a gradient and is registered by the module it is assigned to.

    The data is always copied, so that optimizers, which update ``.data`` in place, never write into an
    array the caller still holds.

    Parameters
    ----------
    data : array-like or Tensor
        Initial values (Python data, a NumPy array, a backend array or a tensor).
    dtype : dtype spec, optional
        ``"float32"``, ``"float64"``, ...; by default that of ``data`` (float32 for Python data).
    backend : str or Backend, optional
        Where the values live; by default the current default backend (or ``data``'s own backend).

    Examples
    --------
    >>> from tinyae import nn
    >>> w = nn.Parameter([[1.0, 2.0]])
    >>> w.requires_grad, w.shape
    (True, (1, 2))
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, backend: str | Backend | None = None) -> None:
        super().__init__(data, requires_grad=False, dtype=dtype, backend=backend)
        # a private copy: the constructor may have wrapped the caller's array (or a view of it)
        self.data = self.backend.xp.asarray(self.data, copy=True)
        self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
